// The crash-test kit: a user's saga with every node failed before and after its commit, every action and
// undo run twice, every undo failed, and the process crashed (or the power cut) at every durable write, each
// time checking that the world ends up as the saga's outcome says it must.
//
//   sagadb::testing::SagaUnderTest saga;
//   saga.name = "transfer";                     // unique among the kit calls of one program
//   saga.domains = [](const std::string& dir) {  // every external effect goes under `dir`
//     return sagadb::testing::Domains{std::make_shared<Bank>(dir + "/receipts")};
//   };
//   saga.dag = [](const sagadb::Json&) { return TransferDag(); };
//   saga.params = {{"from", "alice"}, {"to", "bob"}, {"amount", 30}};
//   saga.setup = [](sagadb::testing::RunContext& ctx) { return OpenAccounts(ctx.db); };
//   saga.check_succeeded = [](const sagadb::testing::RunContext& ctx) { return BobHas(ctx.db, 30); };
//   saga.check_unchanged = [](const sagadb::testing::RunContext& ctx) { return AsOpened(ctx.db, ctx.dir); };
//   sagadb::testing::KitReport report = sagadb::testing::RunKit(saga);
//   if (!report.ok()) std::fputs(report.Describe().c_str(), stderr);   // each failure: its case, node, write, seed
//
// What it runs (docs/TESTING.md explains each phase and how to read a failure):
//   idempotency     every external action run twice, then every external undo run twice during an unwind (the
//                   local ones too, if asked): the same end state.
//   node failures   at every action node: an error instead of the action; an error after it (a local action:
//                   after it staged its writes; an external one: after its effect, before its outcome is
//                   recorded); and pressure: every read the action makes through sagadb fails transiently, as
//                   when a connection pool is exhausted, through all its retries. The saga must end failed (or,
//                   under pressure, succeeded) and a failed saga must leave the world exactly as before.
//   undo failures   the last action node fails; every undo of the unwind fails transiently a few times (retried
//                   through: the unwind completes), then fails permanently (the saga must end stuck, naming it,
//                   and stay so at the next open).
//   random pressure seeded runs in which a fraction of every read and write fails transiently.
//   crashes         a child process runs the saga and ends itself right before and right after each durable
//                   write and each external effect; the database is reopened here (recovery runs) and the
//                   saga's end state is checked. Once as the saga runs, once with its last node failing so that
//                   the crash points fall in the unwind.
//   power loss      the same points, with every byte the disk was not asked to keep dropped.
//   recovery crashes the recovery that follows a crash is itself crashed at each of its writes.
//   random kills    (off by default) a child running many sagas at once is killed at random moments.
// The numbers of writes and effects are counted by a run without faults, never assumed.
//
// Child processes: the kit re-executes this program (/proc/self/exe, with its own arguments, or
// KitOptions::child_argv) with SAGADB_KIT_CHILD set. The program must reach the same RunKit call (for
// GoogleTest, sagadb/testing/gtest.h makes the child run only the current test), where the kit does the
// child's part and ends the process; or call RunChildIfRequested first thing in main. Never a fork without exec.
//
// A failure's case id and seed reproduce it: SAGADB_KIT_ONLY=<case id prefix> SAGADB_KIT_SEED=<seed> runs only
// those cases. Thread safety: RunKit may be called from any thread; it runs its cases on KitOptions::jobs
// threads.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagadb/dag.h"
#include "sagadb/database.h"
#include "sagadb/domain.h"
#include "sagadb/options.h"
#include "sagadb/saga.h"
#include "sagadb/status.h"

namespace sagadb::testing {

using Domains = std::vector<std::shared_ptr<Domain>>;

// What setup and the checks see: one run's open database.
struct RunContext {
  Database& db;
  const std::string& dir;    // the run's directory: the database is <dir>/db, external effects go under it
  const Domains& domains;    // as SagaUnderTest::domains made them for this run
  const Json& params;        // the saga's params
  // How the saga ended (after recovery, in the crash phases). Empty in setup; in check_unchanged also when
  // the saga never started (a crash before its first write).
  const std::optional<SagaResult>& result;
  const Json& baseline;      // SagaUnderTest::snapshot right after setup; null without a snapshot
};

struct SagaUnderTest {
  // Names the saga in reports, and the child process finds its saga by it: unique within a program.
  std::string name;
  // The domains the saga's actions come from, made afresh for every run. `dir` is the run's directory: every
  // external effect must go under it, so that runs never see each other's.
  std::function<Domains(const std::string& dir)> domains;
  // The saga's DAG for the given params (called in child processes too, with the params of this process).
  std::function<Result<SagaDag>(const Json& params)> dag;
  Json params;
  // Optional: the params of saga number `index` (0, 1, ...), for phases that run several at once
  // (KitOptions::concurrent, random kills). Each must act on things of its own.
  std::function<Json(int index)> params_for;
  // Optional: what the saga acts on, made once (no faults) in a database every run starts from a copy of.
  // Called with each saga's params (so once per saga when several run at once).
  std::function<Status(RunContext&)> setup;
  // The world after the saga succeeded looks right.
  std::function<Status(const RunContext&)> check_succeeded;
  // The world after the saga failed is exactly as before it. When several sagas ran at once, look only at what
  // this saga's params name.
  std::function<Status(const RunContext&)> check_unchanged;
  // Optional: the world as a value. The kit then also requires a failed saga's world to equal the snapshot
  // after setup, and a succeeded saga's (actions run twice, crashes, power loss) to equal a clean run's. Not
  // used when several sagas run at once.
  std::function<Result<Json>(const RunContext&)> snapshot;
};

struct KitOptions {
  bool idempotency = true;
  // The idempotency phase runs every external action and undo twice: recovery runs one again when a crash
  // came between its effect and the record of its outcome. A local action's (or undo's) writes commit together
  // with its outcome, so sagadb never runs one again over its own writes; set this to run them twice as well,
  // for local actions that must be idempotent anyway.
  bool local_actions_twice = false;
  bool node_failures = true;
  bool undo_failures = true;
  bool crashes = true;
  bool power_loss = true;
  bool recovery_crashes = true;
  // Runs of the random-pressure phase, and the fraction of reads and writes that fail in them.
  int random_pressure_runs = 4;
  double pressure_rate = 0.05;
  // Crash and power-loss phases also run with the last action node failing (crash points in the unwind).
  bool unwind_crashes = true;
  // Sagas run at once in the crash, power-loss and recovery-crash phases (more than 1 needs params_for).
  int concurrent = 1;
  // Recovery crashes start from this many crash points of the crash phase, picked with the seed (0: all).
  // Recovery is then crashed before and after each of its own writes.
  int recovery_crash_starts = 3;
  // The transient failures each undo meets in the undo-failures phase.
  int undo_transient_failures = 3;
  // Random kills: rounds, sagas started per round (params_for(0), (1), ...), and the threads starting them.
  int random_kill_rounds = 0;
  int random_kill_sagas = 200;
  int random_kill_threads = 16;
  // The seed of every random choice (0: a fixed default). SAGADB_KIT_SEED overrides it.
  uint64_t seed = 0;
  // Run only the cases whose id starts with this. SAGADB_KIT_ONLY overrides it.
  std::string only;
  // Where the runs go. Empty: a new directory under $SAGADB_KIT_DIR, else /dev/shm (memory is enough: the kit's
  // crashes are a process's and its power losses are simulated), else $TMPDIR. Removed at the end unless
  // keep_scratch.
  std::string scratch_dir;
  bool keep_scratch = false;
  // How a child process is started: the program and its arguments (empty: /proc/self/exe with the arguments
  // this process got). The kit adds SAGADB_KIT_CHILD to its environment.
  std::vector<std::string> child_argv;
  // Every database the kit opens (path aside). The default: fast retries, 8 executor threads.
  DatabaseOptions database = FastDatabaseOptions();
  // Cases run at once, each in a directory (and, in the crash phases, a child process) of its own. With more
  // than one, the domain factory, setup and the checks may run on several threads at once, on different runs.
  int jobs = 2;
  // Stop after this many failures.
  size_t max_failures = 25;
  // Progress lines (a phase begins, a case fails), if given. Not owned.
  Logger* logger = nullptr;

  static DatabaseOptions FastDatabaseOptions();
};

struct KitFailure {
  std::string case_id;  // "crash/forward/after-write-7", "fail-after/attach_1.attach", ...
  std::string phase;    // the part of the id before the first '/'
  std::string node;     // the node a fault was injected at, if any
  uint64_t write = 0;   // the write crashed (or power cut) at, if any
  uint64_t seed = 0;    // with case_id, reproduces it
  std::string message;  // what did not hold
  // "SAGADB_KIT_ONLY='<case_id>' SAGADB_KIT_SEED=<seed>"
  std::string Reproduce() const;
  std::string ToString() const;
};

struct KitCase {
  std::string id;
  // How the saga(s) ended: "succeeded", "failed", "stuck", "absent" (never started: a crash before its first
  // write), several joined with ',' when several ran; "skipped" when nothing could be injected.
  std::string outcome;
};

struct KitReport {
  std::string saga;
  uint64_t seed = 0;
  std::vector<KitFailure> failures;
  std::vector<KitCase> cases;
  // Of one run with no fault point, as the crash phases counted them (the forward run's, if it was counted):
  uint64_t writes = 0;   // synced writes, from the open on
  uint64_t effects = 0;  // external actions and undos run
  double seconds = 0;

  bool ok() const { return failures.empty(); }
  size_t CountCases(std::string_view phase) const;
  const KitCase* FindCase(std::string_view id) const;
  // A summary (cases per phase, writes, time) and every failure, one per line.
  std::string Describe() const;
};

// Runs the kit on the saga. In a child process started by the kit for this saga, does the child's part and
// ends the process instead (it never returns there).
KitReport RunKit(const SagaUnderTest& saga, const KitOptions& options = {});

// Whether this process is a child the kit started.
bool IsKitChild();
// For programs that must not run their own code in a child (a main that parses its arguments or sets up
// something costly before its RunKit calls): in a child started for one of `sagas`, does the child's part and
// ends the process; otherwise returns at once. `options` must be those RunKit gets (its database options).
void RunChildIfRequested(std::initializer_list<const SagaUnderTest*> sagas, const KitOptions& options = {});

}  // namespace sagadb::testing
