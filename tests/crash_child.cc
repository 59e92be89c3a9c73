// crash_child: runs one crash-test workload on a database and ends itself abruptly at a chosen durable write.
// crash_test starts it as a separate process: a fork without exec would inherit RocksDB's thread pools in an
// unusable state.
//
//   crash_child --db DIR --files DIR --outcomes FILE --workload NAME
//               [--crash-before N | --crash-after N] [--seed S] [--sagas K] [--writes-out FILE]
//
// The database is opened first, so recovery runs here too, with the crash point already installed: N counts
// every write of this process to the store, recovery's included. --crash-before N ends the process right
// before write N reaches RocksDB, --crash-after N right after it is durable, with _exit(86): no destructor,
// no flush, like a power cut that spares the page cache.
//
// Workloads (the sample saga of tests/saga_test_util.h; each saga's tag is derived from its id):
//   single         one sample saga
//   single-unwind  one sample saga whose node d fails, so that it unwinds
//   concurrent     four sample sagas at once
//   busy           16 workers running sample sagas back to back until K have started (--sagas, default 400);
//                  with seed S, about one in four arms a failure at a random node, one in eight a transient
//                  undo failure
//   recover        nothing more than the open: recovery finishes what an earlier crash interrupted
//
// Every saga seen to end (recovery's and the workload's) is appended to the outcomes file as it ends. When
// the workload finishes, the number of writes it made goes to --writes-out and the exit status is 0; 86 is a
// crash at the chosen write; anything else is a failure of the child itself (with a message on stderr).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/fault_injector.h"
#include "db/database_impl.h"
#include "tests/crash_outcomes.h"
#include "tests/saga_test_util.h"

namespace sagadb::testing {
namespace {

struct ChildOptions {
  std::string db;
  std::string files;
  std::string outcomes;
  std::string workload;
  uint64_t crash_before = 0;
  uint64_t crash_after = 0;
  uint64_t seed = 1;
  int sagas = 400;
  std::string writes_out;
};

// Runs workloads and records what it sees end. Any unexpected error ends the process with status 1.
class Child {
 public:
  Child(Database* db, OutcomeWriter* outcomes) : db_(db), outcomes_(outcomes) {}

  // Starts a sample saga, waits for it and records how it ended.
  void RunSample() {
    StartOptions so;
    so.id = Uuid::Generate();
    so.admission_wait = std::chrono::seconds(60);
    auto r = db_->Run(SampleDag(), Json{{"tag", "s" + so.id->ToString()}}, so);
    if (!r.ok()) Die("saga " + so.id->ToString() + ": " + r.status().ToString());
    Record(r->id, r->state);
  }

  void Record(const Uuid& id, SagaState state) {
    Status st = outcomes_->Append(id, state);
    if (!st.ok()) Die(st.ToString());
  }

  // In parallel, `threads` times fn().
  template <typename F>
  static void InThreads(int threads, F fn) {
    std::vector<std::thread> workers;
    for (int i = 0; i < threads; ++i) workers.emplace_back(fn);
    for (auto& w : workers) w.join();
  }

  static void Die(const std::string& why) {
    std::fprintf(stderr, "crash_child: %s\n", why.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  }

 private:
  Database* db_;
  OutcomeWriter* outcomes_;
};

void RunBusy(Child& child, SagaExecutor& executor, uint64_t seed, int sagas) {
  auto plan = std::make_shared<FaultPlan>();
  executor.SetFaultPlan(plan);
  const std::vector<std::string> nodes = SampleActionNodes();
  std::mutex mu;
  std::mt19937_64 rng(seed);  // guarded by mu
  int started = 0;            // guarded by mu
  Child::InThreads(16, [&] {
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (started++ >= sagas) return;
        const std::string& node = nodes[rng() % nodes.size()];
        switch (rng() % 8) {
          case 0:
          case 1: plan->FailAction(node, Status::InvalidRequest("injected"), 1); break;
          case 2: plan->FailUndo(node, Status::Transient("injected"), 2); break;
          default: break;
        }
      }
      child.RunSample();
    }
  });
}

int Main(const ChildOptions& o) {
  OutcomeWriter outcomes(o.outcomes);
  if (!outcomes.status().ok()) Child::Die(outcomes.status().ToString());
  FaultInjector crash;
  if (o.crash_before > 0) crash.CrashBeforeWrite(o.crash_before);
  if (o.crash_after > 0) crash.CrashAfterWrite(o.crash_after);

  TestApp app;
  app.files_dir = o.files;
  DatabaseOptions opts;
  opts.path = o.db;
  opts.executor.threads = o.workload == "busy" ? 8 : 4;
  OpenSeams seams;
  seams.hooks = &crash;  // installed before recovery runs: its writes count too
  auto db = OpenDatabase(opts, {TestDomain(&app)}, seams);
  if (!db.ok()) Child::Die("open: " + db.status().ToString());

  Child child(db->get(), &outcomes);
  const RecoveryReport& report = (*db)->recovery();
  if (!report.halted.empty()) Child::Die("recovery halted: " + report.Summary());
  for (const Uuid& id : report.finished_succeeded) child.Record(id, SagaState::kSucceeded);
  for (const Uuid& id : report.finished_failed) child.Record(id, SagaState::kFailed);
  for (const Uuid& id : report.finished_stuck) child.Record(id, SagaState::kStuck);

  SagaExecutor& executor = (*db)->impl().executor();
  if (o.workload == "single") {
    child.RunSample();
  } else if (o.workload == "single-unwind") {
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAction("d", Status::InvalidRequest("injected"));
    executor.SetFaultPlan(plan);
    child.RunSample();
  } else if (o.workload == "concurrent") {
    Child::InThreads(4, [&] { child.RunSample(); });
  } else if (o.workload == "busy") {
    RunBusy(child, executor, o.seed, o.sagas);
  }
  executor.WaitIdle();

  if (!o.writes_out.empty()) {
    std::ofstream out(o.writes_out);
    out << (*db)->impl().store().write_attempts() << "\n";
    if (!out.flush()) Child::Die("cannot write " + o.writes_out);
  }
  return 0;
}

}  // namespace
}  // namespace sagadb::testing

int main(int argc, char** argv) {
  sagadb::testing::ChildOptions o;
  CLI::App app{"Runs a crash-test workload and ends itself at a chosen durable write."};
  app.add_option("--db", o.db, "database directory")->required();
  app.add_option("--files", o.files, "directory of the external actions' files")->required()->check(
      CLI::ExistingDirectory);
  app.add_option("--outcomes", o.outcomes, "file the sagas seen to end are appended to")->required();
  app.add_option("--workload", o.workload, "what to run")
      ->required()
      ->check(CLI::IsMember({"single", "single-unwind", "concurrent", "busy", "recover"}));
  auto* before = app.add_option("--crash-before", o.crash_before, "end the process right before write N");
  auto* after = app.add_option("--crash-after", o.crash_after, "end the process right after write N");
  before->excludes(after);
  app.add_option("--seed", o.seed, "seed of the busy workload's faults");
  app.add_option("--sagas", o.sagas, "sagas the busy workload starts");
  app.add_option("--writes-out", o.writes_out, "file that gets the number of writes of a finished run");
  CLI11_PARSE(app, argc, argv);
  return sagadb::testing::Main(o);
}
