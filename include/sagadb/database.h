// Database: sagadb as a program embeds it. Opening it opens the store, registers the domains' actions, starts
// the executor and finishes every saga a crash interrupted, all before the caller can start a saga.
//
//   sagadb::DatabaseOptions options;
//   options.path = "/var/lib/appliance/sagadb";
//   auto db = sagadb::Database::Open(options, {std::make_shared<MyDomain>()});
//   if (!db.ok()) return db.status();           // Conflict: another process holds it
//   sagadb::Result<sagadb::SagaHandle> h = (*db)->Start(dag, params);
//   sagadb::Result<sagadb::SagaResult> r = h->Wait();
//
// One process at a time owns a database (a second Open fails with Conflict); the sagadb tool inspects it
// beside its owner. Destroying the Database stops the executor: sagas still executing stay running or unwinding
// in the database, and the next open resumes them.
//
// History: finished sagas are removed by retention (DatabaseOptions::retention, or Prune on demand); an open
// reads only the sagas in flight, through an index written with the saga records, so its cost does not grow
// with the history. The history is read a page at a time (ListSagas).
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sagadb/action.h"
#include "sagadb/dag.h"
#include "sagadb/domain.h"
#include "sagadb/history.h"
#include "sagadb/metrics.h"
#include "sagadb/options.h"
#include "sagadb/saga.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace sagadb {

// A saga in flight whose DAG names actions that no domain of the opening program registered: another
// program's saga, or one whose actions this version no longer has. Recovery leaves it exactly as it is (no
// write); the next open by a program that registers those actions resumes it.
struct UnknownActionSaga {
  Uuid id;
  std::string kind;
  std::vector<std::string> actions;  // the unknown ones, each once, in DAG order
};

// What recovery did at open. Only proven damage of a saga (its log is impossible, its bytes fail verification)
// makes it stuck; an error that proves nothing about a saga (an I/O error, a transient one) fails the open
// before recovery writes anything.
struct RecoveryReport {
  size_t scanned = 0;                      // sagas the index lists as in flight (stuck ones too)
  std::vector<Uuid> resumed_forward;       // running, no node failed
  std::vector<Uuid> resumed_unwinding;     // a node had failed, or it was cancelled
  std::vector<Uuid> retried_paused;        // paused: its failed undos retried (DatabaseOptions::retry_paused_at_open)
  std::vector<std::string> paused_left;    // paused sagas that could not be retried, each "<id>: <why>"
  std::vector<Uuid> marked_stuck;          // impossible log, or a record or event that fails verification
  std::vector<std::string> stuck_reasons;  // parallel to marked_stuck
  std::vector<std::string> unreadable;     // keys whose record could not be decoded at all (left as they are)
  std::vector<UnknownActionSaga> left_unknown;  // not resumed and not changed: actions this program lacks
  // With DatabaseOptions::wait_for_recovery: how the resumed sagas ended.
  std::vector<Uuid> finished_succeeded;
  std::vector<Uuid> finished_failed;
  std::vector<Uuid> finished_paused;
  std::vector<Uuid> finished_stuck;
  std::vector<Uuid> halted;
  uint64_t indexed = 0;       // a database written before the index: sagas it was built from at this open
  double index_seconds = 0;   // and how long that took (once per database)
  double load_seconds = 0;    // reading and validating the logs
  double finish_seconds = 0;  // from the start of recovery until every resumed saga ended

  bool empty() const {
    return resumed_forward.empty() && resumed_unwinding.empty() && retried_paused.empty() && marked_stuck.empty() &&
           left_unknown.empty();
  }
  // One line: "recovery: scanned 4 sagas; resumed 3 forward, 1 unwinding; ...", naming the sagas left alone
  // for their unknown actions.
  std::string Summary() const;
};

// The executor's counters since the database was opened.
struct ExecutorStats {
  uint64_t started = 0;
  uint64_t resumed = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t stuck = 0;
  uint64_t paused = 0;     // ended paused: an undo's transient retries ran out
  uint64_t cancelled = 0;  // cancels accepted (made durable)
  uint64_t halted = 0;
  uint64_t rejected = 0;  // Overloaded at admission
  uint64_t action_retries = 0;
  uint64_t undo_retries = 0;
  uint64_t log_retries = 0;
  uint64_t lock_conflict_retries = 0;  // local steps run again after taking record locks out of order
  uint64_t rounds = 0;                 // batches written for sagas (each one synced write)
};

class DatabaseImpl;

class Database {
 public:
  // Opens (or creates) the database and runs recovery. Errors: InvalidRequest for bad options, a directory that
  // is not a sagadb database or one written by a newer sagadb, or two domains registering one action; Conflict
  // if another process holds the database; NotFound if there is none and create_if_missing is off; IOError and
  // Corruption as the store reports them.
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options,
                                                std::vector<std::shared_ptr<Domain>> domains);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Admits the saga, makes its record durable and starts it. Overloaded (nothing written) when max_in_flight
  // sagas are executing and no admission_wait was given or it ran out; InvalidRequest if the DAG names an action
  // no domain registered.
  Result<SagaHandle> Start(const SagaDag& dag, Json params, const StartOptions& options = {});
  // Start, then Wait.
  Result<SagaResult> Run(const SagaDag& dag, Json params, const StartOptions& options = {});

  // Operator controls. Each is an operator event in the saga's log, with the request's actor and reason and the
  // time (`saga show` and `saga events` show them); a refused request writes nothing. They are how the process
  // that holds the database offers them: the sagadb tool refuses them on a database another process holds.
  //
  // Cancel: a running saga unwinds cleanly from where it is (steps in flight finish, then are undone, in the
  // usual order); it ends `failed` with a Cancelled error. Returns once the cancel is durable, so a crash after
  // it still ends in a complete unwind; the state it leaves: unwinding. Cancelling a saga that is unwinding,
  // paused or stuck already changes nothing and returns that state (cancelling twice is harmless).
  // InvalidRequest for a saga that has ended; NotFound for none.
  Result<SagaState> Cancel(const Uuid& saga, const OperatorRequest& request);
  // Resume: after an operator fixed what made a paused or stuck saga's undo fail, retries that undo and goes on
  // unwinding; the handle says how it ends (failed when it unwinds; paused or stuck again if the undo still
  // fails). Resuming a saga that is already being resumed gives its handle. InvalidRequest for a saga in another
  // state, one whose log cannot be replayed (abandon it), or one that names an action no domain registered.
  Result<SagaHandle> Resume(const Uuid& saga, const OperatorRequest& request);
  // Abandon: gives up on a saga that has not ended and is not executing (paused, stuck, or one that halted):
  // it becomes `abandoned`, for the given kind of reason, and nothing more is done for it. `check` reports what
  // it left behind as its leftovers. InvalidRequest for a saga that has ended or is executing (cancel that).
  Result<SagaState> Abandon(const Uuid& saga, AbandonKind kind, const OperatorRequest& request);

  // A committed value of a domain table, outside any saga. NotFound if none.
  Result<std::string> Read(std::string_view table, std::string_view key) const;

  // A page of the saga history, in id order (sagadb/history.h). Reads one page's records, whatever the size
  // of the history; a query for sagas in flight only reads the index. Errors: IOError, Corruption as reads
  // report them (a record that cannot be decoded is named in SagaPage::unreadable instead).
  Result<SagaPage> ListSagas(const SagaQuery& query) const;
  // Running and unwinding sagas that have written no event for at least `quiet` (their last event, or their
  // start, is older), the longest quiet first, each with its last event.
  Result<StalledReport> ListStalled(std::chrono::nanoseconds quiet) const;
  // Removes, now, the finished sagas `policy` lets go (with dry_run: only says which), in batches of
  // RetentionOptions::sagas_per_batch sagas, each saga with all its events in one batch. Runs beside sagas in
  // flight; one prune at a time (the background one included).
  Result<PruneReport> Prune(const RetentionPolicy& policy, bool dry_run = false);

  // Blocks until no saga is executing.
  void WaitIdle();
  size_t in_flight() const;
  ExecutorStats stats() const;
  // What the database says about itself (sagadb/metrics.h): counters and latencies since the open, the sagas
  // executing now, and the sagas that have not finished by state, read from the index of sagas in flight (its
  // cost follows those, not the history). WritePrometheus turns it into the Prometheus text format. Errors:
  // IOError, Corruption as reading the index reports them.
  Result<Metrics> metrics() const;
  const RecoveryReport& recovery() const;
  const std::string& path() const;

  // Internal parts, for sagadb's own modules (the control plane, the tool, the test kit).
  DatabaseImpl& impl() { return *impl_; }

 private:
  friend Result<std::unique_ptr<Database>> OpenDatabase(const DatabaseOptions&, std::vector<std::shared_ptr<Domain>>,
                                                        const struct OpenSeams&);
  explicit Database(std::unique_ptr<DatabaseImpl> impl);
  std::unique_ptr<DatabaseImpl> impl_;
};

}  // namespace sagadb
