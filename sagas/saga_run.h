// SagaRun: the in-memory state of one executing saga. Internal to the executor (and ActionContext, which reads
// the params and ancestor outputs of the node it serves).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sagas/action.h"
#include "sagas/dag.h"
#include "sagas/executor.h"

namespace sagadb {

enum class NodeStatus : uint8_t {
  kPending,
  kRunning,    // the forward task is in flight
  kSucceeded,
  kFailed,
  kUndoing,    // the undo task is in flight
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

// One request to the saga's commit queue: a local action's staged txn (or none) plus log records. A request
// with `on_done` is asynchronous: its submitter does not wait; whoever writes it deletes it (releasing the txn
// and its locks) and then calls on_done with the outcome. Without it, the submitter waits for `done`.
struct CommitRequest {
  WriteTxn* txn = nullptr;
  std::unique_ptr<WriteTxn> owned_txn;  // asynchronous requests own their txn
  std::vector<SagaEvent> events;
  std::optional<SagaRecord> record;  // the saga record to write with the events
  std::function<void(Status)> on_done;
  Status result;
  bool done = false;
};

class SagaRun {
 public:
  SagaRun(SagaRecord record, Json params) : record(std::move(record)), params(std::move(params)) {}

  // Read-only after construction.
  std::vector<const ActionDef*> actions;       // per node; nullptr for non-action nodes
  std::vector<std::vector<uint32_t>> children; // per node
  std::vector<std::string> qualified_names;    // per node

  std::mutex mu;
  SagaRecord record;         // GUARDED_BY(mu): what the saga record says (or is about to say)
  const Json params;
  std::vector<NodeRt> nodes; // status fields GUARDED_BY(mu); output as noted in NodeRt
  SagaState mode = SagaState::kRunning;  // GUARDED_BY(mu): what the scheduler does; changes only once durable
  bool failing = false;      // GUARDED_BY(mu): a failure is being recorded: start no new forward node
  bool stopping = false;     // GUARDED_BY(mu): an undo failed for good: start no new undo
  bool finishing = false;    // GUARDED_BY(mu): the final record is being written
  int tasks = 0;             // GUARDED_BY(mu): tasks in flight
  bool complete = false;     // GUARDED_BY(mu)
  std::optional<Status> halted;  // GUARDED_BY(mu): the log could not be written; recovery will resume
  std::optional<SagaResult> result;  // GUARDED_BY(mu)
  std::condition_variable done_cv;

  // The commit queue (leader-based group commit per saga; see SagaExecutor::DrainCommits).
  std::mutex commit_mu;
  std::condition_variable commit_cv;
  std::deque<CommitRequest*> queue;  // GUARDED_BY(commit_mu)
  bool committing = false;           // GUARDED_BY(commit_mu): a leader is draining the queue
  uint64_t next_seq = 1;             // GUARDED_BY(commit_mu)

  // Scope params, computed when the scope's start node succeeds. GUARDED_BY(mu) for writes; read-only to the
  // scope's nodes afterwards.
  std::vector<Json> scope_params;
};

}  // namespace sagadb
