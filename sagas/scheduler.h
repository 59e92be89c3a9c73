// The scheduler: what a saga can do next, decided from its nodes' states. It only decides; the executor runs
// what it decides.
//
//   MutexLock lock(&run.mu);
//   SchedulePlan plan = Schedule(run, executor_stopping);
//   for (uint32_t node : plan.forward) ... run the node's action
//
// Forward (mode running): every pending node whose dependencies have succeeded is started; constant and
// subsaga nodes resolve at once. When every node has succeeded the saga finishes as succeeded.
// Unwinding: a node's undo starts once every child of it has nothing left to undo (never run, failed, or
// undone), so undos run children first; a node whose `started` is durable but whose outcome is not is run to
// its end first (then undone). When nothing is left to undo the saga finishes as failed. Nodes still in flight
// when the failure was seen finish before their undo.
// Stuck (an undo failed for good) or halted (the log cannot be written, or the executor is stopping): nothing
// new starts, and the saga completes once its steps in flight have ended.
#pragma once

#include <optional>
#include <vector>

#include "sagas/saga_run.h"

namespace sagadb {

struct SchedulePlan {
  std::vector<uint32_t> forward;    // nodes to run, now kRunning
  std::vector<uint32_t> undo;       // nodes to undo, now kUndoing
  std::optional<SagaState> finish;  // write the final record (kSucceeded or kFailed); `finishing` is now set
  // Nothing more will happen: the run completes, with `result` (a stuck saga), or halted (no result).
  bool complete = false;
  std::optional<SagaResult> result;
};

// Decides, and records the decision in `run`: the chosen nodes' statuses change, `finishing` is set for a
// finish, and run.tasks counts every step planned. When `complete` is returned, `run.halted` says why if there
// is no result. REQUIRES: run.mu held, run not complete.
SchedulePlan Schedule(SagaRun& run, bool stopping) REQUIRES(run.mu);

// Resolves a constant or subsaga node whose dependencies have succeeded: its output, and for a subsaga's start
// node the scope's params. REQUIRES: run.mu held.
void ResolvePseudoNode(SagaRun& run, uint32_t node) REQUIRES(run.mu);

}  // namespace sagadb
