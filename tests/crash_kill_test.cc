// SIGKILL at moments nobody chose, through the kit's random kills: a busy child (16 sample sagas in flight,
// about one in four with a node failing, one in eight with an undo failing transiently) is killed over several
// rounds, each round resuming what the last one left and starting more sagas; the saga log must be legal as
// each kill left it, and the database must then recover to a clean end state that kept every outcome any round
// saw. The seed is the kit's (SAGADB_KIT_SEED replays another).
#include <gtest/gtest.h>

#include "sagadb/testing/gtest.h"
#include "tests/sample_saga_kit.h"

namespace sagadb {
namespace {

TEST(CrashKillTest, BusySagasKilledAtRandomMomentsOverManyRoundsEndCleanlyAndKeepWhatWasSeen) {
  testing::KitOptions o;
  o.idempotency = o.node_failures = o.undo_failures = o.crashes = o.power_loss = o.recovery_crashes = false;
  o.random_pressure_runs = 0;
  o.random_kill_rounds = 8;
  o.random_kill_sagas = 400;
  o.random_kill_threads = 16;
  o.seed = 20250611;
  testing::KitReport r = testing::RunKitInTest(testing::SampleSagaUnderTest(), o);
  EXPECT_EQ(r.CountCases("random-kill"), 8u + 1u) << r.Describe();
  const testing::KitCase* recovered = r.FindCase("random-kill/recovered");
  ASSERT_NE(recovered, nullptr);
  std::printf("CrashKillTest: %s\n", recovered->outcome.c_str());
}

}  // namespace
}  // namespace sagadb
