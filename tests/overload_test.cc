// The overload scenario (docs/DESIGN.md section 6): concurrent instance-creates with many disks under transient store
// faults end succeeded or cleanly failed, never stuck, with every invariant holding. At the design point the
// retries absorb every transient fault, so nothing fails; permanent faults at forward steps fail their sagas,
// which unwind cleanly beside the others.
#include "controlplane/overload.h"

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "tests/controlplane_test_util.h"

namespace sagadb {
namespace {

class OverloadTest : public testing::ControlPlaneTest {
 protected:
  // The executor as a program would configure it: the default retry policies.
  void SetUp() override { Open("db", ExecutorOptions{}); }

  OverloadReport Run(const OverloadOptions& options) {
    auto r = RunOverloadScenario(*cp_, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    std::cout << "[ overload ] " << options.instances << "x" << options.disks_per_instance << " at "
              << options.fail_rate * 100 << "% transient, " << options.permanent_rate * 100
              << "% permanent: " << Summarize(*r) << "\n";
    for (const auto& f : r->failures) std::cout << "[ overload ]   " << f << "\n";
    return *r;
  }

  void ExpectRequiredOutcome(const OverloadReport& r, const OverloadOptions& o) {
    EXPECT_EQ(r.stuck, 0) << fmt::format("{}", fmt::join(r.problems, "\n"));
    EXPECT_EQ(r.unfinished, 0) << fmt::format("{}", fmt::join(r.problems, "\n"));
    EXPECT_EQ(r.succeeded + r.failed, o.instances);
    EXPECT_TRUE(r.check.ok()) << Describe(r.check);
    EXPECT_GT(r.injected_faults, 0u);
    // Nothing leaked: exactly the succeeded instances and their disks and volumes are live.
    const testing::World w = Now();
    EXPECT_EQ(w.instances.size(), static_cast<size_t>(r.succeeded));
    EXPECT_EQ(w.disks.size(), static_cast<size_t>(r.succeeded * o.disks_per_instance));
    EXPECT_EQ(w.volumes.size(), static_cast<size_t>(r.succeeded * o.disks_per_instance));
  }

  // Every write after the scenario reaches the store: its fault injector is gone.
  void ExpectInjectorRemoved() {
    const uint64_t attempts = store_->write_attempts();
    const uint64_t synced = store_->synced_writes();
    CreateInstanceOk("after", 2);
    EXPECT_GT(store_->write_attempts(), attempts);
    EXPECT_EQ(store_->write_attempts() - attempts, store_->synced_writes() - synced);
  }
};

TEST_F(OverloadTest, EightInstancesOfElevenDisksAtFivePercentFaultsEndSucceededOrCleanlyFailed) {
  OverloadOptions o;
  o.instances = 8;
  o.seed = 42;
  o.name_prefix = "small";
  int calls = 0;
  o.progress = [&](const OverloadProgress& p) {
    ++calls;
    EXPECT_EQ(p.done, calls);
    EXPECT_EQ(p.total, 8);
  };
  OverloadReport r = Run(o);
  ExpectRequiredOutcome(r, o);
  EXPECT_EQ(r.failed, 0) << "eight attempts of each step absorb 5% of transient faults";
  EXPECT_EQ(r.permanent_faults, 0u);
  EXPECT_EQ(calls, 8);
  ExpectInjectorRemoved();
}

TEST_F(OverloadTest, ThirtyInstancesOfElevenDisksAtFivePercentFaultsEndSucceededOrCleanlyFailed) {
  OverloadOptions o;  // the scenario as docs/DESIGN.md section 6 states it
  o.seed = 7;
  o.name_prefix = "full";
  const ExecutorStats before = cp_->database().stats();
  OverloadReport r = Run(o);
  // The report's counters are the executor's over the run, every one of them: thirty sagas of eleven attaches
  // each meet record locks taken out of order (a few dozen lock-conflict retries a run), and the report says so.
  const ExecutorStats after = cp_->database().stats();
  EXPECT_EQ(r.executor.lock_conflict_retries, after.lock_conflict_retries - before.lock_conflict_retries);
  EXPECT_EQ(r.executor.rounds, after.rounds - before.rounds);
  EXPECT_EQ(r.executor.action_retries, after.action_retries - before.action_retries);
  EXPECT_GT(r.executor.rounds, 0u);
  ExpectRequiredOutcome(r, o);
  EXPECT_EQ(r.failed, 0) << "eight attempts of each step absorb 5% of transient faults";
  ExpectInjectorRemoved();
}

TEST_F(OverloadTest, PermanentFaultsAtForwardStepsFailTheirSagasWhichUnwindCleanlyBesideTheOthers) {
  OverloadOptions o;
  o.instances = 8;
  o.seed = 5;
  o.name_prefix = "perm";
  // One forward step in twenty: nearly every instance-create of 47 steps meets one (a run where none did would
  // be a one-in-a-hundred-million event), and unwinds under the same transient faults as the rest.
  o.permanent_rate = 0.05;
  OverloadReport r = Run(o);
  ExpectRequiredOutcome(r, o);
  EXPECT_GT(r.failed, 0);
  EXPECT_GT(r.failed_permanent, 0);
  EXPECT_LE(static_cast<uint64_t>(r.failed_permanent), r.permanent_faults);
  int named = 0;
  for (const auto& f : r.failures) named += f.find(kPermanentFault) != std::string::npos ? 1 : 0;
  EXPECT_EQ(named, r.failed_permanent) << fmt::format("{}", fmt::join(r.failures, "\n"));
  EXPECT_GT(r.executor.undo_retries + r.executor.action_retries, 0u) << "the transient faults were there";
  ExpectInjectorRemoved();
  // The plan is gone with the scenario: a saga after it meets no permanent fault.
  EXPECT_EQ(RunOverloadScenario(*cp_, [] {
              OverloadOptions after;
              after.instances = 2;
              after.disks_per_instance = 2;
              after.fail_rate = 0;
              after.name_prefix = "after-perm";
              return after;
            }())->failed,
            0);
}

TEST(OverloadStatsTest, TheRunsCountersAreEveryCounterLessItsValueBefore) {
  // Distinct values everywhere, so a counter left out (or taken from another) shows.
  ExecutorStats before{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  ExecutorStats now{101, 202, 303, 404, 505, 606, 707, 808, 909, 1010, 1111, 1212, 1313, 1414};
  ExecutorStats d = StatsSince(now, before);
  EXPECT_EQ(d.started, 100u);
  EXPECT_EQ(d.resumed, 200u);
  EXPECT_EQ(d.succeeded, 300u);
  EXPECT_EQ(d.failed, 400u);
  EXPECT_EQ(d.stuck, 500u);
  EXPECT_EQ(d.paused, 600u);
  EXPECT_EQ(d.cancelled, 700u);
  EXPECT_EQ(d.halted, 800u);
  EXPECT_EQ(d.rejected, 900u);
  EXPECT_EQ(d.action_retries, 1000u);
  EXPECT_EQ(d.undo_retries, 1100u);
  EXPECT_EQ(d.log_retries, 1200u);
  EXPECT_EQ(d.lock_conflict_retries, 1300u);
  EXPECT_EQ(d.rounds, 1400u);

  OverloadReport r;
  r.executor = d;
  EXPECT_NE(Summarize(r).find("1000 action / 1100 undo / 1200 log / 1300 lock-conflict retries"), std::string::npos)
      << Summarize(r);
}

TEST_F(OverloadTest, AtAQuarterOfOperationsFailingSomeSagasUnwindAndNoneIsStuck) {
  // Far beyond the design point: forward retries run out often, so many sagas unwind, under the same faults.
  // An undo that fails transiently on every one of its attempts makes its saga stuck, by design; with the
  // default 16 attempts that happens here to the order of one undo in ten thousand (each attempt of an attach's undo
  // fails with probability 1 - 0.75^3), so this run gives undos the budget a program expecting such overload
  // would configure.
  ExecutorOptions patient;
  patient.undo_retry.max_attempts = 64;
  patient.undo_retry.max_backoff = std::chrono::milliseconds(5);
  // Forward steps get two attempts, so that retries running out is the rule here and not luck: an attach reads
  // two records, so an attempt fails with probability 1 - 0.75^2, and two in a row with ~0.2. (With the default
  // eight, no saga of this run failing was a 1-in-5 event once rounds cut the writes each step depends on.)
  patient.forward_retry.max_attempts = 2;
  Open("harsh", patient);
  OverloadOptions o;
  o.instances = 12;
  o.fail_rate = 0.25;
  o.seed = 3;
  o.name_prefix = "harsh";
  OverloadReport r = Run(o);
  ExpectRequiredOutcome(r, o);
  EXPECT_GT(r.failed, 0);
  ExpectInjectorRemoved();
}

TEST_F(OverloadTest, RunsOneAfterAnotherInOneDatabaseNeedOnlyDistinctPrefixes) {
  OverloadOptions o;
  o.instances = 4;
  o.disks_per_instance = 3;
  o.name_prefix = "first";
  OverloadReport a = Run(o);
  o.name_prefix = "second";
  o.seed = 2;
  OverloadReport b = Run(o);
  EXPECT_TRUE(a.ok());
  EXPECT_TRUE(b.ok()) << Describe(b.check);
  EXPECT_EQ(Now().instances.size(), static_cast<size_t>(a.succeeded + b.succeeded));
}

TEST_F(OverloadTest, OptionsOutOfRangeAreRefusedBeforeAnythingRuns) {
  OverloadOptions o;
  o.disks_per_instance = 13;
  EXPECT_EQ(RunOverloadScenario(*cp_, o).status().code(), Code::kInvalidRequest);
  o = OverloadOptions{};
  o.name_prefix = "Bad_Prefix";
  EXPECT_EQ(RunOverloadScenario(*cp_, o).status().code(), Code::kInvalidRequest);
  o = OverloadOptions{};
  o.fail_rate = 1.0;
  EXPECT_EQ(RunOverloadScenario(*cp_, o).status().code(), Code::kInvalidRequest);
  o = OverloadOptions{};
  o.permanent_rate = 1.0;
  EXPECT_EQ(RunOverloadScenario(*cp_, o).status().code(), Code::kInvalidRequest);
  o.permanent_rate = -0.1;
  EXPECT_EQ(RunOverloadScenario(*cp_, o).status().code(), Code::kInvalidRequest);
  EXPECT_EQ(store_->write_attempts(), 0u);
}

}  // namespace
}  // namespace sagadb
