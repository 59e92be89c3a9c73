// SagaRun: the in-memory state of one executing saga. Internal to the executor (and ActionContext, which reads
// the params and ancestor outputs of the node it serves).
//
// A saga advances in rounds (sagas/round.h): one thread at a time gathers what can be done now, runs the ready
// local steps into one txn, and writes their effects, the log events and the record in one synced batch. Node
// states say where each node is in that cycle:
//
//   pending -> staged (local: ran in the open round; external: its effect is done, its outcome not yet logged)
//           -> succeeded (durable)
//   pending -> starting (its `started` is in the open round) -> running (external, in flight on the pool)
//   pending -> waiting (a retry after a backoff is due)
//   succeeded -> undo_staged / undo_starting -> undoing (external undo in flight) -> undone (durable)
//   pending|running -> failed (durable), succeeded|undoing -> undo_failed (durable)
// The saga's mode: running -> unwinding (a node failed, or an operator cancelled it) -> failed, or paused (an
// undo's transient retries ran out) or stuck (an undo failed for good); running -> succeeded.
//
// Locking: `mu` guards everything a round or a step reads or changes, except what a node's action reads (its
// ancestors' outputs, the scope params), which is written once, under `mu`, before any step that reads it can
// run. The log has its own lock (CommitQueue); `mu` is never held while writing to the store or running an
// action.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <typeindex>
#include <vector>

#include "base/mutex.h"
#include "log/commit_queue.h"
#include "sagadb/action.h"
#include "sagadb/dag.h"
#include "sagadb/saga.h"
#include "sagas/metrics.h"
#include "schema/records.h"

namespace sagadb {

// A shared null JSON value, the output of a node that has none (yet).
const std::shared_ptr<const Json>& NullJson();

enum class NodeStatus : uint8_t {
  kPending,
  kWaiting,     // a retry of its action is due after a backoff
  kStaged,      // ran (local: in the open round; external: on the pool); its `succeeded` is not durable yet
  kStarting,    // external: its `started` goes out with the open round
  kRunning,     // external: its action is in flight on the pool
  kSucceeded,   // durable
  kFailed,      // durable (or going out with the open round)
  kUndoWaiting,   // a retry of its undo is due after a backoff
  kUndoStaged,    // undone (local: in the open round; external: on the pool); `undo_finished` not durable yet
  kUndoStarting,  // external: its `undo_started` goes out with the open round
  kUndoing,       // external: its undo is in flight on the pool
  kUndone,        // durable
  kUndoFailed,    // durable (or going out with the open round)
};

struct NodeRt {
  NodeStatus status = NodeStatus::kPending;
  bool started_logged = false;       // external: `started` is durable (recovery re-runs such a node)
  bool undo_started_logged = false;  // external: `undo_started` is durable
  // Set when the node ran, read-only from then on; shared, never copied, with the constant and subsaga nodes
  // that pass it on and the scope params it becomes.
  std::shared_ptr<const Json> output = NullJson();
  uint32_t attempts = 0;             // of the action (or, while unwinding, of the undo)
  uint32_t undo_attempts = 0;
  uint32_t lock_conflicts = 0;       // runs that met a record lock out of order (not counted as attempts)
  int64_t start_ns = 0;              // when the attempt that produced its outcome began
  std::optional<SagaEvent> outcome;  // an outcome to log (external steps, failures), not yet durable
  bool outcome_in_round = false;     // `outcome` is in the round being built or written
};

class SagaRun {
 public:
  SagaRun(SagaRecord rec, Json saga_params, const SagaLog* log, uint64_t next_seq)
      : record(std::move(rec)), params(std::move(saga_params)), commits(log, record.id, next_seq) {}

  // Read-only after construction.
  std::vector<const ActionDef*> actions;        // per node; nullptr for non-action nodes
  std::vector<std::vector<uint32_t>> children;  // per node
  std::vector<std::string> qualified_names;     // per node
  SagaMetrics::Kind* kind_metrics = nullptr;    // the counters of the saga's kind

  Mutex mu;
  CondVar done_cv{&mu};
  SagaRecord record GUARDED_BY(mu);  // what the saga record says (or is about to say); id and DAG never change
  const Json params;
  // Statuses GUARDED_BY(mu); outputs as noted above. Sized once, never resized.
  std::vector<NodeRt> nodes;
  SagaState mode GUARDED_BY(mu) = SagaState::kRunning;  // what rounds do; changes only once durable
  bool record_durable GUARDED_BY(mu) = true;  // false until a new saga's first round is written
  bool record_dirty GUARDED_BY(mu) = false;   // `record` changed since it was last written
  bool failing GUARDED_BY(mu) = false;        // a failure (or a cancel) is on its way to the log: start no new
                                              // forward node
  // An operator's cancel: its event waits for the next round (`cancel_in_round` once it is in one), and
  // `cancel_durable` says the round holding it was written (SagaExecutor::Cancel waits for that).
  std::optional<SagaEvent> cancel GUARDED_BY(mu);
  bool cancel_in_round GUARDED_BY(mu) = false;
  bool cancel_durable GUARDED_BY(mu) = false;
  bool stopping GUARDED_BY(mu) = false;       // an undo failed for good (or its retries ran out): start no new undo
  bool finishing GUARDED_BY(mu) = false;      // the final record goes out with the open round
  bool driving GUARDED_BY(mu) = false;        // a thread is building a round
  bool round_in_flight GUARDED_BY(mu) = false;  // a round is being written
  // Something changed while a round was built or written. A task that changes the saga (an external step's
  // outcome, a retry falling due) sets it under the same lock, before it calls Kick: otherwise a driver that
  // found nothing to do could take that lock between the change and the Kick, see no task left, and conclude
  // that the saga cannot make progress.
  bool kicked GUARDED_BY(mu) = false;
  int tasks GUARDED_BY(mu) = 0;               // external steps in flight and retries waiting on a timer
  uint32_t log_attempts GUARDED_BY(mu) = 0;   // consecutive rounds that failed to be written
  bool complete GUARDED_BY(mu) = false;
  std::optional<Status> halted GUARDED_BY(mu);  // the log could not be written; recovery will resume the saga
  std::optional<SagaResult> result GUARDED_BY(mu);
  Status first_round GUARDED_BY(mu);          // a new saga: how its first round ended (Start waits for it)
  bool first_round_done GUARDED_BY(mu) = false;

  // The saga's log: every round goes through here, numbered.
  CommitQueue commits;

  // Scope params, set when the scope's start node succeeds (under mu); read-only to the scope's nodes after.
  std::vector<std::shared_ptr<const Json>> scope_params;
  // Each scope's params converted to the types its actions asked for (ActionContext::Params), by scope.
  mutable Mutex params_mu;
  mutable std::vector<std::map<std::type_index, std::shared_ptr<const void>>> params_cache GUARDED_BY(params_mu);

  // The id, which never changes (safe to read without mu).
  const Uuid& id() const NO_THREAD_SAFETY_ANALYSIS { return record.id; }
  // The DAG, which never changes.
  const DagNode& dag_node(uint32_t i) const NO_THREAD_SAFETY_ANALYSIS { return record.nodes[i]; }
};

}  // namespace sagadb
