// The kit's crash phases that end in recovery's own trouble: recovery crashed at each of its writes, from
// chosen crash points of the saga, and a busy child killed at random moments (kit_crash.cc has the others).
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <random>
#include <thread>

#include "log/saga_query.h"
#include "testing/kit_internal.h"
#include "testing/log_checks.h"

namespace sagadb::testing {
namespace {

using When = FaultPoint::When;
using At = FaultPoint::At;

}  // namespace

void Kit::RecoveryCrashes() {
  const std::string variant = options_.unwind_crashes ? "unwind" : "forward";
  const std::string group = "recovery-crash/" + variant;
  if (!WantedGroup(group)) return;
  auto counts = CountInChild(variant);
  if (!counts.ok()) return Fail(group, "", 0, {counts.status().ToString()});
  if (report_.writes == 0) {
    report_.writes = counts->writes;
    report_.effects = counts->effects;
  }
  std::vector<FaultPoint> starts;
  for (When when : {When::kBefore, When::kAfter}) {
    for (uint64_t n = 1; n <= counts->writes; ++n) starts.push_back({when, At::kWrite, n});
  }
  const size_t k = static_cast<size_t>(std::max(0, options_.recovery_crash_starts));
  if (k > 0 && starts.size() > k) {
    std::mt19937_64 rng(report_.seed);
    std::shuffle(starts.begin(), starts.end(), rng);
    starts.resize(k);
  }
  Say(fmt::format("recovery crashes from {} crash points", starts.size()));
  std::atomic<int> recovery_crashes{0};
  std::vector<std::function<void()>> cases;
  for (const FaultPoint& first : starts) {
    const std::string base = fmt::format("{}/{}", group, first.Id());
    if (WantedGroup(base)) {
      cases.push_back([this, base, first, variant, &recovery_crashes] { RecoveryCrashFrom(base, first, variant, &recovery_crashes); });
    }
  }
  RunCases(cases);
  if (!starts.empty() && recovery_crashes == 0 && only_.empty()) {
    Fail(group, "", 0, {"recovery was never crashed: it wrote nothing in any case"});
  }
}

// One crash point of the saga, then its recovery crashed at each of its writes.
void Kit::RecoveryCrashFrom(const std::string& base, const FaultPoint& first, const std::string& variant,
                            std::atomic<int>* recovery_crashes) {
  auto paths = NewCase(true);
  if (!paths.ok()) return Fail(base, "", first.n, {paths.status().ToString()});
  const ChildOrder order = RunOrder(*paths, variant, first.Id());
  auto e = RunChild(*paths, order);
  if (!e.ok() || !Crashed(*e)) {
    if (!e.ok() || !Finished(*e)) Fail(base, "", first.n, {e.ok() ? ChildTrouble(*paths, *e) : e.status().ToString()});
    return;  // it finished before the point: nothing to recover
  }
  const std::string saved = paths->dir + "/saved-world";
  if (Status st = CopyTree(paths->world, saved); !st.ok()) return Fail(base, "", first.n, {st.ToString()});
  Expect expect;
  expect.may_be_absent = true;
  expect.may_fail = variant == "unwind";
  if (variant == "unwind") expect.at_node = LastNode();
  const std::vector<SeenOutcome> seen = ReadOutcomes(paths->outcomes);
  expect.seen = seen;
  std::vector<std::string> why;
  const std::string expected = RecoverAndCheck(*paths, order.sagas, expect, &why);
  if (!why.empty()) {
    Fail(base + "/uninterrupted", Tail(paths->point_node), first.n, why);
    return;
  }

  // Recovery from the saved state, crashed at write m of its own: opening again must reach what the
  // uninterrupted recovery reached.
  auto recover = [&](const std::string& id, const FaultPoint& second, bool* crashed) {
    *crashed = false;
    ChildOrder again = order;
    again.mode = "recover";
    again.point = second.Id();
    auto r = RunChild(*paths, again);
    if (!r.ok() || (!Crashed(*r) && !Finished(*r))) {
      Fail(id, "", second.n, {r.ok() ? ChildTrouble(*paths, *r) : r.status().ToString()});
      return false;
    }
    if (Finished(*r) && !ReadChildResult(paths->result).ok()) {
      Fail(id, "", second.n, {ChildTrouble(*paths, *r) + ", without a report"});
      return false;
    }
    *crashed = Crashed(*r);
    *recovery_crashes += *crashed;
    return true;
  };
  auto check = [&](const std::string& id, uint64_t write) {
    std::vector<std::string> w = CheckLogsAsLeft(paths->db);
    const std::vector<SeenOutcome> seen_now = ReadOutcomes(paths->outcomes);
    Expect e = expect;
    e.seen = seen_now;
    const std::string outcome = RecoverAndCheck(*paths, order.sagas, e, &w);
    if (outcome != expected) {
      w.push_back(fmt::format("the sagas ended {}, but {} after an uninterrupted recovery", outcome, expected));
    }
    Record(id, outcome);
    if (!w.empty()) Fail(id, "", write, w);
  };
  // Each recovery starts from the state the first crash left, outcomes seen so far included.
  const std::string seen_after_crash = Tail(paths->outcomes, SIZE_MAX);
  auto reset = [&]() -> Status {
    SAGADB_RETURN_IF_ERROR(CopyTree(saved, paths->world));
    std::ofstream out(paths->outcomes, std::ios::trunc | std::ios::binary);
    out << seen_after_crash;
    return out.flush() ? Status::OK() : Status::IOError("cannot write " + paths->outcomes);
  };
  for (When when : {When::kBefore, When::kAfter}) {
    for (uint64_t m = 1;; ++m) {
      const FaultPoint second{when, At::kWrite, m};
      const std::string id = fmt::format("{}/{}", base, second.Id());
      if (!Wanted(id)) {
        if (m > 200) break;
        continue;
      }
      if (m > 200) {
        Fail(id, "", m, {"recovery never completes"});
        break;
      }
      if (Status st = reset(); !st.ok()) return Fail(id, "", m, {st.ToString()});
      bool crashed = false;
      if (!recover(id, second, &crashed)) break;
      check(id, m);
      if (!crashed) break;
    }
  }
  // Crashed again and again right after its first write, until one recovery completes.
  const std::string id = base + "/again-after-write-1";
  if (!Wanted(id)) return;
  if (Status st = reset(); !st.ok()) return Fail(id, "", 1, {st.ToString()});
  bool crashed = true;
  for (int round = 0; crashed; ++round) {
    if (round > 200) {
      Fail(id, "", 1, {"recovery makes no progress"});
      break;
    }
    if (!recover(id, FaultPoint{When::kAfter, At::kWrite, 1}, &crashed)) break;
  }
  if (!crashed) check(id, 1);
}

void Kit::RandomKills() {
  const std::string group = "random-kill";
  if (!WantedGroup(group)) return;
  if (saga_.setup) return Fail(group, "", 0, {"random kills need a saga without setup"});
  std::mt19937_64 rng(report_.seed);
  auto between = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto paths = NewCase(false);
  if (!paths.ok()) return Fail(group, "", 0, {paths.status().ToString()});
  Say(fmt::format("random kills: {} rounds", options_.random_kill_rounds));
  for (int round = 0; round < options_.random_kill_rounds; ++round) {
    const std::string id = fmt::format("{}/{}", group, round);
    const size_t seen_before = ReadOutcomes(paths->outcomes).size();
    // Even rounds: any moment from the start, the open and its recovery included. Odd rounds: in the thick of
    // the workload, once it has ended a few sagas.
    const size_t wait_for = round % 2 == 0 ? 0 : static_cast<size_t>(between(1, 40));
    const int delay_ms = round % 2 == 0 ? between(0, 150) : between(0, 20);
    ChildOrder order;
    order.saga = saga_.name;
    order.mode = "busy";
    order.world = paths->world;
    order.seed = rng();
    order.first_index = round * options_.random_kill_sagas;
    order.count = options_.random_kill_sagas;
    order.threads = options_.random_kill_threads;
    auto child = StartChild(*paths, order);
    if (!child.ok()) return Fail(id, "", 0, {child.status().ToString()});
    // The child's progress is the outcomes file it appends to; there is nothing to wait on but the file.
    std::optional<ChildExit> ended;
    while (!ended && ReadOutcomes(paths->outcomes).size() < seen_before + wait_for) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ended = child->TryWait();
    }
    if (!ended) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      child->Kill(SIGKILL);
      ended = child->Wait();
    }
    std::vector<std::string> why;
    if (!((!ended->exited && ended->signal == SIGKILL) || Finished(*ended))) why.push_back(ChildTrouble(*paths, *ended));
    for (std::string& v : CheckLogsAsLeft(paths->db)) why.push_back(std::move(v));
    Record(id, Finished(*ended) ? "finished" : "killed");
    if (!why.empty()) return Fail(id, "", 0, why);
  }
  // Every saga any round started, as recovery leaves it.
  const std::string id = group + "/recovered";
  std::vector<std::string> why;
  auto run = Open(paths->world);
  if (!run.ok()) return Fail(id, "", 0, {"reopening: " + run.status().ToString()});
  run->db->WaitIdle();
  std::vector<SagaSlot> slots;
  SagaQuery every;
  every.limit = 0;
  SagaListing listing;
  const Status listed = ListSagaRecords(run->db->impl().store(), every, [&](const SagaRecord& r) {
    slots.push_back({r.id, Json::parse(r.params, nullptr, /*allow_exceptions=*/false)});
  }, &listing);
  if (!listed.ok()) why.push_back("listing the sagas: " + listed.ToString());
  for (const std::string& u : listing.unreadable) why.push_back("unreadable saga record: " + u);
  const std::vector<SeenOutcome> seen = ReadOutcomes(paths->outcomes);
  Expect expect;
  expect.seen = seen;
  const std::string outcome = CheckEnd(*run, paths->world, slots, expect, &why);
  size_t succeeded = 0;
  for (size_t at = 0; (at = outcome.find("succeeded", at)) != std::string::npos; at += 9) ++succeeded;
  Record(id, fmt::format("{} sagas ({} succeeded), {} seen to end", slots.size(), succeeded, seen.size()));
  if (seen.empty()) why.push_back("no saga was seen to end");
  if (!why.empty()) Fail(id, "", 0, why);
}

}  // namespace sagadb::testing
