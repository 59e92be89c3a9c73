// SagaRun: the in-memory state of one executing saga. Internal to the executor (and ActionContext, which reads
// the params and ancestor outputs of the node it serves).
//
// Locking: `mu` guards the scheduling state (node statuses, the mode, the task count, the outcome). A node's
// output is written once, under `mu`, when the node succeeds, and only read afterwards (by its descendants'
// actions and its own undo, which run after that). The log has its own lock (CommitQueue); `mu` is never held
// while writing to the store.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "log/commit_queue.h"
#include "sagadb/action.h"
#include "sagadb/dag.h"
#include "sagadb/saga.h"
#include "schema/records.h"

namespace sagadb {

enum class NodeStatus : uint8_t {
  kPending,
  kRunning,  // the forward task is in flight
  kSucceeded,
  kFailed,
  kUndoing,  // the undo task is in flight
  kUndone,
  kUndoFailed,
};

struct NodeRt {
  NodeStatus status = NodeStatus::kPending;
  bool started_logged = false;       // external: `started` is durable (recovery re-runs such a node)
  bool undo_started_logged = false;  // external: `undo_started` is durable
  Json output;                       // written once the node succeeded, read-only afterwards
  uint32_t attempts = 0;
  uint32_t undo_attempts = 0;
};

class SagaRun {
 public:
  SagaRun(SagaRecord rec, Json saga_params, const SagaLog* log, uint64_t next_seq)
      : record(std::move(rec)), params(std::move(saga_params)), commits(log, record.id, next_seq) {}

  // Read-only after construction.
  std::vector<const ActionDef*> actions;        // per node; nullptr for non-action nodes
  std::vector<std::vector<uint32_t>> children;  // per node
  std::vector<std::string> qualified_names;     // per node

  Mutex mu;
  CondVar done_cv{&mu};
  SagaRecord record GUARDED_BY(mu);  // what the saga record says (or is about to say); id and DAG never change
  const Json params;
  // Statuses GUARDED_BY(mu); outputs as noted in NodeRt. Sized once, never resized.
  std::vector<NodeRt> nodes;
  SagaState mode GUARDED_BY(mu) = SagaState::kRunning;  // what the scheduler does; changes only once durable
  bool failing GUARDED_BY(mu) = false;    // a failure is being recorded: start no new forward node
  bool stopping GUARDED_BY(mu) = false;   // an undo failed for good: start no new undo
  bool finishing GUARDED_BY(mu) = false;  // the final record is being written
  int tasks GUARDED_BY(mu) = 0;           // steps in flight (running, waiting for a commit or a backoff)
  bool complete GUARDED_BY(mu) = false;
  std::optional<Status> halted GUARDED_BY(mu);  // the log could not be written; recovery will resume the saga
  std::optional<SagaResult> result GUARDED_BY(mu);

  // The saga's log: its events and record go through here, numbered and group-committed.
  CommitQueue commits;

  // Scope params, set when the scope's start node succeeds (under mu); read-only to the scope's nodes after.
  std::vector<Json> scope_params;

  // The id, which never changes (safe to read without mu).
  const Uuid& id() const NO_THREAD_SAFETY_ANALYSIS { return record.id; }
};

}  // namespace sagadb
