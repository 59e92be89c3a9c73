// Who may open a database for writing. "In use" is decided by who holds the lock (another process, or this
// one), never by the text of an error.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "engine/store.h"
#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

// A process that holds the database's lock the way RocksDB does (a POSIX write lock on LOCK) until it is killed.
// Forked without exec: the child only calls async-signal-safe functions (open, fcntl, write, pause), never
// RocksDB, whose threads it would not have.
class LockHolderProcess {
 public:
  explicit LockHolderProcess(const std::string& db) {
    const std::string lock = db + "/LOCK";
    int ready[2];
    if (::pipe(ready) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0600);
      struct flock l {};
      l.l_type = F_WRLCK;
      l.l_whence = SEEK_SET;
      const char ok = fd >= 0 && ::fcntl(fd, F_SETLK, &l) == 0 ? '1' : '0';
      (void)!::write(ready[1], &ok, 1);
      for (;;) ::pause();
    }
    ::close(ready[1]);
    char ok = '0';
    locked_ = ::read(ready[0], &ok, 1) == 1 && ok == '1';
    ::close(ready[0]);
  }
  ~LockHolderProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool locked() const { return locked_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool locked_ = false;
};

std::map<std::string, fs::file_time_type> Files(const std::string& dir) {
  std::map<std::string, fs::file_time_type> files;
  for (const auto& e : fs::directory_iterator(dir)) files[e.path().filename().string()] = e.last_write_time();
  return files;
}

TEST(StoreLockTest, ADatabaseAnotherProcessHoldsIsAConflictNamingItAndNothingIsChanged) {
  ScratchDir dir;
  const std::string path = dir.Sub("db");
  ASSERT_TRUE(Store::Open(ConfigAt(path)).ok());
  const auto before = Files(path);
  LockHolderProcess holder(path);
  ASSERT_TRUE(holder.locked());

  auto r = Store::Open(ConfigAt(path));

  EXPECT_EQ(r.status().code(), Code::kConflict) << r.status().ToString();
  EXPECT_NE(r.status().message().find(fmt::format("in use by another process (pid {} holds its lock)", holder.pid())),
            std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(Files(path), before) << "the refused open rotated the info log or wrote something";
}

TEST(StoreLockTest, ADatabaseThisProcessHasOpenIsAConflictUnderAnySpelling) {
  ScratchDir dir;
  const std::string path = dir.Sub("db");
  auto first = Store::Open(ConfigAt(path));
  ASSERT_TRUE(first.ok());
  fs::create_directory_symlink(path, dir.Sub("alias"));

  for (const std::string& other : {path, dir.Sub("alias"), path + "/."}) {
    auto second = Store::Open(ConfigAt(other));
    EXPECT_EQ(second.status(), Status::Conflict(fmt::format("database {} is already open in this process", other)));
  }
  first->reset();
  EXPECT_TRUE(Store::Open(ConfigAt(dir.Sub("alias"))).ok());
}

// Failing to take the lock for another reason than someone holding it is no conflict (RocksDB's message for it
// says "lock" all the same).
TEST(StoreLockTest, ALockFileThatCannotBeOpenedIsAnIOErrorNotAConflict) {
  ScratchDir dir;
  const std::string path = dir.Sub("db");
  ASSERT_TRUE(Store::Open(ConfigAt(path)).ok());
  fs::remove(path + "/LOCK");
  fs::create_directory(path + "/LOCK");

  auto r = Store::Open(ConfigAt(path));

  EXPECT_EQ(r.status().code(), Code::kIOError) << r.status().ToString();
}

}  // namespace
}  // namespace sagadb::testing
