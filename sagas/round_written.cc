// SagaDriver, after a round's batch: what it made durable (Applied) or, if it failed, what must go out again
// (Dropped); and when a saga has nothing left to do.
#include <fmt/format.h>

#include "base/clock.h"
#include "sagas/round.h"
#include "sagas/scheduler.h"

namespace sagadb {

ExecutorStats ExecutorCounters::Snapshot() const {
  ExecutorStats s;
  s.started = started.load();
  s.resumed = resumed.load();
  s.succeeded = succeeded.load();
  s.failed = failed.load();
  s.stuck = stuck.load();
  s.paused = paused.load();
  s.cancelled = cancelled.load();
  s.halted = halted.load();
  s.rejected = rejected.load();
  s.action_retries = action_retries.load();
  s.undo_retries = undo_retries.load();
  s.log_retries = log_retries.load();
  s.lock_conflict_retries = lock_conflict_retries.load();
  s.rounds = rounds.load();
  return s;
}

void SagaDriver::Written(const std::shared_ptr<SagaRun>& run, Round& round, const Status& st) {
  {
    MutexLock lock(&run->mu);
    run->round_in_flight = false;
    if (st.ok()) {
      Applied(run, round);
    } else {
      Dropped(run, round, st);
    }
    if (!run->first_round_done && (run->record_durable || run->halted)) {
      run->first_round_done = true;
      run->first_round = run->record_durable ? Status::OK() : *run->halted;
      run->done_cv.SignalAll();
    }
    for (uint32_t i : round.launch) {
      const uint32_t attempt = run->nodes[i].attempts + 1;
      pool_->Submit([this, run, i, attempt] { RunExternal(run, i, attempt); });
    }
    for (uint32_t i : round.launch_undo) {
      const uint32_t attempt = run->nodes[i].undo_attempts + 1;
      pool_->Submit([this, run, i, attempt] { RunExternalUndo(run, i, attempt); });
    }
    if (run->complete) return;
  }
  KickLater(run);
}

void SagaDriver::Applied(const std::shared_ptr<SagaRun>& run, Round& round) {
  counters_->rounds++;
  run->log_attempts = 0;
  run->record_durable = true;
  if (round.record && round.record->generation == run->record.generation) run->record_dirty = false;
  counters_->metrics.RoundWritten(round.events.size());
  const int64_t now = NowNs();
  auto succeeded = [&](uint32_t i) {
    NodeRt& n = run->nodes[i];
    n.status = NodeStatus::kSucceeded;
    counters_->metrics.NodeSucceeded(run->actions[i], now - n.start_ns);
  };
  bool failed = false, undo_failed = false;
  for (uint32_t i : round.staged) succeeded(i);
  for (uint32_t i : round.outcomes) {
    NodeRt& n = run->nodes[i];
    switch (n.outcome->type) {
      case EventType::kSucceeded: succeeded(i); break;
      case EventType::kUndoFinished: n.status = NodeStatus::kUndone; break;
      case EventType::kFailed: failed = true; break;
      case EventType::kUndoFailed: undo_failed = true; break;
      case EventType::kStarted:
      case EventType::kUndoStarted:
      case EventType::kOperator: break;
    }
    n.outcome.reset();
    n.outcome_in_round = false;
  }
  for (uint32_t i : round.starting) {
    NodeRt& n = run->nodes[i];
    n.started_logged = true;
    n.status = NodeStatus::kRunning;
    run->tasks++;
    round.launch.push_back(i);
  }
  for (uint32_t i : round.undone) run->nodes[i].status = NodeStatus::kUndone;
  if (round.cancel) {
    run->cancel.reset();
    run->cancel_in_round = false;
    run->cancel_durable = true;
    counters_->cancelled++;
    failed = true;
    run->done_cv.SignalAll();  // SagaExecutor::Cancel waits for this
  }
  for (uint32_t i : round.undo_starting) {
    NodeRt& n = run->nodes[i];
    n.undo_started_logged = true;
    n.status = NodeStatus::kUndoing;
    run->tasks++;
    round.launch_undo.push_back(i);
  }
  SettlePseudoNodes(*run);
  // The mode changes only now that the record of the change is durable.
  if (failed && run->mode == SagaState::kRunning) run->mode = SagaState::kUnwinding;
  // Paused unless some undo failed for good (a permanent failure turns a paused record stuck).
  if (undo_failed) run->mode = run->record.state == SagaState::kStuck ? SagaState::kStuck : SagaState::kPaused;
  if (round.finish) {
    run->record = *round.record;
    run->record_dirty = false;
    run->mode = *round.finish;
    host_->Complete(run, std::move(round.result));
  }
}

void SagaDriver::Dropped(const std::shared_ptr<SagaRun>& run, Round& round, const Status& st) {
  const bool retry = st.IsRetryable() && !host_->stopping();
  // The local steps' writes are gone with the batch: each runs again. For a step that built on durable state the
  // failed write counts as one of its attempts; one that built on a parent staged in the same round simply
  // runs again after it (its failure could not even be logged before its parent's success).
  for (uint32_t i : round.staged) {
    NodeRt& n = run->nodes[i];
    bool on_durable = true;
    for (uint32_t d : run->record.nodes[i].deps) on_durable = on_durable && run->nodes[d].status == NodeStatus::kSucceeded;
    if (!on_durable) {
      n.attempts--;
      n.status = NodeStatus::kPending;
    } else if (!retry || n.attempts < options_->forward_retry.max_attempts) {
      n.status = NodeStatus::kPending;
      if (retry) counters_->action_retries++;
    } else {
      RecordFailure(*run, i, st, n.attempts);
    }
  }
  for (uint32_t i : round.undone) {
    NodeRt& n = run->nodes[i];
    if (run->record.nodes[i].kind != NodeKind::kAction || !retry ||
        n.undo_attempts < options_->undo_retry.max_attempts) {
      n.status = NodeStatus::kSucceeded;
      if (retry && run->record.nodes[i].kind == NodeKind::kAction) counters_->undo_retries++;
    } else {
      RecordUndoFailure(*run, i, st, n.undo_attempts);
    }
  }
  // Outcomes stay to go out with the next round; what was to start has not.
  for (uint32_t i : round.outcomes) run->nodes[i].outcome_in_round = false;
  if (round.cancel) {
    run->cancel_in_round = false;
    run->done_cv.SignalAll();  // a Cancel waiting for it learns if the saga halted
  }
  for (uint32_t i : round.starting) run->nodes[i].status = NodeStatus::kPending;
  for (uint32_t i : round.undo_starting) run->nodes[i].status = NodeStatus::kSucceeded;
  SettlePseudoNodes(*run);
  run->finishing = false;
  if (!retry || ++run->log_attempts >= options_->log_retry.max_attempts) {
    if (!run->halted) run->halted = st;
    return;
  }
  counters_->log_retries++;
  run->tasks++;
  pool_->SubmitAfter(options_->log_retry.Backoff(run->log_attempts + 1), [this, run] {
    {
      MutexLock lock(&run->mu);
      run->tasks--;
      run->kicked = true;  // before the lock goes: see SagaRun::kicked
    }
    Kick(run);
  });
}

void SagaDriver::MaybeComplete(const std::shared_ptr<SagaRun>& run) {
  if (run->complete || run->driving || run->round_in_flight || run->tasks > 0) return;
  if (run->halted || host_->stopping()) {
    if (!run->halted) run->halted = Status::InvalidRequest("the executor shut down");
    if (!run->first_round_done) {
      run->first_round_done = true;
      run->first_round = *run->halted;
    }
    host_->Complete(run, std::nullopt);
    return;
  }
  if (run->mode == SagaState::kStuck || run->mode == SagaState::kPaused) {
    SagaResult result;
    result.id = run->record.id;
    result.state = run->mode;
    result.error_node = run->record.error_node >= 0 ? run->qualified_names[run->record.error_node] : "";
    result.error = Status::FromCode(run->record.error_code, run->record.error);
    host_->Complete(run, std::move(result));
    return;
  }
  run->halted = Status::Internal("the saga cannot make progress (no node can run or be undone)");
  host_->Complete(run, std::nullopt);
}

}  // namespace sagadb
