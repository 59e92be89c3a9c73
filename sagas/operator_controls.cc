// SagaExecutor, the operator controls: cancel, resume, abandon (docs/DESIGN.md, "Operator controls").
//
// A saga this executor runs is changed through its run: a cancel rides the saga's next round, like a failure,
// so the log keeps one writer per saga. A saga it does not run (paused, stuck, or one that halted) is changed
// by a one-shot write of the log (log/operator_log.cc), taken in turn with Starts of a caller's id, so that no
// run of the saga can begin in between.
#include <fmt/format.h>

#include "sagas/executor.h"

namespace sagadb {

std::shared_ptr<SagaRun> SagaExecutor::Executing(const Uuid& id) const {
  MutexLock lock(&mu_);
  auto it = runs_.find(id);
  return it == runs_.end() ? nullptr : it->second;
}

bool SagaExecutor::CancelRequested(const Uuid& id) const {
  auto run = Executing(id);
  if (!run) return false;
  MutexLock lock(&run->mu);
  return run->cancel.has_value() || run->cancel_durable;
}

Result<SagaState> SagaExecutor::Cancel(const Uuid& id, const OperatorRequest& request) {
  SAGADB_RETURN_IF_ERROR(CheckOperatorRequest(request));
  std::shared_ptr<SagaRun> run;
  {
    MutexLock turn(&start_ids_mu_);
    run = Executing(id);
    if (!run) {
      SAGADB_ASSIGN_OR_RETURN(SagaRecord r, log_.Cancel(id, request));
      return r.state;
    }
  }
  {
    MutexLock lock(&run->mu);
    // A saga whose first round is still being built takes the cancel into a round that follows it (so it is
    // created unwinding if that round carries its record); if that round fails, nothing of it is written and
    // the cancel is reported lost below.
    // Its final record is on its way: too late to cancel; say how it ended.
    while (run->finishing && !run->complete) run->done_cv.Wait();
    if (run->complete) {
      if (run->halted) return Status::Conflict(fmt::format("saga {} halted: {}", id.ToString(), run->halted->message()));
      return Status::InvalidRequest(fmt::format("saga {} has ended ({}); there is nothing to cancel", id.ToString(),
                                                ToString(run->result->state)));
    }
    if (!run->cancel && !run->cancel_durable) {
      if (run->failing || run->mode != SagaState::kRunning) return run->mode == SagaState::kRunning
                                                                     ? SagaState::kUnwinding
                                                                     : run->mode;  // unwinding already
      // Like a failure: no forward step starts from now on, and the round that logs the cancel turns the
      // record unwinding; the unwind begins once that round is durable.
      run->failing = true;
      run->cancel = OperatorEvent(OperatorOp::kCancel, request);
      MarkCancelled(&run->record, request);
      run->record_dirty = true;
      run->kicked = true;  // see SagaRun::kicked
    }
  }
  driver_.Kick(run);
  MutexLock lock(&run->mu);
  while (!run->cancel_durable && !run->complete && !run->halted) run->done_cv.Wait();
  if (run->cancel_durable) return SagaState::kUnwinding;
  if (run->halted) {
    return Status::FromCode(static_cast<uint8_t>(run->halted->code()),
                            fmt::format("saga {} halted before its cancel was written: {} (the cancel is lost; the "
                                        "saga is resumed at the next open)",
                                        id.ToString(), run->halted->message()));
  }
  return Status::InvalidRequest(fmt::format("saga {} has ended ({}); there is nothing to cancel", id.ToString(),
                                            ToString(run->result->state)));
}

Result<SagaHandle> SagaExecutor::ResumeSaga(const Uuid& id, const OperatorRequest& request) {
  SAGADB_RETURN_IF_ERROR(CheckOperatorRequest(request));
  MutexLock turn(&start_ids_mu_);
  if (auto run = Executing(id)) {
    MutexLock lock(&run->mu);
    if (run->mode == SagaState::kUnwinding) return SagaHandle(run);  // resumed already: the same unwind
    return Status::InvalidRequest(fmt::format("saga {} is {} in this process; only a paused or stuck saga can be "
                                              "resumed",
                                              id.ToString(), ToString(run->mode)));
  }
  // Everything that can refuse is checked before the resume is written: the record's state and log (by the
  // log), and here that this program knows every action the unwind may run.
  SAGADB_ASSIGN_OR_RETURN(SagaRecord before, log_.ReadRecord(id));
  for (const DagNode& n : before.nodes) {
    if (n.kind == NodeKind::kAction && registry_->Find(n.action) == nullptr) {
      return Status::InvalidRequest(fmt::format("saga {} names action \"{}\", which this program does not know; "
                                                "resume it from the program that runs it",
                                                id.ToString(), n.action));
    }
  }
  SAGADB_ASSIGN_OR_RETURN(SagaLog::Resumed resumed, log_.Resume(id, request));
  return Resume(std::move(resumed.record), resumed.history);
}

Result<SagaState> SagaExecutor::Abandon(const Uuid& id, AbandonKind kind, const OperatorRequest& request) {
  SAGADB_RETURN_IF_ERROR(CheckOperatorRequest(request));
  MutexLock turn(&start_ids_mu_);
  if (auto run = Executing(id)) {
    return Status::InvalidRequest(fmt::format(
        "saga {} is executing in this process; cancel it (it unwinds cleanly), or abandon it once it has paused or "
        "is stuck",
        id.ToString()));
  }
  SAGADB_ASSIGN_OR_RETURN(SagaRecord r, log_.Abandon(id, kind, request));
  return r.state;
}

}  // namespace sagadb
