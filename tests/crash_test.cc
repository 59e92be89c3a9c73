// The crash harness: crash_child runs a workload and ends itself right before or right after its Nth durable
// write, for every N; the database is then opened here, recovery runs, and the end state must be clean and
// keep every outcome the child saw before it died (tests/crash_check.h lists the checks).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "engine/fault_injector.h"
#include "tests/crash_harness.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::ChildExit;
using testing::CrashHarness;
using testing::CrashPoint;
using testing::Lines;

bool Crashed(const ChildExit& e) { return e.exited && e.code == kCrashExitCode; }
bool Finished(const ChildExit& e) { return e.exited && e.code == 0; }

class CrashTest : public ::testing::Test {
 protected:
  // Runs `workload` crashing at `point` on an empty scenario and checks what the child's exit and recovery
  // leave. Returns whether the child crashed (false: it finished before reaching the point).
  bool CrashAndCheck(const std::string& workload, CrashPoint point, bool may_fail) {
    SCOPED_TRACE(workload + " crashed " + point.ToString());
    h_.Reset();
    auto e = h_.Run(workload, point);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return false;
    EXPECT_TRUE(Crashed(*e) || Finished(*e)) << e->ToString();
    if (Finished(*e)) {
      EXPECT_LT(h_.LastRunWrites(), point.write) << "it finished without reaching the point";
    }
    ExpectRecoveredCleanly(may_fail);
    return Crashed(*e);
  }

  // Opens the scenario (recovery runs) and checks the end state; without injected failures, every saga must
  // have succeeded. Returns every saga's end state.
  std::map<Uuid, SagaState> ExpectRecoveredCleanly(bool may_fail) {
    EXPECT_EQ(Lines(h_.CheckLogsAsLeft()), "") << "the log as the crash left it";
    std::map<Uuid, SagaState> states;
    EXPECT_EQ(Lines(h_.CheckRecovered(&states)), "");
    if (!may_fail) {
      for (const auto& [id, state] : states) EXPECT_EQ(state, SagaState::kSucceeded) << id.ToString();
    }
    return states;
  }

  // Crashes the workload before, then after, each of its writes.
  void CrashAtEveryWrite(const std::string& workload, bool may_fail) {
    auto total = h_.CountWrites(workload);
    ASSERT_TRUE(total.ok()) << total.status().ToString();
    // At least two rounds: the first (the record and every step ready at once) and the last (the end).
    ASSERT_GE(*total, 2u);
    for (auto when : {CrashPoint::When::kBefore, CrashPoint::When::kAfter}) {
      int crashes = 0;
      // Parallel nodes may share a write or not, so a run can make a few more writes than the counted one:
      // go on while the child still crashes.
      bool crashed = true;
      for (uint64_t n = 1; n <= *total || crashed; ++n) {
        crashed = CrashAndCheck(workload, CrashPoint{when, n}, may_fail);
        crashes += crashed;
        if (HasFatalFailure() || n > 4 * *total) break;
      }
      EXPECT_GE(crashes, static_cast<int>(*total) / 2);
    }
  }

  // Crashes `workload` at `first`, then crashes its recovery before and after each of recovery's writes, each
  // time from the state `first` left, and once more over and over right after recovery's first write: every
  // time, opening again must reach the end state of an uninterrupted recovery. Returns the recovery crashes.
  int CrashRecoveryAtEveryWrite(const std::string& workload, CrashPoint first) {
    SCOPED_TRACE(workload + " crashed " + first.ToString());
    h_.Reset();
    auto e = h_.Run(workload, first);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok() || !Crashed(*e)) return 0;
    h_.Save();
    const std::map<Uuid, SagaState> expected = ExpectRecoveredCleanly(/*may_fail=*/true);

    int crashes = 0;
    auto recover = [&](CrashPoint point) {
      auto r = h_.Run("recover", point);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return false;
      EXPECT_TRUE(Crashed(*r) || Finished(*r)) << r->ToString();
      crashes += Crashed(*r);
      return Crashed(*r);
    };
    for (auto when : {CrashPoint::When::kBefore, CrashPoint::When::kAfter}) {
      for (uint64_t m = 1;; ++m) {
        const CrashPoint second{when, m};
        SCOPED_TRACE("then recovery crashed " + second.ToString());
        h_.Restore();
        const bool crashed = recover(second);
        EXPECT_EQ(ExpectRecoveredCleanly(/*may_fail=*/true), expected);
        if (!crashed || HasFailure()) break;
        if (m > 200) {
          ADD_FAILURE() << "recovery never completes";
          break;
        }
      }
    }
    SCOPED_TRACE("then recovery crashed after its first write, over and over");
    h_.Restore();
    for (int k = 0; recover(CrashPoint::After(1)); ++k) {
      if (k > 200) {
        ADD_FAILURE() << "recovery makes no progress";
        break;
      }
    }
    EXPECT_EQ(ExpectRecoveredCleanly(/*may_fail=*/true), expected);
    return crashes;
  }

  testing::ScratchDir dir_;
  CrashHarness h_{dir_.path()};
};

TEST_F(CrashTest, SagaCrashedBeforeOrAfterAnyWriteIsFinishedByRecovery) {
  CrashAtEveryWrite("single", /*may_fail=*/false);
}

// Node d fails, so most crash points land in the unwind. A saga crashed before d's failure was recorded is
// resumed forward without the fault and succeeds; one crashed after must end failed with nothing left.
TEST_F(CrashTest, UnwindingSagaCrashedBeforeOrAfterAnyWriteEndsFailedOrSucceededCleanly) {
  CrashAtEveryWrite("single-unwind", /*may_fail=*/true);
}

TEST_F(CrashTest, ConcurrentSagasCrashedBeforeOrAfterAnyWriteAreAllFinishedByRecovery) {
  CrashAtEveryWrite("concurrent", /*may_fail=*/false);
}

// Recovery is itself crash-safe: killing the process at any write of recovery and opening again reaches the
// end state an uninterrupted recovery reaches. The interrupted state comes from the unwinding workload
// crashed at each of its writes; its recovery is then crashed before and after each of its own writes, and
// also crashed again and again right after its first write until one completes.
TEST_F(CrashTest, RecoveryCrashedAtAnyOfItsWritesConvergesToTheSameEndState) {
  const std::string workload = "single-unwind";
  auto total = h_.CountWrites(workload);
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  int recovery_crashes = 0;
  for (auto when : {CrashPoint::When::kBefore, CrashPoint::When::kAfter}) {
    for (uint64_t n = 1; n <= *total && !HasFailure(); ++n) {
      recovery_crashes += CrashRecoveryAtEveryWrite(workload, CrashPoint{when, n});
    }
  }
  EXPECT_GT(recovery_crashes, 0);
}

// The same with several sagas recovering at once, from crash points of the concurrent workload sampled with a
// fixed seed (each of its writes is a first crash point in ConcurrentSagas... above).
TEST_F(CrashTest, RecoveryOfConcurrentSagasCrashedAtAnyOfItsWritesConvergesToTheSameEndState) {
  const std::string workload = "concurrent";
  auto total = h_.CountWrites(workload);
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  std::mt19937_64 rng(testing::CrashSeed("RecoveryOfConcurrentSagas", 7));
  int recovery_crashes = 0;
  for (int k = 0; k < 6 && !HasFailure(); ++k) {
    const auto when = rng() % 2 == 0 ? CrashPoint::When::kBefore : CrashPoint::When::kAfter;
    const uint64_t n = 1 + rng() % *total;
    recovery_crashes += CrashRecoveryAtEveryWrite(workload, CrashPoint{when, n});
  }
  EXPECT_GT(recovery_crashes, 0);
}

}  // namespace
}  // namespace sagadb
