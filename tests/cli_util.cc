#include "tests/cli_util.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "engine/store.h"

extern char** environ;

namespace sagadb::testing {

namespace fs = std::filesystem;

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "exit " << o.exit_code << "\n--- stdout\n" << o.out << "--- stderr\n" << o.err;
}

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(SAGADB_BIN));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

std::vector<std::string> EnvWithPath(const std::string& path) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("PATH=")) continue;
    env.emplace_back(*e);
  }
  env.push_back("PATH=" + path);
  return env;
}

Outcome RunSagadb(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  auto argv = Argv(args);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, SAGADB_BIN, &actions, nullptr, argv.data(), env.empty() ? environ : envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) throw std::runtime_error("posix_spawn " SAGADB_BIN " failed");

  Outcome o;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&o.out, &o.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("poll failed");
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  o.exit_code = ExitCode(status);
  return o;
}
std::set<std::string> FilesUnder(const std::string& dir) {
  std::set<std::string> files;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return files;
  if (!fs::is_directory(dir, ec)) return {"."};
  for (const auto& e : fs::recursive_directory_iterator(dir)) files.insert(fs::relative(e.path(), dir).string());
  return files;
}

void PrintTo(const Snapshot& s, std::ostream* os) {
  *os << s.raw.size() << " keys; files:";
  for (const auto& f : s.files) *os << " " << f;
  *os << "\ninstances: " << s.instances;
}
Snapshot CliTest::Snap() const {
  Snapshot s;
  s.instances = Tool({"instance", "list", "--json"}).out;
  s.disks = Tool({"disk", "list", "--json"}).out;
  s.sagas = Tool({"saga", "list", "--json"}).out;
  StoreConfig so;
  so.path = db_;
  so.mode = OpenMode::kSecondary;
  auto store = Must(Store::Open(so));
  Must(store->CatchUp());
  s.raw = RawContents(*store);
  s.files = FilesUnder(db_);
  return s;
}

void ExpectOneLineError(const Outcome& o, int code) {
  EXPECT_EQ(o.exit_code, code) << o;
  EXPECT_EQ(o.out, "") << o;
  const auto lines = o.ErrLines();
  ASSERT_EQ(lines.size(), 1u) << o;
  EXPECT_TRUE(lines[0].starts_with("sagadb: ")) << o;
  EXPECT_TRUE(o.err.ends_with("\n")) << o;
}

}  // namespace sagadb::testing
