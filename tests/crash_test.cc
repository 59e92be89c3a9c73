// The crash suite, on the crash-test kit (sagadb/testing/kit.h) with the sample saga (tests/sample_saga_kit.h):
// sagadb's own recovery is put through the kit users put their sagas through. The kit runs the saga in a child
// process (this test binary again, running only the current test) and stops it right before or right after
// each durable write and each external effect; the database is then opened here, recovery runs, and the end
// state must be clean and keep every outcome the child saw before it died. What the kit checks after each
// crash: testing/kit_crash.cc.
#include <gtest/gtest.h>

#include <algorithm>

#include "sagadb/testing/gtest.h"
#include "tests/sample_saga_kit.h"

namespace sagadb {
namespace {

using testing::KitOptions;
using testing::KitReport;
using testing::RunKitInTest;
using testing::SampleSagaUnderTest;

// The kit with every phase off; each test turns on what it is about.
KitOptions NoPhases() {
  KitOptions o;
  o.idempotency = o.node_failures = o.undo_failures = o.crashes = o.power_loss = o.recovery_crashes = false;
  o.random_pressure_runs = 0;
  return o;
}

// Every point of `group` stopped the child at least once, and the counts are sagadb's.
void ExpectCrashedEverywhere(const KitReport& r, const std::string& group) {
  size_t cases = 0;
  for (const auto& c : r.cases) cases += c.id.starts_with(group + "/");
  EXPECT_GE(cases, 2 * r.writes) << r.Describe();
}

// Without an injected failure a crash never makes the saga fail: recovery finishes it (the kit requires it of
// the forward variant), whether it crashed before its first write (it never started) or after its last.
TEST(CrashTest, SagaCrashedBeforeOrAfterAnyWriteOrEffectIsFinishedByRecovery) {
  KitOptions o = NoPhases();
  o.crashes = true;
  o.only = "crash/forward";
  KitReport r = RunKitInTest(SampleSagaUnderTest(), o);
  ExpectCrashedEverywhere(r, "crash/forward");
  // Rounds: the first holds the saga's creation and the `started` records, the last the outcomes and the end.
  // When c and sub.y finish close together their outcomes share a round, so a run makes two writes or more.
  EXPECT_GE(r.writes, 2u);
  EXPECT_EQ(r.effects, 2u);  // c and sub.y
  ASSERT_NE(r.FindCase("crash/forward/before-write-1"), nullptr);
  EXPECT_EQ(r.FindCase("crash/forward/before-write-1")->outcome, "absent");
  EXPECT_EQ(r.FindCase("crash/forward/after-write-1")->outcome, "succeeded");
}

// The last node fails, so most crash points land in the unwind. A saga crashed before its failure was recorded
// is resumed forward without the fault and succeeds; one crashed after must end failed with nothing left.
TEST(CrashTest, UnwindingSagaCrashedBeforeOrAfterAnyWriteOrEffectEndsFailedOrSucceededCleanly) {
  KitOptions o = NoPhases();
  o.crashes = true;
  o.only = "crash/unwind";
  KitReport r = RunKitInTest(SampleSagaUnderTest(), o);
  ExpectCrashedEverywhere(r, "crash/unwind");
  size_t failed = 0;
  for (const auto& c : r.cases) failed += c.outcome == "failed";
  EXPECT_GT(failed, 0u) << r.Describe();
}

TEST(CrashTest, ConcurrentSagasCrashedBeforeOrAfterAnyWriteAreAllFinishedByRecovery) {
  KitOptions o = NoPhases();
  o.crashes = true;
  o.concurrent = 4;
  o.only = "crash/forward/";
  KitReport r = RunKitInTest(SampleSagaUnderTest(), o);
  ExpectCrashedEverywhere(r, "crash/forward");
  const testing::KitCase* c = r.FindCase("crash/forward/after-write-1");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::count(c->outcome.begin(), c->outcome.end(), ','), 3) << c->outcome;  // four sagas
}

// Recovery is itself crash-safe: killing the process at any write of recovery and opening again reaches the
// end state an uninterrupted recovery reaches. The interrupted state comes from the unwinding saga crashed at
// each of its writes; its recovery is then crashed before and after each of its own writes, and also crashed
// again and again right after its first write until one completes.
TEST(CrashTest, RecoveryCrashedAtAnyOfItsWritesConvergesToTheSameEndState) {
  KitOptions o = NoPhases();
  o.recovery_crashes = true;
  o.recovery_crash_starts = 0;  // every crash point of the unwinding saga
  KitReport r = RunKitInTest(SampleSagaUnderTest(), o);
  EXPECT_GT(r.CountCases("recovery-crash"), 4 * r.writes) << r.Describe();
}

// The same with four sagas recovering at once, from crash points sampled with a fixed seed.
TEST(CrashTest, RecoveryOfConcurrentSagasCrashedAtAnyOfItsWritesConvergesToTheSameEndState) {
  KitOptions o = NoPhases();
  o.recovery_crashes = true;
  o.concurrent = 4;
  o.recovery_crash_starts = 6;
  o.seed = 7;
  KitReport r = RunKitInTest(SampleSagaUnderTest(), o);
  EXPECT_GT(r.CountCases("recovery-crash"), 6u) << r.Describe();
}

}  // namespace
}  // namespace sagadb
