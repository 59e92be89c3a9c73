// StepRunner, forward: a node's action, its retries, and the record of its outcome.
#include <fmt/format.h>

#include "base/clock.h"
#include "engine/write_txn.h"
#include "sagas/step_runner.h"

namespace sagadb {
namespace {

// Runs user code; an exception becomes an Internal error instead of escaping into the pool.
template <typename F>
auto Invoke(const F& fn, ActionContext& ctx) -> decltype(fn(ctx)) {
  try {
    return fn(ctx);
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("action threw: {}", e.what()));
  } catch (...) {
    return Status::Internal("action threw a non-standard exception");
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
  return s;
}

void StepRunner::CommitLog(std::shared_ptr<SagaRun> run, std::vector<SagaEvent> events,
                           std::optional<SagaRecord> record, std::function<void(Status)> then, uint32_t attempt) {
  LogWrite w;
  w.events = events;
  w.record = record;
  // `run` stays referenced here until Submit returns: the completion may drop the last other reference, and the
  // queue is part of the run.
  run->commits.Submit(std::move(w), [this, run, events = std::move(events), record = std::move(record),
                                     then = std::move(then), attempt](Status st) mutable {
    if (st.ok() || !st.IsRetryable() || attempt >= options_->log_retry.max_attempts) return then(st);
    counters_->log_retries++;
    pool_->SubmitAfter(options_->log_retry.Backoff(attempt + 1), [this, run = std::move(run), events = std::move(events),
                                                                  record = std::move(record), then = std::move(then),
                                                                  attempt]() mutable {
      CommitLog(std::move(run), std::move(events), std::move(record), std::move(then), attempt + 1);
    });
  });
}

void StepRunner::LogStartThen(std::shared_ptr<SagaRun> run, uint32_t i, EventType type, bool NodeRt::*logged,
                              std::function<void()> then) {
  bool already;
  {
    MutexLock lock(&run->mu);
    already = run->nodes[i].*logged;  // recovered: the log has it already
  }
  if (already) return then();
  CommitLog(run, {MakeEvent(i, type, 0, NowNs())}, std::nullopt,
            [this, run, i, logged, then = std::move(then)](Status st) {
              if (!st.ok()) return host_->Halt(run, st);
              {
                MutexLock lock(&run->mu);
                run->nodes[i].*logged = true;
              }
              pool_->Submit(then);
            });
}

void StepRunner::RunForward(std::shared_ptr<SagaRun> run, uint32_t i) {
  if (run->actions[i]->kind == ActionKind::kLocal) return RunLocalForward(std::move(run), i, 1, 0);
  LogStartThen(run, i, EventType::kStarted, &NodeRt::started_logged,
               [this, run, i] { RunExternalForward(run, i, 1); });
}

void StepRunner::RunExternalForward(std::shared_ptr<SagaRun> run, uint32_t i, uint32_t attempt) {
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const auto plan = host_->faults();
  const int64_t start_ns = NowNs();
  ActionContext ctx(run.get(), i, nullptr, store_, attempt);
  auto injected = plan ? plan->TakeActionFault(name) : std::nullopt;
  Result<Json> out = injected ? Result<Json>(*injected) : Invoke(def.action, ctx);
  if (out.ok() && plan && plan->ActionTwice(name)) out = Invoke(def.action, ctx);
  if (out.ok() && plan) {
    if (auto after = plan->TakeAfterEffectFault(name)) {
      // The effect happened and the step fails before recording it (FaultPlan::FailAfterEffect): the node will
      // not be undone by the unwind, so its undo takes the effect back now, seeing the action's output.
      {
        MutexLock lock(&run->mu);
        run->nodes[i].output = *out;
      }
      const Status undone = def.undo ? Invoke(def.undo, ctx) : Status::OK();
      out = undone.ok() ? *after
                        : Status::FromCode(static_cast<uint8_t>(after->code()),
                                           fmt::format("{}; its undo, taking the effect back, failed: {}",
                                                       after->message(), undone.ToString()));
    }
  }
  if (out.ok()) {
    SagaEvent e = MakeEvent(i, EventType::kSucceeded, attempt, start_ns);
    e.output = out->dump();
    CommitLog(run, {std::move(e)}, std::nullopt, [this, run, i, attempt, output = std::move(*out)](Status st) mutable {
      if (!st.ok()) return host_->Halt(run, st);
      MarkSucceeded(run, i, attempt, std::move(output));
    });
    return;
  }
  if (!RetryForward(run, i, out.status(), attempt)) return;
  pool_->SubmitAfter(options_->forward_retry.Backoff(attempt + 1),
                     [this, run, i, attempt] { RunExternalForward(run, i, attempt + 1); });
}

void StepRunner::RunLocalForward(std::shared_ptr<SagaRun> run, uint32_t i, uint32_t attempt,
                                 uint32_t lock_conflicts) {
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const auto plan = host_->faults();
  const int64_t start_ns = NowNs();
  auto txn = std::make_unique<WriteTxn>(store_, locks_);
  ActionContext ctx(run.get(), i, txn.get(), store_, attempt);
  auto injected = plan ? plan->TakeActionFault(name) : std::nullopt;
  Result<Json> out = injected ? Result<Json>(*injected) : Invoke(def.action, ctx);
  const bool lock_conflict = !out.ok() && txn->lock_conflict();
  if (out.ok() && plan) {
    if (auto after = plan->TakeAfterStageFault(name)) out = *after;  // the staged writes die with txn
  }
  if (out.ok()) {
    // The effects and the `succeeded` record go out in one batch; this thread does not wait for it.
    LogWrite w;
    w.txn = std::move(txn);
    SagaEvent e = MakeEvent(i, EventType::kSucceeded, attempt, start_ns);
    e.output = out->dump();
    w.events.push_back(std::move(e));
    run->commits.Submit(std::move(w), [this, run, i, attempt, lock_conflicts,
                                       output = std::move(*out)](Status commit) mutable {
      FinishLocalForward(run, i, attempt, lock_conflicts, std::move(output), commit);
    });
    return;
  }
  txn.reset();  // nothing of a failed action survives, and its locks go before any retry
  std::chrono::microseconds pause{0};
  if (lock_conflict && RetryLockConflict(&lock_conflicts, &pause)) {
    // A record lock taken out of order says nothing about the action: the same attempt runs again.
    pool_->SubmitAfter(pause, [this, run, i, attempt, lock_conflicts] {
      RunLocalForward(run, i, attempt, lock_conflicts);
    });
    return;
  }
  if (!RetryForward(run, i, out.status(), attempt)) return;
  pool_->SubmitAfter(options_->forward_retry.Backoff(attempt + 1), [this, run, i, attempt, lock_conflicts] {
    RunLocalForward(run, i, attempt + 1, lock_conflicts);
  });
}

void StepRunner::FinishLocalForward(const std::shared_ptr<SagaRun>& run, uint32_t i, uint32_t attempt,
                                    uint32_t lock_conflicts, Json output, const Status& commit) {
  const std::string& name = run->qualified_names[i];
  if (commit.ok()) {
    const auto plan = host_->faults();
    if (plan && plan->ActionTwice(name)) {
      // Idempotency check: the action runs again over its own committed effects.
      WriteTxn again(store_, locks_);
      ActionContext ctx(run.get(), i, &again, store_, attempt + 1);
      auto second = Invoke(run->actions[i]->action, ctx);
      Status st = second.ok() ? (again.empty() ? Status::OK() : again.Commit()) : second.status();
      if (!st.ok()) {
        return host_->Halt(run, Status::Internal(fmt::format(
                                    "action of {} is not idempotent: its second run failed: {}", name, st.ToString())));
      }
    }
    MarkSucceeded(run, i, attempt, std::move(output));
    return;
  }
  // Nothing of the node was written.
  if (!commit.IsRetryable()) return host_->Halt(run, commit);
  if (!RetryForward(run, i, commit, attempt)) return;
  pool_->SubmitAfter(options_->forward_retry.Backoff(attempt + 1), [this, run, i, attempt, lock_conflicts] {
    RunLocalForward(run, i, attempt + 1, lock_conflicts);
  });
}

void StepRunner::MarkSucceeded(const std::shared_ptr<SagaRun>& run, uint32_t i, uint32_t attempt, Json output) {
  MutexLock lock(&run->mu);
  run->nodes[i].output = std::move(output);
  run->nodes[i].attempts = attempt;
  run->nodes[i].status = NodeStatus::kSucceeded;
  host_->StepDone(run);
}

bool StepRunner::RetryForward(const std::shared_ptr<SagaRun>& run, uint32_t i, const Status& error,
                              uint32_t attempt) {
  if (error.IsRetryable() && attempt < options_->forward_retry.max_attempts && !host_->stopping()) {
    counters_->action_retries++;
    return true;
  }
  if (host_->stopping()) {
    MutexLock lock(&run->mu);
    run->nodes[i].status = NodeStatus::kPending;  // not run: recovery runs it at the next open
    host_->StepDone(run);
    return false;
  }
  RecordFailure(run, i, error, attempt);
  return false;
}

bool StepRunner::RetryLockConflict(uint32_t* conflicts, std::chrono::microseconds* pause) {
  if (host_->stopping() || *conflicts >= kMaxLockConflictRetries) return false;
  ++*conflicts;
  counters_->lock_conflict_retries++;
  // The holder of the busy stripe is committing; give it a moment rather than spinning.
  *pause = std::chrono::microseconds(20 * std::min<uint32_t>(*conflicts, 50));
  return true;
}

void StepRunner::RecordFailure(const std::shared_ptr<SagaRun>& run, uint32_t i, const Status& error,
                               uint32_t attempts) {
  std::optional<SagaRecord> record;
  {
    MutexLock lock(&run->mu);
    run->failing = true;
    if (run->record.error_node < 0) {
      run->record.state = SagaState::kUnwinding;
      run->record.error_node = static_cast<int32_t>(i);
      run->record.error_code = static_cast<uint8_t>(error.code());
      run->record.error = error.message();
      run->record.modified_ns = NowNs();
      run->record.generation++;
      record = run->record;
    }
  }
  CommitLog(run, {ErrorEvent(i, EventType::kFailed, error, attempts, 0)}, std::move(record),
            [this, run, i, attempts](Status st) {
              if (!st.ok()) return host_->Halt(run, st);
              MutexLock lock(&run->mu);
              run->nodes[i].status = NodeStatus::kFailed;
              run->nodes[i].attempts = attempts;
              if (run->mode == SagaState::kRunning) run->mode = SagaState::kUnwinding;
              host_->StepDone(run);
            });
}

}  // namespace sagadb
