// SagaDriver, external steps: an action (or undo) with effects outside the database runs on the pool once its
// `started` (`undo_started`) is durable; its outcome waits in the run for the next round, which logs it together
// with whatever its local children do.
#include <fmt/format.h>

#include "base/clock.h"
#include "sagas/round.h"

namespace sagadb {
namespace {

template <typename F>
auto InvokeExternal(const F& fn, ActionContext& ctx) -> decltype(fn(ctx)) {
  try {
    return fn(ctx);
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("action threw: {}", e.what()));
  } catch (...) {
    return Status::Internal("action threw a non-standard exception");
  }
}

}  // namespace

void SagaDriver::RunExternal(std::shared_ptr<SagaRun> run, uint32_t i, uint32_t attempt) {
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const auto plan = host_->faults();
  const int64_t start_ns = NowNs();
  ActionContext ctx(run.get(), i, nullptr, store_, attempt);
  auto injected = plan ? plan->TakeActionFault(name) : std::nullopt;
  Result<Json> out = injected ? Result<Json>(*injected) : InvokeExternal(def.action, ctx);
  if (out.ok() && plan && plan->ActionTwice(name)) out = InvokeExternal(def.action, ctx);
  if (out.ok() && plan) {
    if (auto after = plan->TakeAfterEffectFault(name)) {
      // The effect happened and the step fails before recording it (FaultPlan::FailAfterEffect): the unwind
      // never undoes a failed node, so its undo takes the effect back now, seeing the action's output.
      {
        MutexLock lock(&run->mu);
        run->nodes[i].output = std::make_shared<const Json>(*out);
      }
      const Status undone = def.undo ? InvokeExternal(def.undo, ctx) : Status::OK();
      out = undone.ok() ? *after
                        : Status::FromCode(static_cast<uint8_t>(after->code()),
                                           fmt::format("{}; its undo, taking the effect back, failed: {}",
                                                       after->message(), undone.ToString()));
    }
  }
  {
    MutexLock lock(&run->mu);
    NodeRt& n = run->nodes[i];
    if (out.ok()) {
      n.attempts = attempt;
      n.start_ns = start_ns;
      SagaEvent e = MakeEvent(i, EventType::kSucceeded, attempt, start_ns);
      e.output = out->dump();
      n.output = std::make_shared<const Json>(std::move(*out));
      n.outcome = std::move(e);
      n.status = NodeStatus::kStaged;
    } else if (out.status().IsRetryable() && attempt < options_->forward_retry.max_attempts && !host_->stopping()) {
      counters_->action_retries++;
      pool_->SubmitAfter(options_->forward_retry.Backoff(attempt + 1),
                         [this, run, i, attempt] { RunExternal(run, i, attempt + 1); });
      return;  // still a task of the run
    } else if (host_->stopping()) {
      n.status = NodeStatus::kPending;  // its `started` is durable: recovery runs it again
    } else {
      RecordFailure(*run, i, out.status(), attempt);
    }
    run->tasks--;
    run->kicked = true;  // before the lock goes: see SagaRun::kicked
  }
  Kick(run);
}

void SagaDriver::RunExternalUndo(std::shared_ptr<SagaRun> run, uint32_t i, uint32_t attempt) {
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const auto plan = host_->faults();
  const int64_t start_ns = NowNs();
  ActionContext ctx(run.get(), i, nullptr, store_, attempt);
  auto injected = plan ? plan->TakeUndoFault(name) : std::nullopt;
  auto undo = [&]() -> Status { return def.undo ? InvokeExternal(def.undo, ctx) : Status::OK(); };
  Status st = injected ? *injected : undo();
  if (st.ok() && plan && plan->UndoTwice(name)) st = undo();
  {
    MutexLock lock(&run->mu);
    NodeRt& n = run->nodes[i];
    if (st.ok()) {
      n.undo_attempts = attempt;
      n.outcome = MakeEvent(i, EventType::kUndoFinished, attempt, start_ns);
      n.status = NodeStatus::kUndoStaged;
    } else if (st.IsRetryable() && attempt < options_->undo_retry.max_attempts && !host_->stopping()) {
      counters_->undo_retries++;
      pool_->SubmitAfter(options_->undo_retry.Backoff(attempt + 1),
                         [this, run, i, attempt] { RunExternalUndo(run, i, attempt + 1); });
      return;
    } else if (host_->stopping()) {
      n.status = NodeStatus::kSucceeded;  // its `undo_started` is durable: recovery runs the undo again
    } else {
      if (st.IsRetryable()) {
        st = Status::FromCode(static_cast<uint8_t>(st.code()),
                              fmt::format("{} (gave up after {} attempts)", st.message(), attempt));
      }
      RecordUndoFailure(*run, i, st, attempt);
    }
    run->tasks--;
    run->kicked = true;  // before the lock goes: see SagaRun::kicked
  }
  Kick(run);
}

}  // namespace sagadb
