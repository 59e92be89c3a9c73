// The kit's crash phases: a child process stopped right before or right after each write and each external
// effect, and the same points with the power cut (in this process, on the power-loss Env); recovery crashed and
// random kills are in kit_recovery.cc. After each, the database is opened here (recovery runs) and checked.
//
// Variants: "forward" runs the saga as it is (a crash alone must never make it fail); "unwind" has its last
// action node fail, so that the points fall in the unwind too (recovery then either finishes it forward, if the
// failure was not yet durable, or unwinds it).
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <fstream>
#include <random>
#include <thread>

#include "engine/fault_injector.h"
#include "log/saga_query.h"
#include "testing/kit_internal.h"
#include "testing/log_checks.h"
#include "testing/power_loss_env.h"

namespace sagadb::testing {
namespace {

using When = FaultPoint::When;
using At = FaultPoint::At;

// The snapshot of the log taken when the power goes off, by whichever thread cuts it.
struct CutRecord {
  Mutex mu;
  bool taken GUARDED_BY(mu) = false;
  std::string node GUARDED_BY(mu);  // whose effect it was, if at an effect
  LogSnapshot at_cut GUARDED_BY(mu);
};

}  // namespace

bool Crashed(const ChildExit& e) { return e.exited && e.code == kCrashExitCode; }
bool Finished(const ChildExit& e) { return e.exited && e.code == 0; }

ChildOrder Kit::RunOrder(const CasePaths& paths, const std::string& variant, const std::string& point) const {
  ChildOrder order;
  order.saga = saga_.name;
  order.mode = "run";
  order.world = paths.world;
  order.point = point;
  order.sagas = Slots(true);
  order.fail_node = variant == "unwind" ? LastNode() : "";
  return order;
}

std::vector<std::string> Kit::ChildArgv() const {
  std::vector<std::string> argv = options_.child_argv;
  if (argv.empty()) {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
    if (argv.empty()) argv.emplace_back();
    argv[0] = "/proc/self/exe";
  }
  // This program itself, by its real path: the child must run the same binary.
  if (argv[0] == "/proc/self/exe") {
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) argv[0] = std::string(exe, static_cast<size_t>(n));
  }
  return argv;
}

Result<ChildProcess> Kit::StartChild(const CasePaths& paths, const ChildOrder& order) {
  SAGADB_RETURN_IF_ERROR(WriteOrder(paths.order, order));
  std::error_code ec;
  std::filesystem::remove(paths.result, ec);
  std::filesystem::remove(paths.point_node, ec);
  ChildSpec spec;
  spec.argv = ChildArgv();
  spec.env = {fmt::format("{}={}", kChildEnv, paths.order)};
  // A test runner's sharding would hand the one test the child must run to another shard.
  spec.unset = {"GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS", "GTEST_SHARD_STATUS_FILE"};
  spec.output = paths.output;
  return ChildProcess::Start(spec);
}

Result<ChildExit> Kit::RunChild(const CasePaths& paths, const ChildOrder& order) {
  SAGADB_ASSIGN_OR_RETURN(ChildProcess child, StartChild(paths, order));
  return child.Wait();
}

std::string ChildTrouble(const CasePaths& paths, const ChildExit& e) {
  auto r = ReadChildResult(paths.result);
  std::string why = fmt::format("the child process ended with {}", e.ToString());
  if (r.ok() && !r->error.empty()) return why + ": " + r->error;
  if (!r.ok()) why += " (did the program reach RunKit, or RunChildIfRequested, for this saga?)";
  const std::string out = Tail(paths.output);
  return out.empty() ? why + "; it printed nothing" : why + "; its output ends:\n" + out;
}

std::vector<std::string> Kit::CheckLogsAsLeft(const std::string& db_dir) {
  if (!std::filesystem::exists(db_dir)) return {};
  StoreConfig config;
  config.path = db_dir;
  config.mode = OpenMode::kReadOnly;
  auto store = Store::Open(config);
  if (!store.ok()) return {"opening read-only as the crash left it: " + store.status().ToString()};
  std::vector<std::string> out;
  for (std::string& v : CheckLogs(**store)) out.push_back("as the crash left it: " + v);
  return out;
}

std::string Kit::RecoverAndCheck(const CasePaths& paths, const std::vector<SagaSlot>& sagas, const Expect& expect,
                                 std::vector<std::string>* out) {
  auto run = Open(paths.world);
  if (!run.ok()) {
    out->push_back("reopening: " + run.status().ToString());
    return "unopened";
  }
  run->db->WaitIdle();
  return CheckEnd(*run, paths.world, sagas, expect, out);
}

Result<ChildResult> Kit::CountInChild(const std::string& variant) {
  if (auto it = counts_.find(variant); it != counts_.end()) return it->second;
  SAGADB_ASSIGN_OR_RETURN(CasePaths paths, NewCase(true));
  SAGADB_ASSIGN_OR_RETURN(ChildExit e, RunChild(paths, RunOrder(paths, variant, "")));
  if (!Finished(e)) return Status::Internal(ChildTrouble(paths, e));
  SAGADB_ASSIGN_OR_RETURN(ChildResult r, ReadChildResult(paths.result));
  counts_[variant] = r;
  return r;
}

bool Kit::CrashCase(const std::string& id, const std::string& variant, const FaultPoint& point) {
  const uint64_t write = point.at == At::kWrite ? point.n : 0;
  auto paths = NewCase(true);
  if (!paths.ok()) {
    Fail(id, "", write, {paths.status().ToString()});
    return false;
  }
  const ChildOrder order = RunOrder(*paths, variant, point.Id());
  auto e = RunChild(*paths, order);
  if (!e.ok()) {
    Fail(id, "", write, {e.status().ToString()});
    return false;
  }
  if (!Crashed(*e) && !Finished(*e)) {
    Fail(id, "", write, {ChildTrouble(*paths, *e)});
    return false;
  }
  std::vector<std::string> why;
  if (Finished(*e)) {
    // It may end before reaching the point (parallel nodes share writes or not), never pass it.
    auto r = ReadChildResult(paths->result);
    if (!r.ok()) {
      Fail(id, "", write, {ChildTrouble(*paths, *e) + ", without a report"});
      return false;
    }
    const uint64_t reached = point.at == At::kWrite ? r->writes : r->effects;
    if (reached >= point.n) why.push_back(fmt::format("the child passed {} without stopping", point.ToString()));
  }
  for (std::string& v : CheckLogsAsLeft(paths->db)) why.push_back(std::move(v));
  Expect expect;
  expect.may_be_absent = true;  // crashed before its record was written
  expect.may_fail = variant == "unwind";
  if (variant == "unwind") expect.at_node = LastNode();
  const std::vector<SeenOutcome> seen = ReadOutcomes(paths->outcomes);
  expect.seen = seen;
  const std::string outcome = RecoverAndCheck(*paths, order.sagas, expect, &why);
  Record(id, outcome);
  if (!why.empty()) Fail(id, Tail(paths->point_node), write, why);
  return Crashed(*e);
}

namespace {

// How many of `total` points must have stopped the run. A run can make fewer writes than the counted one: the
// outcomes of parallel external steps share a round or not, so a saga's rounds vary from run to run (an
// instance-create with 11 disks made 3 to 10 in clean runs). Each case checks the hard rule (a run that
// reached a point stopped there); this is the kit's check on itself, that most points were reached at all.
uint64_t Enough(uint64_t total) { return total == 0 ? 0 : std::max<uint64_t>(1, total / 2); }

}  // namespace

void Kit::Crashes() {
  std::vector<std::string> variants = {"forward"};
  if (options_.unwind_crashes) variants.push_back("unwind");
  for (const std::string& variant : variants) {
    const std::string group = "crash/" + variant;
    if (!WantedGroup(group)) continue;
    auto counts = CountInChild(variant);
    if (!counts.ok()) {
      Fail(group + "/count", "", 0, {counts.status().ToString()});
      continue;
    }
    if (variant == "forward" || report_.writes == 0) {
      report_.writes = counts->writes;
      report_.effects = counts->effects;
    }
    Say(fmt::format("crashes ({}): {} writes, {} effects", variant, counts->writes, counts->effects));
    const bool all = only_.empty() || group.starts_with(only_);
    for (At at : {At::kWrite, At::kEffect}) {
      for (When when : {When::kBefore, When::kAfter}) {
        const uint64_t total = at == At::kWrite ? counts->writes : counts->effects;
        std::atomic<uint64_t> crashes{0};
        std::vector<std::function<void()>> cases;
        for (uint64_t n = 1; n <= total; ++n) {
          const FaultPoint point{when, at, n};
          const std::string id = fmt::format("{}/{}", group, point.Id());
          if (Wanted(id)) cases.push_back([this, id, variant, point, &crashes] { crashes += CrashCase(id, variant, point); });
        }
        RunCases(cases);
        // A run can also make a few more writes than the counted one: go on while the child still stops.
        for (uint64_t n = total + 1; n <= 4 * total + 4; ++n) {
          const FaultPoint point{when, at, n};
          const std::string id = fmt::format("{}/{}", group, point.Id());
          if (!Wanted(id) || !CrashCase(id, variant, point)) break;
          crashes++;
        }
        if (all && crashes < Enough(total) && FailureCount() < options_.max_failures) {
          Fail(group, "", 0,
               {fmt::format("the child stopped at only {} of the {} points {} a {}", crashes.load(), total,
                            when == When::kBefore ? "before" : "after", at == At::kWrite ? "write" : "effect")});
        }
      }
    }
  }
}

bool Kit::PowerLossCase(const std::string& id, const std::string& variant, const FaultPoint& point,
                        ChildResult* counts) {
  const uint64_t write = point.at == At::kWrite ? point.n : 0;
  auto paths = NewCase(true);
  if (!paths.ok()) {
    Fail(id, "", write, {paths.status().ToString()});
    return false;
  }
  const std::vector<SagaSlot> slots = Slots(true);
  std::vector<std::string> why;
  PowerLossEnv power;  // outlives every database opened on it
  CutRecord cut;
  std::vector<SeenOutcome> acknowledged;
  {
    auto run = Open(paths->world, power.env());
    if (!run.ok()) {
      Fail(id, "", write, {"open: " + run.status().ToString()});
      return false;
    }
    Store* store = &run->db->impl().store();
    if (point.n > 0) {
      run->probe->Arm(point, [&power, &cut, store](const std::string& node) {
        // Everything a reader can see was synced first (RocksDB publishes a write only after its WAL sync), so
        // the log as read now is a lower bound of what must survive.
        LogSnapshot snap = TakeLogSnapshot(*store);
        power.Crash();
        MutexLock lock(&cut.mu);
        cut.taken = true;
        cut.node = node;
        cut.at_cut = std::move(snap);
      });
    }
    if (variant == "unwind") {
      auto plan = std::make_shared<FaultPlan>();
      plan->FailAction(LastNode(), Status::InvalidRequest(kInjected));
      run->db->impl().executor().SetFaultPlan(plan);
    }
    std::vector<SagaHandle> handles;
    for (const SagaSlot& slot : slots) {
      auto h = Start(*run->db, slot);
      if (h.ok()) {
        handles.push_back(*h);
      } else if (!power.crashed()) {
        why.push_back(fmt::format("saga {} did not start: {}", slot.id.ToString(), h.status().ToString()));
      }
    }
    for (const SagaHandle& h : handles) {
      auto r = h.Wait();  // after the cut the disk still takes writes (it forgets them) and actions are refused
      if (r.ok() && !power.crashed()) acknowledged.push_back({r->id, r->state});
    }
    run->db->WaitIdle();
    if (counts != nullptr) {
      counts->writes = store->write_attempts();
      counts->effects = run->probe->effects();
    }
  }
  // A run can make fewer writes than the counted one: then the power goes off only now, with nothing unsynced.
  const bool was_cut = power.crashed();
  if (Status st = power.DropUnsyncedData(); !st.ok()) why.push_back("dropping the unsynced data: " + st.ToString());
  Expect expect;
  expect.may_be_absent = true;
  expect.may_fail = variant == "unwind";
  if (variant == "unwind") expect.at_node = LastNode();
  expect.seen = acknowledged;
  std::string outcome = "unopened";
  std::string node;
  {
    MutexLock lock(&cut.mu);
    node = cut.node;
  }
  if (why.empty()) {
    auto run = Open(paths->world, power.env());
    if (!run.ok()) {
      why.push_back("reopening after the power loss: " + run.status().ToString());
    } else {
      run->db->WaitIdle();
      outcome = CheckEnd(*run, paths->world, slots, expect, &why);
      MutexLock lock(&cut.mu);
      if (cut.taken) {
        for (std::string& v : CheckLogKept(run->db->impl().store(), cut.at_cut)) why.push_back(std::move(v));
      }
    }
  }
  Record(id, outcome);
  if (!why.empty()) Fail(id, node, write, why);
  return was_cut;
}

void Kit::PowerLoss() {
  std::vector<std::string> variants = {"forward"};
  if (options_.unwind_crashes) variants.push_back("unwind");
  for (const std::string& variant : variants) {
    const std::string group = "power-loss/" + variant;
    if (!WantedGroup(group)) continue;
    ChildResult counts;
    PowerLossCase(group + "/count", variant, FaultPoint{}, &counts);
    if (report_.writes == 0) {
      report_.writes = counts.writes;
      report_.effects = counts.effects;
    }
    Say(fmt::format("power loss ({}): {} writes, {} effects", variant, counts.writes, counts.effects));
    const bool all = only_.empty() || group.starts_with(only_);
    for (At at : {At::kWrite, At::kEffect}) {
      for (When when : {When::kBefore, When::kAfter}) {
        const uint64_t total = at == At::kWrite ? counts.writes : counts.effects;
        std::atomic<uint64_t> cuts{0};
        std::vector<std::function<void()>> cases;
        for (uint64_t n = 1; n <= total; ++n) {
          const FaultPoint point{when, at, n};
          const std::string id = fmt::format("{}/{}", group, point.Id());
          if (Wanted(id)) {
            cases.push_back([this, id, variant, point, &cuts] { cuts += PowerLossCase(id, variant, point, nullptr); });
          }
        }
        RunCases(cases);
        if (all && cuts < Enough(total) && FailureCount() < options_.max_failures) {
          Fail(group, "", 0, {fmt::format("the power went off at only {} of {} points", cuts.load(), total)});
        }
      }
    }
  }
}

}  // namespace sagadb::testing
