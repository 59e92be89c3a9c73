#include "testing/child_process.h"

#include <fmt/format.h>

#include <fcntl.h>
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

Result<ChildProcess> ChildProcess::Start(const ChildSpec& spec) {
  if (spec.argv.empty()) return Status::InvalidRequest("a child process needs a program");
  std::vector<char*> args;
  for (const std::string& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // This environment, less the names the spec sets or unsets, then the spec's.
  std::vector<std::string> names;
  for (const std::string& e : spec.env) names.push_back(e.substr(0, e.find('=') + 1));
  for (const std::string& n : spec.unset) names.push_back(n + "=");
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) {
    bool replaced = false;
    for (const std::string& n : names) replaced = replaced || std::strncmp(*e, n.c_str(), n.size()) == 0;
    if (!replaced) env.push_back(*e);
  }
  for (const std::string& e : spec.env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!spec.output.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, spec.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  pid_t pid = -1;
  const int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return Status::IOError(fmt::format("cannot start {}: {}", spec.argv[0], std::strerror(err)));
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

Result<ChildExit> RunChild(const ChildSpec& spec) {
  SAGADB_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Start(spec));
  return child.Wait();
}

}  // namespace sagadb::testing
