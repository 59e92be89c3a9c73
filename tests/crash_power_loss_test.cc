// A power cut at any write or external effect of a saga loses nothing the database acknowledged, and recovery
// from what survived converges to a clean end state: the kit's power-loss phase, with the sample saga. In
// process: the power-loss Env (testing/power_loss_env.h) rewinds RocksDB's files to exactly what was synced when
// the power went off, and from that moment the kit refuses every action, so nothing happens outside the
// database that a real power loss would have let happen.
#include <gtest/gtest.h>

#include "sagadb/testing/gtest.h"
#include "tests/sample_saga_kit.h"

namespace sagadb {
namespace {

TEST(SagaPowerLossTest, PowerCutAtAnyWriteLosesNothingAcknowledgedAndRecoveryConverges) {
  testing::KitOptions o;
  o.idempotency = o.node_failures = o.undo_failures = o.crashes = o.power_loss = o.recovery_crashes = false;
  o.random_pressure_runs = 0;
  o.power_loss = true;
  testing::KitReport r = testing::RunKitInTest(testing::SampleSagaUnderTest(), o);
  EXPECT_GT(r.CountCases("power-loss"), 20u) << r.Describe();
  // The cut bites: the saga's record, its first write, was never synced, so the saga never existed.
  const testing::KitCase* first = r.FindCase("power-loss/forward/before-write-1");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->outcome, "absent");
  ASSERT_NE(r.FindCase("power-loss/unwind/after-write-1"), nullptr);
}

}  // namespace
}  // namespace sagadb
