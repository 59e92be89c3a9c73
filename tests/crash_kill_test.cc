// SIGKILL at moments nobody chose: a busy child (16 sample sagas in flight, some with injected failures) is
// killed over several rounds, each round resuming what the last one left and starting more sagas; the
// database must then recover to a clean end state that kept every outcome any round saw.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <random>
#include <thread>

#include "tests/crash_harness.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::CrashHarness;
using testing::CrashPoint;
using testing::Lines;

constexpr int kRounds = 8;

TEST(CrashKillTest, BusySagasKilledAtRandomMomentsOverManyRoundsEndCleanlyAndKeepWhatWasSeen) {
  const uint64_t seed = testing::CrashSeed("CrashKillTest", 20250611);
  std::mt19937_64 rng(seed);
  auto between = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  testing::ScratchDir dir;
  CrashHarness h(dir.path());
  // The database exists before the first kill: a kill while RocksDB creates its files is RocksDB's business.
  auto created = h.Run("recover", CrashPoint::None());
  ASSERT_TRUE(created.ok() && created->exited && created->code == 0);

  for (int round = 0; round < kRounds; ++round) {
    const size_t seen_before = h.SeenCount();
    const int wait_for = round % 2 == 0 ? 0 : between(1, 40);
    const int delay_ms = round % 2 == 0 ? between(0, 150) : between(0, 20);
    SCOPED_TRACE(fmt::format("round {} (killed {} ms after {} more sagas were seen to end)", round, delay_ms,
                             wait_for));
    auto child = h.Start("busy", CrashPoint::None(), {"--seed", std::to_string(rng()), "--sagas", "400"});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    // Even rounds: any moment from the start, the open and its recovery included. Odd rounds: in the thick of
    // the workload, once it has ended a few sagas. The child exits by itself only after 400 sagas.
    std::optional<testing::ChildExit> ended;
    while (!ended && h.SeenCount() < seen_before + wait_for) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ended = child->TryWait();
    }
    if (!ended) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      child->Kill(SIGKILL);
      ended = child->Wait();
    }
    EXPECT_TRUE((!ended->exited && ended->signal == SIGKILL) || (ended->exited && ended->code == 0))
        << ended->ToString();
    EXPECT_EQ(Lines(h.CheckLogsAsLeft()), "") << "the log as the kill left it";
    if (HasFailure()) return;
  }

  std::map<Uuid, SagaState> states;
  EXPECT_EQ(Lines(h.CheckRecovered(&states)), "");
  int succeeded = 0, failed = 0;
  for (const auto& [id, state] : states) (state == SagaState::kSucceeded ? succeeded : failed)++;
  std::printf("CrashKillTest: %d rounds, %zu sagas seen to end, %d succeeded and %d failed in the end\n", kRounds,
              h.SeenCount(), succeeded, failed);
  EXPECT_GT(h.SeenCount(), 0u);
}

}  // namespace
}  // namespace sagadb
