// A power cut at any write of a saga workload loses nothing the database acknowledged, and recovery from what
// survived converges to a clean end state. In process: PowerLossEnv rewinds RocksDB's files to exactly what
// was synced when the power went off. The external actions' files live outside RocksDB and its Env, so the
// power loss spares them; only the database is checked here.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "db/database_impl.h"
#include "tests/crash_check.h"
#include "tests/crash_harness.h"
#include "tests/power_loss_env.h"
#include "tests/saga_test_util.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::CheckEndState;
using testing::CheckLogKept;
using testing::CrashPoint;
using testing::Lines;
using testing::LogSnapshot;
using testing::PowerLossEnv;
using testing::SeenOutcome;
using testing::TakeLogSnapshot;

// Cuts the power right before or right after one write, and remembers what the database held at that moment.
// Everything a reader can see was synced first (RocksDB publishes a write only after its WAL sync), so the
// snapshot is a lower bound of what must survive.
class PowerCut : public StoreHooks {
 public:
  PowerCut(PowerLossEnv* power, CrashPoint point) : power_(power), point_(point) {}
  void set_store(Store* store) { store_ = store; }

  Status BeforeWrite(uint64_t n) override {
    if (point_.when == CrashPoint::When::kBefore && n == point_.write) Cut();
    return Status::OK();
  }
  void AfterWrite(uint64_t n) override {
    if (point_.when == CrashPoint::When::kAfter && n == point_.write) Cut();
  }

  LogSnapshot at_cut() const {
    std::lock_guard lock(mu_);
    return at_cut_;
  }

 private:
  void Cut() {
    LogSnapshot snap = TakeLogSnapshot(*store_);
    std::lock_guard lock(mu_);
    at_cut_ = std::move(snap);
    power_->Crash();
  }

  PowerLossEnv* const power_;
  const CrashPoint point_;
  Store* store_ = nullptr;
  mutable std::mutex mu_;
  LogSnapshot at_cut_;  // guarded by mu_
};

class SagaPowerLossTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> Open(PowerLossEnv* power, StoreHooks* hooks) {
    DatabaseOptions opts;
    opts.path = dir_.Sub("db");
    opts.executor.threads = 4;
    OpenSeams seams;
    seams.env = power->env();
    seams.hooks = hooks;
    auto db = OpenDatabase(opts, {testing::TestDomain(&app_)}, seams);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // The workload: a sample saga that succeeds, then one that unwinds (node d fails). Returns the sagas whose
  // Wait returned before the power went off.
  std::vector<SeenOutcome> RunWorkload(Database& db, const PowerLossEnv& power) {
    std::vector<SeenOutcome> acknowledged;
    auto failing = std::make_shared<FaultPlan>();
    failing->FailAction("d", Status::InvalidRequest("injected"));
    for (const auto& [tag, plan] : {std::pair{"first", std::shared_ptr<FaultPlan>()}, std::pair{"second", failing}}) {
      db.impl().executor().SetFaultPlan(plan);
      auto r = db.Run(testing::SampleDag(), Json{{"tag", tag}});
      EXPECT_TRUE(r.ok()) << r.status().ToString();  // after the cut the disk still takes writes; it forgets them
      if (r.ok() && !power.crashed()) acknowledged.push_back({r->id, r->state});
    }
    return acknowledged;
  }

  void ResetDirs() {
    std::filesystem::remove_all(dir_.Sub("db"));
    std::filesystem::remove_all(app_.files_dir);
    std::filesystem::create_directories(app_.files_dir);
  }

  testing::ScratchDir dir_;
  testing::TestApp app_{dir_.Sub("files")};
};

TEST_F(SagaPowerLossTest, PowerCutAtAnyWriteLosesNothingAcknowledgedAndRecoveryConverges) {
  uint64_t total = 0;
  {
    ResetDirs();
    PowerLossEnv power;
    auto db = Open(&power, nullptr);
    ASSERT_NE(db, nullptr);
    RunWorkload(*db, power);
    total = db->impl().store().write_attempts();
  }
  // The open's metadata, then two sample sagas in rounds: one that succeeds (two or three rounds) and one that
  // fails at d and unwinds (four or more).
  ASSERT_GE(total, 7u);
  for (auto when : {CrashPoint::When::kBefore, CrashPoint::When::kAfter}) {
    int cuts = 0;
    for (uint64_t n = 1; n <= total; ++n) {
      const CrashPoint point{when, n};
      SCOPED_TRACE("power cut " + point.ToString());
      ResetDirs();
      PowerLossEnv power;
      PowerCut cut(&power, point);
      std::vector<SeenOutcome> acknowledged;
      {
        auto db = Open(&power, &cut);
        ASSERT_NE(db, nullptr);
        cut.set_store(&db->impl().store());
        acknowledged = RunWorkload(*db, power);
      }
      // Parallel nodes may share a write or not: a run can make fewer writes than the counted one, and then
      // the power goes off only now, when nothing is left unsynced.
      cuts += power.crashed();
      const Status dropped = power.DropUnsyncedData();
      ASSERT_TRUE(dropped.ok()) << dropped.ToString();

      auto db = Open(&power, nullptr);  // recovery runs on what survived
      ASSERT_NE(db, nullptr);
      db->WaitIdle();
      testing::EndStateOptions check;  // no files_dir: the power loss does not rewind them
      EXPECT_EQ(Lines(CheckEndState(*db, check, acknowledged)), "");
      EXPECT_EQ(Lines(CheckLogKept(db->impl().store(), cut.at_cut())), "");
      if (point.when == CrashPoint::When::kBefore && n == 1) {
        // The cut bites: the first saga's record, the first write, was never synced.
        EXPECT_TRUE(testing::SagaStates(db->impl().store()).empty());
      }
      if (HasFailure()) return;
    }
    EXPECT_GE(cuts, static_cast<int>(total) - 2);
  }
}

}  // namespace
}  // namespace sagadb
