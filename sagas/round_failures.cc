// SagaDriver, when a step does not succeed: a retry after a backoff (a task of the saga), or its failure for
// good, which joins the next round with the saga's new state (unwinding; paused or stuck for an undo).
#include <fmt/format.h>

#include "base/clock.h"
#include "sagas/round.h"

namespace sagadb {

std::chrono::microseconds SagaDriver::LockConflictPause(NodeRt& n) {
  ++n.lock_conflicts;
  // The holder of the busy stripe is committing; give it a moment rather than spinning.
  return std::chrono::microseconds(20 * std::min<uint32_t>(n.lock_conflicts, 50));
}

void SagaDriver::RetryAfter(const std::shared_ptr<SagaRun>& run, uint32_t i, std::chrono::microseconds delay) {
  NodeRt& n = run->nodes[i];
  const bool undo = n.status == NodeStatus::kUndoing;
  n.status = undo ? NodeStatus::kUndoWaiting : NodeStatus::kWaiting;
  run->tasks++;
  pool_->SubmitAfter(delay, [this, run, i, undo] {
    {
      MutexLock lock(&run->mu);
      run->tasks--;
      run->kicked = true;  // before the lock goes: see SagaRun::kicked
      run->nodes[i].status = undo ? NodeStatus::kSucceeded : NodeStatus::kPending;
    }
    Kick(run);
  });
}

void SagaDriver::RecordFailure(SagaRun& r, uint32_t i, const Status& error, uint32_t attempts) {
  NodeRt& n = r.nodes[i];
  n.attempts = attempts;
  n.status = NodeStatus::kFailed;
  n.outcome = ErrorEvent(i, EventType::kFailed, error, attempts, 0);
  r.failing = true;
  if (r.record.state == SagaState::kRunning) {  // the first failure (a cancel before it is the saga's error)
    r.record.state = SagaState::kUnwinding;
    r.record.error_node = static_cast<int32_t>(i);
    r.record.error_code = static_cast<uint8_t>(error.code());
    r.record.error = error.message();
    r.record.modified_ns = NowNs();
    r.record.generation++;
    r.record_dirty = true;
  }
}

void SagaDriver::RecordUndoFailure(SagaRun& r, uint32_t i, const Status& error, uint32_t attempts) {
  NodeRt& n = r.nodes[i];
  n.undo_attempts = attempts;
  n.status = NodeStatus::kUndoFailed;
  n.outcome = ErrorEvent(i, EventType::kUndoFailed, error, attempts, 0);
  r.stopping = true;
  // Retries that ran out may pass later: the saga pauses for the next open or an operator's resume. A permanent
  // failure makes it stuck, even if another undo paused it first.
  const SagaState state = error.IsRetryable() ? SagaState::kPaused : SagaState::kStuck;
  if (r.record.state != SagaState::kStuck && r.record.state != state) {
    r.record.state = state;
    r.record.error_node = static_cast<int32_t>(i);
    r.record.error_code = static_cast<uint8_t>(error.code());
    r.record.error = fmt::format("undo of {} failed: {}", r.qualified_names[i], error.message());
    r.record.modified_ns = NowNs();
    r.record.finished_ns = state == SagaState::kStuck ? r.record.modified_ns : 0;
    r.record.generation++;
    r.record_dirty = true;
  }
}

}  // namespace sagadb
