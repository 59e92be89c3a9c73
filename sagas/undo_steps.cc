// StepRunner, unwinding and finishing: a node's undo, its retries, what a failed undo leaves (a stuck saga), and
// the saga's final record.
#include <fmt/format.h>

#include "base/clock.h"
#include "engine/write_txn.h"
#include "sagas/step_runner.h"

namespace sagadb {
namespace {

Status InvokeUndo(const ActionDef& def, ActionContext& ctx) {
  if (!def.undo) return Status::OK();
  try {
    return def.undo(ctx);
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("undo threw: {}", e.what()));
  } catch (...) {
    return Status::Internal("undo threw a non-standard exception");
  }
}

}  // namespace

void StepRunner::RunUndo(std::shared_ptr<SagaRun> run, uint32_t i) {
  if (run->actions[i]->kind == ActionKind::kLocal) return RunUndoAttempt(std::move(run), i, 1, 0);
  LogStartThen(run, i, EventType::kUndoStarted, &NodeRt::undo_started_logged,
               [this, run, i] { RunUndoAttempt(run, i, 1, 0); });
}

void StepRunner::RunUndoAttempt(std::shared_ptr<SagaRun> run, uint32_t i, uint32_t attempt, uint32_t lock_conflicts) {
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const auto plan = host_->faults();
  const int64_t start_ns = NowNs();
  auto injected = plan ? plan->TakeUndoFault(name) : std::nullopt;

  if (def.kind == ActionKind::kExternal) {
    ActionContext ctx(run.get(), i, nullptr, store_, attempt);
    Status st = injected ? *injected : InvokeUndo(def, ctx);
    if (st.ok() && plan && plan->UndoTwice(name)) st = InvokeUndo(def, ctx);
    if (!st.ok()) return UndoAttemptFailed(run, i, std::move(st), attempt, lock_conflicts);
    CommitLog(run, {MakeEvent(i, EventType::kUndoFinished, attempt, start_ns)}, std::nullopt,
              [this, run, i, attempt](Status logged) {
                if (!logged.ok()) return host_->Halt(run, logged);
                UndoSucceeded(run, i, attempt);
              });
    return;
  }

  auto txn = std::make_unique<WriteTxn>(store_, locks_);
  ActionContext ctx(run.get(), i, txn.get(), store_, attempt);
  Status st = injected ? *injected : InvokeUndo(def, ctx);
  if (!st.ok()) {
    const bool lock_conflict = txn->lock_conflict();
    txn.reset();  // its locks go before any retry
    std::chrono::microseconds pause{0};
    if (lock_conflict && RetryLockConflict(&lock_conflicts, &pause)) {
      pool_->SubmitAfter(pause, [this, run, i, attempt, lock_conflicts] {
        RunUndoAttempt(run, i, attempt, lock_conflicts);
      });
      return;
    }
    return UndoAttemptFailed(run, i, std::move(st), attempt, lock_conflicts);
  }
  // The undo's writes and its `undo_finished` go out in one batch.
  LogWrite w;
  w.txn = std::move(txn);
  w.events.push_back(MakeEvent(i, EventType::kUndoFinished, attempt, start_ns));
  run->commits.Submit(std::move(w), [this, run, i, attempt, lock_conflicts](Status commit) {
    if (!commit.ok()) {
      if (!commit.IsRetryable()) return host_->Halt(run, commit);
      return UndoAttemptFailed(run, i, commit, attempt, lock_conflicts);
    }
    const auto plan = host_->faults();
    if (plan && plan->UndoTwice(run->qualified_names[i])) {
      // Idempotency check: the undo runs again over its own committed effects.
      WriteTxn again(store_, locks_);
      ActionContext ctx2(run.get(), i, &again, store_, attempt + 1);
      Status second = InvokeUndo(*run->actions[i], ctx2);
      if (second.ok() && !again.empty()) second = again.Commit();
      if (!second.ok()) {
        return host_->Halt(run, Status::Internal(fmt::format("undo of {} is not idempotent: its second run failed: {}",
                                                             run->qualified_names[i], second.ToString())));
      }
    }
    UndoSucceeded(run, i, attempt);
  });
}

void StepRunner::UndoSucceeded(const std::shared_ptr<SagaRun>& run, uint32_t i, uint32_t attempt) {
  MutexLock lock(&run->mu);
  run->nodes[i].undo_attempts = attempt;
  run->nodes[i].status = NodeStatus::kUndone;
  host_->StepDone(run);
}

void StepRunner::UndoAttemptFailed(const std::shared_ptr<SagaRun>& run, uint32_t i, Status error, uint32_t attempt,
                                   uint32_t lock_conflicts) {
  if (error.IsRetryable() && attempt < options_->undo_retry.max_attempts && !host_->stopping()) {
    counters_->undo_retries++;
    pool_->SubmitAfter(options_->undo_retry.Backoff(attempt + 1), [this, run, i, attempt, lock_conflicts] {
      RunUndoAttempt(run, i, attempt + 1, lock_conflicts);
    });
    return;
  }
  if (host_->stopping()) {
    MutexLock lock(&run->mu);
    run->nodes[i].status = NodeStatus::kSucceeded;  // still to undo: recovery does it at the next open
    host_->StepDone(run);
    return;
  }
  if (error.IsRetryable()) {
    error = Status::FromCode(static_cast<uint8_t>(error.code()),
                             fmt::format("{} (gave up after {} attempts)", error.message(), attempt));
  }
  RecordUndoFailure(run, i, error, attempt);
}

void StepRunner::RecordUndoFailure(const std::shared_ptr<SagaRun>& run, uint32_t i, const Status& error,
                                   uint32_t attempts) {
  std::optional<SagaRecord> record;
  {
    MutexLock lock(&run->mu);
    run->stopping = true;
    if (run->record.state != SagaState::kStuck) {
      run->record.state = SagaState::kStuck;
      run->record.error_node = static_cast<int32_t>(i);
      run->record.error_code = static_cast<uint8_t>(error.code());
      run->record.error = fmt::format("undo of {} failed: {}", run->qualified_names[i], error.message());
      run->record.modified_ns = run->record.finished_ns = NowNs();
      run->record.generation++;
      record = run->record;
    }
  }
  CommitLog(run, {ErrorEvent(i, EventType::kUndoFailed, error, attempts, 0)}, std::move(record),
            [this, run, i, attempts](Status st) {
              if (!st.ok()) return host_->Halt(run, st);
              MutexLock lock(&run->mu);
              run->nodes[i].status = NodeStatus::kUndoFailed;
              run->nodes[i].undo_attempts = attempts;
              run->mode = SagaState::kStuck;
              host_->StepDone(run);
            });
}

void StepRunner::RunFinish(std::shared_ptr<SagaRun> run, SagaState state) {
  SagaRecord record;
  Json output;
  {
    MutexLock lock(&run->mu);
    if (state == SagaState::kSucceeded) {
      // The saga's output: its single last node's, if it has one.
      int32_t last = -1;
      int sinks = 0;
      for (uint32_t i = 0; i < run->nodes.size(); ++i) {
        if (run->record.nodes[i].scope == 0 && run->children[i].empty()) {
          last = static_cast<int32_t>(i);
          sinks++;
        }
      }
      if (sinks == 1) output = run->nodes[last].output;
      run->record.output = output.dump();
    }
    run->record.state = state;
    run->record.modified_ns = run->record.finished_ns = NowNs();
    run->record.generation++;
    record = run->record;
  }
  CommitLog(run, {}, std::move(record), [this, run, state, output = std::move(output)](Status st) mutable {
    if (!st.ok()) return host_->Halt(run, st);
    MutexLock lock(&run->mu);
    run->mode = state;
    SagaResult result;
    result.id = run->record.id;
    result.state = state;
    result.output = std::move(output);
    if (state == SagaState::kFailed && run->record.error_node >= 0) {
      result.error_node = run->qualified_names[run->record.error_node];
      result.error = Status::FromCode(run->record.error_code, run->record.error);
    }
    host_->Finished(run, std::move(result));
  });
}

}  // namespace sagadb
