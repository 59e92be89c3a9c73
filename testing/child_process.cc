#include "tests/child_process.h"

#include <fmt/format.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace sagadb::testing {

std::string ChildExit::ToString() const {
  return exited ? fmt::format("exit {}", code) : fmt::format("signal {}", signal);
}

Result<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err = posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (err != 0) return Status::IOError(fmt::format("cannot start {}: {}", argv[0], std::strerror(err)));
  return ChildProcess(pid);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    Kill(SIGKILL);
    Wait();
  }
}

ChildExit ChildProcess::Wait() { return *Reap(/*block=*/true); }

std::optional<ChildExit> ChildProcess::TryWait() { return Reap(/*block=*/false); }

std::optional<ChildExit> ChildProcess::Reap(bool block) {
  int status = 0;
  pid_t got;
  while ((got = waitpid(pid_, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR) {
  }
  if (got == 0) return std::nullopt;
  pid_ = -1;
  ChildExit e;
  if (got < 0) {
    e.signal = -1;  // not reaped: reported as neither an exit nor a known signal
    return e;
  }
  e.exited = WIFEXITED(status);
  e.code = e.exited ? WEXITSTATUS(status) : 0;
  e.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return e;
}

void ChildProcess::Kill(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

Result<ChildExit> RunChild(const std::vector<std::string>& argv) {
  SAGADB_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Start(argv));
  return child.Wait();
}

}  // namespace sagadb::testing
