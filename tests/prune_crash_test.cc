// Crash tests of retention's prune and of the saga index's build: prune_child runs one of them on a copy of a
// populated control-plane database and ends itself right before or right after its Nth write, for every N.
// After each crash every saga must be whole or gone (never a record without its events, events without their
// record, or a stray index entry), only finished sagas may be gone and only whole batches of them, the oldest
// first, the survivors unchanged, and `check` must pass; running the workload again must reach the end state
// of a run that never crashed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "controlplane/check.h"
#include "controlplane/requests.h"
#include "db/database_impl.h"
#include "engine/fault_injector.h"
#include "log/saga_index.h"
#include "sagadb/control_plane.h"
#include "testing/child_process.h"
#include "tests/controlplane_test_util.h"
#include "tests/history_test_util.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

namespace fs = std::filesystem;
using testing::ChildExit;
using testing::Must;

constexpr uint64_t kKeep = 3;
constexpr size_t kBatch = 4;

class PruneCrashTest : public ::testing::Test {
 protected:
  // A control-plane database with 10 succeeded instance-creates, 4 failed ones, one stuck and one left running
  // (its writes failed after its first step, as if the process had died there).
  void Populate() {
    DatabaseOptions o;
    o.path = db_;
    o.executor.threads = 4;
    o.executor.forward_retry.initial_backoff = std::chrono::microseconds(100);
    o.executor.undo_retry.initial_backoff = std::chrono::microseconds(100);
    o.retention.enabled = false;
    // The volumes apart from the database: neither workload touches them, and copying a database with its
    // (sparse, 1 GiB) volume files would write them out whole.
    ControlPlaneOptions cpo;
    cpo.volumes_dir = volumes_;
    auto cp = Must(ControlPlane::Open(o, cpo));
    SagaExecutor& executor = cp->database().impl().executor();
    auto run = [&](const std::string& name) {
      auto params = Must(PlanInstanceCreate(testing::InstanceRequest(name, 1)));
      return Must(Must(StartInstanceCreate(*cp, params)).Wait());
    };
    for (int i = 0; i < 10; ++i) ASSERT_EQ(run("ok-" + std::to_string(i)).state, SagaState::kSucceeded);
    auto failing = std::make_shared<FaultPlan>();
    failing->FailAction("stop", Status::InvalidRequest("injected"));
    executor.SetFaultPlan(failing);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(run("failed-" + std::to_string(i)).state, SagaState::kFailed);
    auto stuck = std::make_shared<FaultPlan>();
    stuck->FailAction("stop", Status::InvalidRequest("injected"));
    stuck->FailUndo("instance", Status::Conflict("injected: forever"), FaultPlan::kAlways);
    executor.SetFaultPlan(stuck);
    ASSERT_EQ(run("stuck").state, SagaState::kStuck);
    executor.SetFaultPlan(nullptr);
    // The last one stops after its first round (its record and first steps): every later write fails.
    Store& store = cp->database().impl().store();
    FaultInjector dead;
    dead.FailWritesFrom(store.write_attempts() + 2, Status::IOError("injected: the process died"));
    store.SetHooks(&dead);
    auto params = Must(PlanInstanceCreate(testing::InstanceRequest("running", 1)));
    auto handle = Must(StartInstanceCreate(*cp, params));
    EXPECT_FALSE(handle.Wait().ok());
    store.SetHooks(nullptr);
  }

  std::unique_ptr<Store> OpenReadOnly() {
    StoreConfig config;
    config.path = db_;
    config.mode = OpenMode::kReadOnly;
    return Must(Store::Open(config));
  }

  testing::SagaLogBySaga Log() { return testing::ReadSagaLog(*OpenReadOnly()); }

  void Save() {
    fs::remove_all(saved_);
    fs::copy(db_, saved_, fs::copy_options::recursive);
  }
  void Restore() {
    fs::remove_all(db_);
    fs::copy(saved_, db_, fs::copy_options::recursive);
  }

  // Runs prune_child on the database; `crash` is "--crash-before"/"--crash-after" or empty.
  ChildExit Child(const std::string& workload, const std::string& crash = "", uint64_t n = 0) {
    std::vector<std::string> args = {PRUNE_CHILD, "--db", db_, "--workload", workload, "--keep",
                                     std::to_string(kKeep), "--batch", std::to_string(kBatch), "--writes-out",
                                     writes_};
    if (!crash.empty()) {
      args.push_back(crash);
      args.push_back(std::to_string(n));
    }
    fs::remove(writes_);
    return Must(testing::RunChild(testing::ChildSpec{args}));
  }
  uint64_t Writes() {
    std::ifstream in(writes_);
    uint64_t n = 0;
    in >> n;
    return n;
  }

  void ExpectCheckPasses() {
    auto report = CheckDatabase(db_, volumes_);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok()) << Describe(*report);
  }

  testing::ScratchDir dir_;
  const std::string db_ = dir_.Sub("db");
  const std::string saved_ = dir_.Sub("saved");
  const std::string volumes_ = dir_.Sub("volumes");
  const std::string writes_ = dir_.Sub("writes");
};

TEST_F(PruneCrashTest, PruneCrashedBeforeOrAfterAnyOfItsWritesLeavesEverySagaWholeOrGone) {
  Populate();
  Save();
  const testing::SagaLogBySaga before = Log();
  // The finished sagas, oldest first, and which are in flight.
  std::vector<Uuid> oldest_first;
  std::set<Uuid> in_flight;
  {
    auto store = OpenReadOnly();
    IndexCursor f(*store, IndexCursor::kFinished);
    for (f.SeekToFirst(); f.Valid(); f.Next()) oldest_first.push_back(f.id());
    IndexCursor a(*store, IndexCursor::kActive);
    for (a.SeekToFirst(); a.Valid(); a.Next()) in_flight.insert(a.id());
  }
  ASSERT_EQ(oldest_first.size(), 14u);
  ASSERT_EQ(in_flight.size(), 2u);  // the stuck one and the running one

  // A run that never crashed: the end state every crashed run must reach once run again.
  ChildExit clean = Child("prune");
  ASSERT_TRUE(clean.exited && clean.code == 0) << clean.ToString();
  const uint64_t total = Writes();
  ASSERT_EQ(total, (14 - kKeep + kBatch - 1) / kBatch);
  const testing::SagaLogBySaga end = Log();
  const std::set<Uuid> pruned = testing::Gone(before, end);
  EXPECT_EQ(pruned, std::set<Uuid>(oldest_first.begin(), oldest_first.end() - kKeep));
  EXPECT_EQ(testing::JoinLines(testing::WholeOrGone(before, end)), "");
  ExpectCheckPasses();

  int crashes = 0;
  for (const std::string when : {"--crash-before", "--crash-after"}) {
    for (uint64_t n = 1; n <= total; ++n) {
      SCOPED_TRACE("prune " + when + " " + std::to_string(n));
      Restore();
      ChildExit e = Child("prune", when, n);
      ASSERT_TRUE(e.exited && e.code == kCrashExitCode) << e.ToString();
      crashes++;
      const testing::SagaLogBySaga after = Log();
      EXPECT_EQ(testing::JoinLines(testing::WholeOrGone(before, after)), "");
      // Whole batches of the oldest finished sagas, nothing else.
      const size_t batches = when == "--crash-before" ? n - 1 : n;
      const size_t gone = std::min<size_t>(batches * kBatch, oldest_first.size() - kKeep);
      EXPECT_EQ(testing::Gone(before, after), std::set<Uuid>(oldest_first.begin(), oldest_first.begin() + gone));
      ExpectCheckPasses();
      // Running it again finishes the job.
      ChildExit again = Child("prune");
      ASSERT_TRUE(again.exited && again.code == 0) << again.ToString();
      EXPECT_EQ(Log(), end);
    }
  }
  EXPECT_EQ(crashes, static_cast<int>(2 * total));
}

TEST_F(PruneCrashTest, IndexBuildCrashedBeforeOrAfterAnyOfItsWritesIsCompletedByTheNextBuild) {
  Populate();
  const testing::SagaLogBySaga indexed = Log();
  Must(testing::DowngradeToVersion1(db_));
  Save();
  ASSERT_EQ(OpenReadOnly()->schema_version(), 1u);

  ChildExit clean = Child("build");
  ASSERT_TRUE(clean.exited && clean.code == 0) << clean.ToString();
  const uint64_t total = Writes();
  ASSERT_EQ(total, 16 / kBatch + 1);  // 16 sagas, then the version with the last (empty) batch
  EXPECT_EQ(Log(), indexed);
  EXPECT_EQ(OpenReadOnly()->schema_version(), 2u);

  for (const std::string when : {"--crash-before", "--crash-after"}) {
    for (uint64_t n = 1; n <= total; ++n) {
      SCOPED_TRACE("index build " + when + " " + std::to_string(n));
      Restore();
      ChildExit e = Child("build", when, n);
      ASSERT_TRUE(e.exited && e.code == kCrashExitCode) << e.ToString();
      const bool complete = when == "--crash-after" && n == total;
      EXPECT_EQ(OpenReadOnly()->schema_version(), complete ? 2u : 1u);
      // What is there is right; the rest comes with the next build.
      for (const auto& [id, entries] : Log()) {
        for (const auto& [key, value] : entries) {
          auto want = indexed.find(id);
          ASSERT_TRUE(want != indexed.end() && want->second.count(key) == 1 && want->second.at(key) == value) << key;
        }
      }
      if (!complete) {
        ChildExit again = Child("build");
        ASSERT_TRUE(again.exited && again.code == 0) << again.ToString();
      }
      EXPECT_EQ(Log(), indexed);
      EXPECT_EQ(OpenReadOnly()->schema_version(), 2u);
      ExpectCheckPasses();
    }
  }
}

}  // namespace
}  // namespace sagadb
