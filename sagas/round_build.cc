// SagaDriver, building a round: what goes into the saga's next batch, with the local steps run into it.
#include <fmt/format.h>

#include "base/clock.h"
#include "sagas/round.h"
#include "sagas/scheduler.h"

namespace sagadb {
namespace {

bool IsAction(const DagNode& n) { return n.kind == NodeKind::kAction; }

// Runs user code; an exception becomes an Internal error instead of escaping into the pool.
template <typename F>
auto Invoke(const F& fn, ActionContext& ctx, std::string_view what) -> decltype(fn(ctx)) {
  try {
    return fn(ctx);
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("{} threw: {}", what, e.what()));
  } catch (...) {
    return Status::Internal(fmt::format("{} threw a non-standard exception", what));
  }
}

}  // namespace

SagaEvent MakeEvent(uint32_t node, EventType type, uint32_t attempts, int64_t start_ns) {
  SagaEvent e;
  e.node = node;
  e.type = type;
  e.attempts = attempts;
  e.start_ns = start_ns;
  e.time_ns = NowNs();
  return e;
}

SagaEvent ErrorEvent(uint32_t node, EventType type, const Status& error, uint32_t attempts, int64_t start_ns) {
  SagaEvent e = MakeEvent(node, type, attempts, start_ns);
  e.error_code = static_cast<uint8_t>(error.code());
  e.error = error.message();
  return e;
}

void SagaDriver::Kick(const std::shared_ptr<SagaRun>& run) {
  {
    MutexLock lock(&run->mu);
    if (run->driving || run->round_in_flight) {
      run->kicked = true;  // the round under way is followed by another
      return;
    }
    run->driving = true;
  }
  for (;;) {
    auto round = std::make_shared<Round>();
    const bool any = Build(run, round.get());
    {
      MutexLock lock(&run->mu);
      if (!any) {
        if (run->kicked) continue;  // something arrived while building: look again (still driving)
        run->driving = false;
        MaybeComplete(run);
        return;
      }
      run->driving = false;
      run->round_in_flight = true;
    }
    LogWrite write;
    write.txn = std::move(round->txn);
    write.events = round->events;
    write.record = round->record;
    // `run` is held until Submit returns (the queue is part of it; see log/commit_queue.h).
    run->commits.Submit(std::move(write), [this, run, round](Status st) { Written(run, *round, st); });
    return;
  }
}

void SagaDriver::KickLater(const std::shared_ptr<SagaRun>& run) {
  pool_->Submit([this, run] { Kick(run); });
}

bool SagaDriver::Build(const std::shared_ptr<SagaRun>& run, Round* round) {
  MutexLock lock(&run->mu);
  run->kicked = false;
  if (run->complete || run->halted) return false;
  round->txn = std::make_unique<WriteTxn>(store_, locks_);
  CollectOutcomes(*run, round);
  if (!host_->stopping()) {
    if (run->mode == SagaState::kRunning) {
      BuildForward(run, round);
    } else if (run->mode == SagaState::kUnwinding) {
      BuildUnwind(run, round);
    }
  }
  CollectOutcomes(*run, round);  // failures this round's own steps recorded
  if (run->halted) return false;  // a test seam found a step that is not idempotent: nothing more is written
  round->creates = !run->record_durable;
  if (!round->finish && (run->record_dirty || round->creates)) round->record = run->record;
  for (uint32_t i : round->launch) {
    const uint32_t attempt = run->nodes[i].attempts + 1;
    pool_->Submit([this, run, i, attempt] { RunExternal(run, i, attempt); });
  }
  for (uint32_t i : round->launch_undo) {
    const uint32_t attempt = run->nodes[i].undo_attempts + 1;
    pool_->Submit([this, run, i, attempt] { RunExternalUndo(run, i, attempt); });
  }
  round->launch.clear();
  round->launch_undo.clear();
  return !round->events.empty() || !round->txn->empty() || round->record.has_value();
}

void SagaDriver::CollectOutcomes(SagaRun& run, Round* round) {
  if (run.cancel && !run.cancel_in_round) {
    run.cancel_in_round = true;
    round->events.push_back(*run.cancel);
    round->cancel = true;
  }
  for (uint32_t i = 0; i < run.nodes.size(); ++i) {
    NodeRt& n = run.nodes[i];
    if (!n.outcome || n.outcome_in_round) continue;
    n.outcome_in_round = true;
    round->events.push_back(*n.outcome);
    round->outcomes.push_back(i);
  }
}

void SagaDriver::BuildForward(const std::shared_ptr<SagaRun>& run, Round* round) {
  bool locals = true;  // false once a local step met a record lock out of order: this round must commit first
  for (bool progress = true; progress && !run->failing;) {
    progress = false;
    // An external step that ended while a local one ran (the saga's lock released) may have made children
    // ready: its outcome goes into the batch before theirs, as the log's order requires.
    CollectOutcomes(*run, round);
    ResolvePseudoNodes(*run);
    for (uint32_t i : ReadyToRun(*run)) {
      NodeRt& n = run->nodes[i];
      if (run->actions[i]->kind == ActionKind::kLocal) {
        if (!locals) continue;
        locals = RunLocal(run, i, round);
        progress = true;
        if (run->failing) break;
      } else if (n.started_logged) {
        // Recovered: its `started` is durable already, so it may run at once.
        n.status = NodeStatus::kRunning;
        run->tasks++;
        round->launch.push_back(i);
      } else {
        n.status = NodeStatus::kStarting;
        round->events.push_back(MakeEvent(i, EventType::kStarted, 0, NowNs()));
        round->starting.push_back(i);
      }
    }
  }
  ResolvePseudoNodes(*run);
  if (!run->failing && !run->finishing && AllRan(*run)) Finish(*run, SagaState::kSucceeded, round);
}

void SagaDriver::BuildUnwind(const std::shared_ptr<SagaRun>& run, Round* round) {
  if (run->stopping) return;
  for (uint32_t i : StartedButUnfinished(*run)) {
    // Started before a crash, outcome unknown: it runs to its end first, then it is undone.
    run->nodes[i].status = NodeStatus::kRunning;
    run->tasks++;
    round->launch.push_back(i);
  }
  bool locals = true;
  for (bool progress = true; progress && !run->stopping;) {
    progress = false;
    CollectOutcomes(*run, round);  // an external undo that ended frees its parents, its event first
    for (uint32_t i : ReadyToUndo(*run)) {
      NodeRt& n = run->nodes[i];
      if (!IsAction(run->record.nodes[i])) {
        // No step of its own and nothing in the log: undone with its children. Once theirs are durable it is
        // undone at once; staged with them otherwise. (Staged with nothing to write, it would wait for a round
        // that never comes.)
        bool with_round = false;
        for (uint32_t c : run->children[i]) with_round |= run->nodes[c].status == NodeStatus::kUndoStaged;
        n.status = with_round ? NodeStatus::kUndoStaged : NodeStatus::kUndone;
        if (with_round) round->undone.push_back(i);
        progress = true;
      } else if (run->actions[i]->kind == ActionKind::kLocal) {
        if (!locals) continue;
        locals = RunLocalUndo(run, i, round);
        progress = true;
        if (run->stopping) break;
      } else if (n.undo_started_logged) {
        n.status = NodeStatus::kUndoing;
        run->tasks++;
        round->launch_undo.push_back(i);
      } else {
        n.status = NodeStatus::kUndoStarting;
        round->events.push_back(MakeEvent(i, EventType::kUndoStarted, 0, NowNs()));
        round->undo_starting.push_back(i);
      }
    }
  }
  if (run->stopping || run->finishing) return;
  // Unwound, counting what this round undoes: the final record commits with the last undos.
  for (const auto& n : run->nodes) {
    const bool done = n.status == NodeStatus::kFailed || n.status == NodeStatus::kUndone ||
                      n.status == NodeStatus::kUndoStaged ||
                      (n.status == NodeStatus::kPending && !n.started_logged);
    if (!done) return;
  }
  Finish(*run, SagaState::kFailed, round);
}

void SagaDriver::Finish(SagaRun& r, SagaState state, Round* round) {
  r.finishing = true;
  SagaRecord record = r.record;
  SagaResult& result = round->result;
  result.id = record.id;
  result.state = state;
  if (state == SagaState::kSucceeded) {
    // The saga's output: its single last node's, if it has one.
    int32_t last = -1;
    int sinks = 0;
    for (uint32_t i = 0; i < r.nodes.size(); ++i) {
      if (record.nodes[i].scope == 0 && r.children[i].empty()) {
        last = static_cast<int32_t>(i);
        sinks++;
      }
    }
    if (sinks == 1) result.output = *r.nodes[last].output;
    record.output = result.output.dump();
  } else {
    // The failure that began the unwind: a node's, or an operator's cancel (which names no node).
    if (record.error_node >= 0) result.error_node = r.qualified_names[record.error_node];
    if (record.error_code != 0) result.error = Status::FromCode(record.error_code, record.error);
  }
  record.state = state;
  record.modified_ns = record.finished_ns = NowNs();
  record.generation++;
  round->record = std::move(record);
  round->finish = state;
}

bool SagaDriver::RunLocal(const std::shared_ptr<SagaRun>& run, uint32_t i, Round* round) {
  NodeRt& n = run->nodes[i];
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const uint32_t attempt = n.attempts + 1;
  const auto plan = host_->faults();
  n.status = NodeStatus::kRunning;
  WriteTxn& txn = *round->txn;

  // The action runs without the saga's lock: it is user code, and may wait for record locks.
  run->mu.Unlock();
  const int64_t start_ns = NowNs();
  const WriteTxn::Mark mark = txn.mark();
  ActionContext ctx(run.get(), i, &txn, store_, attempt);
  auto injected = plan ? plan->TakeActionFault(name) : std::nullopt;
  Result<Json> out = injected ? Result<Json>(*injected) : Invoke(def.action, ctx, "action");
  const bool conflict = !out.ok() && txn.lock_conflict();
  if (out.ok() && plan) {
    if (auto after = plan->TakeAfterStageFault(name)) out = *after;
  }
  if (!out.ok()) txn.RollbackTo(mark);  // nothing of a failed step survives
  Status twice;
  if (out.ok() && plan && plan->ActionTwice(name)) {
    // Test seam: the action runs again over its own effects, as recovery would run it after a crash.
    ActionContext again(run.get(), i, &txn, store_, attempt + 1);
    Result<Json> second = Invoke(def.action, again, "action");
    if (!second.ok()) twice = second.status();
  }
  run->mu.Lock();
  if (!twice.ok()) {
    run->halted = Status::Internal(fmt::format("action of {} is not idempotent: its second run failed: {}", name,
                                            twice.ToString()));
    n.status = NodeStatus::kPending;
    return false;
  }

  if (out.ok()) {
    n.attempts = attempt;
    n.start_ns = start_ns;
    n.status = NodeStatus::kStaged;
    SagaEvent e = MakeEvent(i, EventType::kSucceeded, attempt, start_ns);
    e.output = out->dump();
    n.output = std::make_shared<const Json>(std::move(*out));
    round->events.push_back(std::move(e));
    round->staged.push_back(i);
    return true;
  }
  const Status& error = out.status();
  if (conflict && n.lock_conflicts < kMaxLockConflictRetries && !host_->stopping()) {
    // Not the step's failure: it runs again, in a later round, once this one has given its locks back.
    counters_->lock_conflict_retries++;
    RetryAfter(run, i, LockConflictPause(n));
    return false;
  }
  if (error.IsRetryable() && attempt < options_->forward_retry.max_attempts && !host_->stopping()) {
    n.attempts = attempt;
    counters_->action_retries++;
    RetryAfter(run, i, options_->forward_retry.Backoff(attempt + 1));
    return true;
  }
  if (host_->stopping()) {
    n.status = NodeStatus::kPending;  // not run: recovery runs it at the next open
    return true;
  }
  for (uint32_t d : run->record.nodes[i].deps) {
    if (run->nodes[d].status != NodeStatus::kSucceeded) {
      // It failed on a parent staged in this very round. Were this round then lost, its failure would reach
      // the log before its parent's success: so it runs again once this round (and the parent) is durable,
      // and only a failure there is recorded.
      n.status = NodeStatus::kPending;
      return false;
    }
  }
  RecordFailure(*run, i, error, attempt);
  return true;
}

bool SagaDriver::RunLocalUndo(const std::shared_ptr<SagaRun>& run, uint32_t i, Round* round) {
  NodeRt& n = run->nodes[i];
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const uint32_t attempt = n.undo_attempts + 1;
  const auto plan = host_->faults();
  n.status = NodeStatus::kUndoing;
  WriteTxn& txn = *round->txn;

  run->mu.Unlock();
  const int64_t start_ns = NowNs();
  const WriteTxn::Mark mark = txn.mark();
  ActionContext ctx(run.get(), i, &txn, store_, attempt);
  auto injected = plan ? plan->TakeUndoFault(name) : std::nullopt;
  Status st = injected ? *injected : (def.undo ? Invoke(def.undo, ctx, "undo") : Status::OK());
  const bool conflict = !st.ok() && txn.lock_conflict();
  if (!st.ok()) txn.RollbackTo(mark);
  Status twice;
  if (st.ok() && plan && plan->UndoTwice(name) && def.undo) {
    ActionContext again(run.get(), i, &txn, store_, attempt + 1);
    twice = Invoke(def.undo, again, "undo");
  }
  run->mu.Lock();
  if (!twice.ok()) {
    run->halted = Status::Internal(fmt::format("undo of {} is not idempotent: its second run failed: {}", name,
                                            twice.ToString()));
    n.status = NodeStatus::kSucceeded;
    return false;
  }

  if (st.ok()) {
    n.undo_attempts = attempt;
    n.status = NodeStatus::kUndoStaged;
    round->events.push_back(MakeEvent(i, EventType::kUndoFinished, attempt, start_ns));
    round->undone.push_back(i);
    return true;
  }
  if (conflict && n.lock_conflicts < kMaxLockConflictRetries && !host_->stopping()) {
    counters_->lock_conflict_retries++;
    RetryAfter(run, i, LockConflictPause(n));
    return false;
  }
  if (st.IsRetryable() && attempt < options_->undo_retry.max_attempts && !host_->stopping()) {
    n.undo_attempts = attempt;
    counters_->undo_retries++;
    RetryAfter(run, i, options_->undo_retry.Backoff(attempt + 1));
    return true;
  }
  if (host_->stopping()) {
    n.status = NodeStatus::kSucceeded;  // still to undo: recovery does it at the next open
    return true;
  }
  for (uint32_t c : run->children[i]) {
    if (run->nodes[c].status == NodeStatus::kUndoStaged) {
      // Its child was undone in this very round: only once that is durable may the failure be logged.
      n.status = NodeStatus::kSucceeded;
      return false;
    }
  }
  if (st.IsRetryable()) {
    st = Status::FromCode(static_cast<uint8_t>(st.code()),
                          fmt::format("{} (gave up after {} attempts)", st.message(), attempt));
  }
  RecordUndoFailure(*run, i, st, attempt);
  return true;
}

}  // namespace sagadb
