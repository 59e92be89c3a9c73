// A full disk, and a failing one. Nothing aborts, the store stops writing at the first failure and says why, the
// sagas in flight halt without claiming anything, and the next open (with the disk usable again) finishes or
// unwinds every saga and leaves a database that `check` passes.
//
// Every write and every sync RocksDB makes while a database is created and one instance-create saga runs is
// made to fail in turn (tests/fault_file_system.h), as ENOSPC that lasts and as a single EIO. A real full file
// system (a small tmpfs, mounted by the test when it runs as root) drives the sagadb program's demo into it.
#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "controlplane/check.h"
#include "db/database_impl.h"
#include "engine/info_log.h"
#include "engine/store.h"
#include "log/saga_log.h"
#include "sagadb/control_plane.h"
#include "testing/child_process.h"
#include "tests/fault_file_system.h"
#include "tests/test_util.h"

extern char** environ;

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

// The fault-injection workloads run in a child process (this test binary, running only the current test), so
// that an abort inside RocksDB fails the test, naming the fault, instead of ending the suite. The variable holds
// the file where the child notes the fault it is about to inject.
constexpr char kChildVariable[] = "SAGADB_DISK_FULL_CHILD";

const char* ProgressFile() { return std::getenv(kChildVariable); }

// In the parent: runs the current test in a child process and checks that it ended normally; returns true.
// In the child: returns false, and the test runs.
bool RanInChild(const ScratchDir& dir) {
  if (ProgressFile() != nullptr) return false;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string progress = dir.Sub("progress");
  ::setenv(kChildVariable, progress.c_str(), 1);
  // The child's databases go to a tmpfs when there is one: hundreds of them are made, and what is tested is what
  // the file system layer returns, not how fast the disk syncs.
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string saved_tmpdir = tmpdir != nullptr ? tmpdir : "";
  if (::access("/dev/shm", W_OK) == 0) ::setenv("TMPDIR", "/dev/shm", 1);
  auto e = RunChild(
      ChildSpec{{"/proc/self/exe", fmt::format("--gtest_filter={}.{}", info->test_suite_name(), info->name())}});
  ::unsetenv(kChildVariable);
  if (tmpdir != nullptr) {
    ::setenv("TMPDIR", saved_tmpdir.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  if (!e.ok()) {
    ADD_FAILURE() << e.status().ToString();
    return true;
  }
  std::ifstream in(progress);
  std::string last((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(e->exited) << "the child was ended by " << e->ToString() << " while it ran: " << last;
  EXPECT_EQ(e->code, 0) << "the child's failures are printed above";
  return true;
}

void NoteProgress(const std::string& what) {
  std::ofstream out(ProgressFile(), std::ios::trunc);
  out << what << "\n";
}

struct Fault {
  const char* name;
  rocksdb::IOStatus (*error)();
  bool sticky;  // a full disk stays full; an EIO happens once
  Code code;    // what the store reports
};

const Fault kFaults[] = {
    {"ENOSPC from then on", &FaultFileSystem::NoSpace, true, Code::kNoSpace},
    {"one EIO", &FaultFileSystem::DeviceError, false, Code::kIOError},
};

ExecutorOptions Fast() {
  ExecutorOptions o;
  o.threads = 4;
  o.forward_retry.initial_backoff = std::chrono::microseconds(100);
  o.undo_retry.initial_backoff = std::chrono::microseconds(100);
  o.log_retry.initial_backoff = std::chrono::microseconds(100);
  return o;
}

InstanceCreateRequest Request(const std::string& name) {
  return InstanceCreateRequest{
      "proj", name, 2, 1ull << 30, {{name + "-boot", 1ull << 30}, {name + "-data", 1ull << 30}}};
}

// What one run under a fault did.
struct Outcome {
  Status open;                  // the open's error, if it failed
  Status poison;                // the store's first failure (OK if none)
  std::optional<Uuid> saga;     // the instance-create, if it started
  Result<SagaResult> result = Status::Internal("not run");
  uint64_t ops_before_close = 0;  // writes and syncs counted when the database began to close
};

// Creates the database at `path` through `faults` and runs one instance-create on it, then tries more writes.
// Checks what must hold while the store is open: a failure is reported with the code of the fault, it poisons
// the store, the saga halts with it, and every later write is refused with it.
Outcome RunUnderFault(const std::string& path, FaultFileSystem& faults, const Fault& fault) {
  Outcome run;
  DatabaseOptions options;
  options.path = path;
  options.executor = Fast();
  auto domain = std::make_shared<ControlPlaneDomain>(path);
  OpenSeams seams;
  seams.env = faults.env();
  auto db = OpenDatabase(options, {domain}, seams);
  if (!db.ok()) {
    run.open = db.status();
    EXPECT_EQ(run.open.code(), fault.code) << run.open.ToString();
    return run;
  }
  auto cp = ControlPlane::Attach(db->get(), domain);
  if (!cp.ok()) {
    ADD_FAILURE() << cp.status().ToString();
    return run;
  }
  Store& store = (*db)->impl().store();
  auto handle = (*cp)->CreateInstance(Request("web"));
  if (handle.ok()) {
    run.saga = handle->id();
    run.result = handle->Wait();
  } else {
    run.result = handle.status();
  }
  run.poison = store.poisoned();
  run.ops_before_close = faults.counted();
  if (run.poison.ok()) {
    // Nothing surfaced: then the fault did not touch what the saga needed, and it succeeded.
    EXPECT_TRUE(run.result.ok()) << run.result.status().ToString();
    if (run.result.ok()) {
      EXPECT_EQ(run.result->state, SagaState::kSucceeded);
    }
    return run;
  }
  EXPECT_EQ(run.poison.code(), fault.code) << run.poison.ToString();
  if (fault.code == Code::kNoSpace) {
    EXPECT_TRUE(run.poison.message().starts_with("no space left on " + path)) << run.poison.ToString();
  }
  // The saga halted with the failure (or had ended before it): it claims nothing it did not write.
  if (!run.result.ok()) {
    EXPECT_EQ(run.result.status().code(), fault.code) << run.result.status().ToString();
  }
  // Every later write is refused with the first failure, before reaching RocksDB.
  const uint64_t ops = faults.counted();
  Batch batch;
  batch.Put(kMetaTable, "probe", "x");
  const Status later = store.Write(batch);
  EXPECT_EQ(later.code(), run.poison.code());
  EXPECT_TRUE(later.message().starts_with(run.poison.message()))
      << later.ToString() << "\nfirst: " << run.poison.ToString();
  auto another = (*cp)->CreateInstance(Request("db"));
  EXPECT_EQ(another.status().code(), run.poison.code()) << another.status().ToString();
  EXPECT_EQ(faults.counted(), ops) << "the store wrote again after its first failure";
  return run;
}

// Opens the database at `path` as it was left, with no fault: recovery ends every saga, and check passes.
void ExpectRecovered(const std::string& path, const Outcome& run) {
  if (run.saga && !run.result.ok()) {
    // A halted saga claimed nothing: its caller got the error. The database says it is still running (or
    // unwinding), or, when only the sync of its last write failed, that it ended: those bytes reached the log
    // before the sync failed, and a log cannot take them back. Either way the next open finishes it.
    StoreConfig config;
    config.path = path;
    config.mode = OpenMode::kReadOnly;
    auto store = Store::Open(config);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto record = SagaLog(store->get()).ReadRecord(*run.saga);
    ASSERT_TRUE(record.ok()) << record.status().ToString();
  }
  DatabaseOptions options;
  options.path = path;
  options.executor = Fast();
  auto cp = ControlPlane::Open(options);
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  const RecoveryReport& report = (*cp)->database().recovery();
  EXPECT_TRUE(report.halted.empty()) << report.Summary();
  EXPECT_TRUE(report.marked_stuck.empty()) << report.Summary();
  EXPECT_TRUE(report.finished_stuck.empty()) << report.Summary();
  CheckOptions quiescent;
  quiescent.quiescent = true;
  CheckReport check = Check(**cp, quiescent);
  EXPECT_TRUE(check.ok()) << Describe(check);
  if (run.saga) {
    auto record = SagaLog(&(*cp)->database().impl().store()).ReadRecord(*run.saga);
    if (record.ok()) {
      EXPECT_TRUE(record->state == SagaState::kSucceeded || record->state == SagaState::kFailed)
          << ToString(record->state);
    }
  }
}

TEST(DiskFullTest, EveryWriteAndSyncOfAnInstanceCreateMayFailAndTheNextOpenFinishesEverySaga) {
  ScratchDir dir;
  if (RanInChild(dir)) return;

  // The writes and syncs of one uneventful run, from the creation of the database to the end of the saga.
  FaultFileSystem faults;
  faults.CountFrom(FaultFileSystem::kWrites | FaultFileSystem::kSyncs);
  Outcome clean = RunUnderFault(dir.Sub("count"), faults, kFaults[0]);
  ASSERT_TRUE(clean.open.ok() && clean.poison.ok()) << clean.open.ToString() << clean.poison.ToString();
  const uint64_t total = faults.counted();
  ASSERT_GT(total, 20u);
  // Closing writes nothing (the memtables' contents are in the synced log): every operation counted is the
  // creation's or the saga's.
  EXPECT_EQ(clean.ops_before_close, total);
  std::vector<uint64_t> points;
  for (uint64_t n = 1; n <= total; ++n) points.push_back(n);

  for (const Fault& fault : kFaults) {
    int failed_writes = 0;
    for (uint64_t n : points) {
      const std::string what = fmt::format("{} at write or sync {} of {}", fault.name, n, total);
      SCOPED_TRACE(what);
      NoteProgress(what);
      const std::string path = dir.Sub(fmt::format("{}-{}", fault.sticky ? "nospace" : "eio", n));
      faults.FailAt(FaultFileSystem::kWrites | FaultFileSystem::kSyncs, n, fault.error(), fault.sticky);
      Outcome run = RunUnderFault(path, faults, fault);
      failed_writes += !run.open.ok() || !run.poison.ok();
      faults.Clear();
      NoteProgress(what + ", reopened");
      ExpectRecovered(path, run);
      fs::remove_all(path);
      if (HasFatalFailure()) return;
    }
    // Nearly every fault reaches the store (a few land where RocksDB may ignore them).
    EXPECT_GT(failed_writes, static_cast<int>(total) / 2) << fault.name;
  }
}

// --- A real full file system.

// Runs `argv` with its output in files; how it ended, and its stderr.
struct ToolRun {
  ChildExit exit;
  std::string err;
};

ToolRun RunTool(const std::vector<std::string>& args, const std::string& scratch) {
  std::vector<std::string> argv = {SAGADB_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  const std::string out = scratch + "/tool.out";
  const std::string err = scratch + "/tool.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  ToolRun run;
  const int rc = posix_spawn(&pid, raw[0], &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    run.exit.signal = -1;
    run.err = std::strerror(rc);
    return run;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.exit.exited = WIFEXITED(status);
  run.exit.code = run.exit.exited ? WEXITSTATUS(status) : 0;
  run.exit.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  std::ifstream in(err);
  run.err.assign(std::istreambuf_iterator<char>(in), {});
  return run;
}

class SmallFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "mounting a small tmpfs needs root; run the suite as root to test a real full disk";
    }
    mount_ = dir_.Sub("mnt");
    fs::create_directory(mount_);
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, "size=4m,mode=0700") != 0) {
      const int err = errno;
      mount_.clear();
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(err) << "): a real full disk is not tested";
    }
  }
  void TearDown() override {
    if (!mount_.empty()) {
      EXPECT_EQ(::umount2(mount_.c_str(), MNT_DETACH), 0) << std::strerror(errno);
    }
  }

  ScratchDir dir_;
  std::string mount_;
};

TEST_F(SmallFileSystemTest, TheDemoStopsCleanlyWhenTheDiskFillsAndTheNextOpenFinishesEverySaga) {
  const std::string db = mount_ + "/db";
  // 200 instance-creates of 11 disks write far more than 4 MiB of log.
  ToolRun demo = RunTool({"--db", db, "demo", "--instances", "200"}, dir_.path());
  EXPECT_TRUE(demo.exit.exited) << demo.exit.ToString() << "\n" << demo.err;
  EXPECT_EQ(demo.exit.code, 1) << demo.err;
  EXPECT_NE(demo.err.find("no space left on " + db), std::string::npos) << demo.err;

  // Space is freed.
  ASSERT_EQ(::mount(nullptr, mount_.c_str(), nullptr, MS_REMOUNT, "size=256m"), 0) << std::strerror(errno);
  ToolRun recover = RunTool({"--db", db, "recover"}, dir_.path());
  EXPECT_TRUE(recover.exit.exited && recover.exit.code == 0) << recover.exit.ToString() << "\n" << recover.err;
  ToolRun check = RunTool({"--db", db, "check", "--quiescent"}, dir_.path());
  EXPECT_TRUE(check.exit.exited && check.exit.code == 0) << check.exit.ToString() << "\n" << check.err;
}

// The info log on a full disk: its first failed write silences it for good, with no harm done; RocksDB's own
// logger aborted the process on the line after its first failed write.
TEST_F(SmallFileSystemTest, TheInfoLogFallsSilentAtItsFirstFailedWriteAndNeverWritesAgain) {
  auto log = OpenInfoLog(mount_, 4);
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "before the disk filled");
  const std::string filler = mount_ + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(64 << 10, 'f');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  const std::string line(8 << 10, 'x');
  for (int i = 0; i < 100; ++i) rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, log, "%s", line.c_str());
  const auto size = fs::file_size(mount_ + "/LOG");
  fs::remove(filler);  // room again: the log stays silent all the same
  for (int i = 0; i < 10; ++i) rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, log, "after");
  EXPECT_EQ(fs::file_size(mount_ + "/LOG"), size);
  log.reset();
}

}  // namespace
}  // namespace sagadb::testing
