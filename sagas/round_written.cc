// SagaDriver, after a round's batch: what it made durable (Applied) or, if it failed, what must go out again
// (Dropped); and when a saga has nothing left to do.
#include <fmt/format.h>

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
  SagaRun& r = *run;
  counters_->rounds++;
  r.log_attempts = 0;
  r.record_durable = true;
  if (round.record && round.record->generation == r.record.generation) r.record_dirty = false;
  bool failed = false, undo_failed = false;
  for (uint32_t i : round.staged) r.nodes[i].status = NodeStatus::kSucceeded;
  for (uint32_t i : round.outcomes) {
    NodeRt& n = r.nodes[i];
    switch (n.outcome->type) {
      case EventType::kSucceeded: n.status = NodeStatus::kSucceeded; break;
      case EventType::kUndoFinished: n.status = NodeStatus::kUndone; break;
      case EventType::kFailed: failed = true; break;
      case EventType::kUndoFailed: undo_failed = true; break;
      case EventType::kStarted:
      case EventType::kUndoStarted: break;
    }
    n.outcome.reset();
    n.outcome_in_round = false;
  }
  for (uint32_t i : round.starting) {
    NodeRt& n = r.nodes[i];
    n.started_logged = true;
    n.status = NodeStatus::kRunning;
    r.tasks++;
    round.launch.push_back(i);
  }
  for (uint32_t i : round.undone) r.nodes[i].status = NodeStatus::kUndone;
  for (uint32_t i : round.undo_starting) {
    NodeRt& n = r.nodes[i];
    n.undo_started_logged = true;
    n.status = NodeStatus::kUndoing;
    r.tasks++;
    round.launch_undo.push_back(i);
  }
  SettlePseudoNodes(r);
  // The mode changes only now that the record of the change is durable.
  if (failed && r.mode == SagaState::kRunning) r.mode = SagaState::kUnwinding;
  if (undo_failed) r.mode = SagaState::kStuck;
  if (round.finish) {
    r.record = *round.record;
    r.record_dirty = false;
    r.mode = *round.finish;
    host_->Complete(run, std::move(round.result));
  }
}

void SagaDriver::Dropped(const std::shared_ptr<SagaRun>& run, Round& round, const Status& st) {
  SagaRun& r = *run;
  const bool retry = st.IsRetryable() && !host_->stopping();
  // The local steps' writes are gone with the batch: each runs again. For a step that built on durable state the
  // failed write counts as one of its attempts; one that built on a parent staged in the same round simply
  // runs again after it (its failure could not even be logged before its parent's success).
  for (uint32_t i : round.staged) {
    NodeRt& n = r.nodes[i];
    bool on_durable = true;
    for (uint32_t d : r.record.nodes[i].deps) on_durable = on_durable && r.nodes[d].status == NodeStatus::kSucceeded;
    if (!on_durable) {
      n.attempts--;
      n.status = NodeStatus::kPending;
    } else if (!retry || n.attempts < options_->forward_retry.max_attempts) {
      n.status = NodeStatus::kPending;
      if (retry) counters_->action_retries++;
    } else {
      RecordFailure(r, i, st, n.attempts);
    }
  }
  for (uint32_t i : round.undone) {
    NodeRt& n = r.nodes[i];
    if (r.record.nodes[i].kind != NodeKind::kAction || !retry ||
        n.undo_attempts < options_->undo_retry.max_attempts) {
      n.status = NodeStatus::kSucceeded;
      if (retry && r.record.nodes[i].kind == NodeKind::kAction) counters_->undo_retries++;
    } else {
      RecordUndoFailure(r, i, st, n.undo_attempts);
    }
  }
  // Outcomes stay to go out with the next round; what was to start has not.
  for (uint32_t i : round.outcomes) r.nodes[i].outcome_in_round = false;
  for (uint32_t i : round.starting) r.nodes[i].status = NodeStatus::kPending;
  for (uint32_t i : round.undo_starting) r.nodes[i].status = NodeStatus::kSucceeded;
  SettlePseudoNodes(r);
  r.finishing = false;
  if (!retry || ++r.log_attempts >= options_->log_retry.max_attempts) {
    if (!r.halted) r.halted = st;
    return;
  }
  counters_->log_retries++;
  r.tasks++;
  pool_->SubmitAfter(options_->log_retry.Backoff(r.log_attempts + 1), [this, run] {
    {
      MutexLock lock(&run->mu);
      run->tasks--;
    }
    Kick(run);
  });
}

void SagaDriver::MaybeComplete(const std::shared_ptr<SagaRun>& run) {
  SagaRun& r = *run;
  if (r.complete || r.driving || r.round_in_flight || r.tasks > 0) return;
  if (r.halted || host_->stopping()) {
    if (!r.halted) r.halted = Status::InvalidRequest("the executor shut down");
    if (!r.first_round_done) {
      r.first_round_done = true;
      r.first_round = *r.halted;
    }
    host_->Complete(run, std::nullopt);
    return;
  }
  if (r.mode == SagaState::kStuck) {
    SagaResult result;
    result.id = r.record.id;
    result.state = SagaState::kStuck;
    result.error_node = r.record.error_node >= 0 ? r.qualified_names[r.record.error_node] : "";
    result.error = Status::FromCode(r.record.error_code, r.record.error);
    host_->Complete(run, std::move(result));
    return;
  }
  r.halted = Status::Internal("the saga cannot make progress (no node can run or be undone)");
  host_->Complete(run, std::nullopt);
}

}  // namespace sagadb
