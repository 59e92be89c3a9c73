// SagaLog, the operator actions on a saga that nothing executes: cancel, resume, abandon. Each reads the
// record (and, for resume, the log), decides, and writes the operator event with the new record in one synced
// batch; a refused request writes nothing.
#include <fmt/format.h>

#include "base/clock.h"
#include "log/saga_log.h"

namespace sagadb {

Status CheckOperatorRequest(const OperatorRequest& request) {
  if (request.actor.empty()) return Status::InvalidRequest("an operator action must say who asks for it (actor)");
  if (request.actor.size() > kMaxOperatorActor) {
    return Status::InvalidRequest(fmt::format("the actor is {} bytes; at most {}", request.actor.size(),
                                              kMaxOperatorActor));
  }
  if (request.reason.size() > kMaxOperatorReason) {
    return Status::InvalidRequest(fmt::format("the reason is {} bytes; at most {}", request.reason.size(),
                                              kMaxOperatorReason));
  }
  return Status::OK();
}

SagaEvent OperatorEvent(OperatorOp op, const OperatorRequest& request, AbandonKind kind) {
  SagaEvent e;
  e.type = EventType::kOperator;
  e.op = op;
  e.actor = request.actor;
  e.reason = request.reason;
  e.abandon_kind = static_cast<uint8_t>(kind);
  e.time_ns = NowNs();
  return e;
}

void MarkCancelled(SagaRecord* record, const OperatorRequest& request) {
  record->state = SagaState::kUnwinding;
  record->error_node = -1;
  record->error_code = static_cast<uint8_t>(Code::kCancelled);
  record->error = CancelMessage(request.actor, request.reason);
  record->modified_ns = NowNs();
  record->generation++;
}

Result<uint64_t> SagaLog::NextSeq(const Uuid& id) const {
  SAGADB_ASSIGN_OR_RETURN(auto last, ReadLastEvent(id));
  return last ? last->seq + 1 : 1;
}

Status SagaLog::AppendOperatorEvent(const SagaRecord& record, const SagaEvent& event, uint64_t seq) const {
  Batch batch;
  StageEvent(&batch, record.id, seq, event);
  StageRecord(&batch, record);
  return store_->Write(batch);
}

Result<SagaRecord> SagaLog::Cancel(const Uuid& id, const OperatorRequest& request) const {
  SAGADB_RETURN_IF_ERROR(CheckOperatorRequest(request));
  SAGADB_ASSIGN_OR_RETURN(SagaRecord r, ReadRecord(id));
  switch (r.state) {
    case SagaState::kRunning:
      break;
    case SagaState::kUnwinding:
    case SagaState::kPaused:
    case SagaState::kStuck:
      return r;  // unwinding already: nothing to add
    case SagaState::kSucceeded:
    case SagaState::kFailed:
    case SagaState::kAbandoned:
      return Status::InvalidRequest(
          fmt::format("saga {} has ended ({}); there is nothing to cancel", id.ToString(), ToString(r.state)));
  }
  SAGADB_ASSIGN_OR_RETURN(uint64_t seq, NextSeq(id));
  MarkCancelled(&r, request);
  SAGADB_RETURN_IF_ERROR(AppendOperatorEvent(r, OperatorEvent(OperatorOp::kCancel, request), seq));
  return r;
}

Result<SagaLog::Resumed> SagaLog::Resume(const Uuid& id, const OperatorRequest& request) const {
  SAGADB_RETURN_IF_ERROR(CheckOperatorRequest(request));
  SAGADB_ASSIGN_OR_RETURN(SagaRecord r, ReadRecord(id));
  if (r.state != SagaState::kPaused && r.state != SagaState::kStuck) {
    return Status::InvalidRequest(fmt::format("saga {} is {}; only a paused or stuck saga can be resumed",
                                              id.ToString(), ToString(r.state)));
  }
  SAGADB_ASSIGN_OR_RETURN(std::vector<LoggedEvent> events, ReadEvents(id));
  auto history = ReplaySagaLog(r, events);
  if (!history.ok()) {
    return Status::InvalidRequest(fmt::format("saga {} cannot be resumed: its log cannot be replayed ({}); abandon it",
                                              id.ToString(), history.status().message()));
  }
  if (history->undo_failed < 0) {
    return Status::InvalidRequest(fmt::format("saga {} has no failed undo to retry ({}); abandon it", id.ToString(),
                                              r.error));
  }
  // Unwinding again, for the failure (or the cancel) that began the unwind, not the undo that stopped it.
  r.state = SagaState::kUnwinding;
  r.finished_ns = 0;
  r.modified_ns = NowNs();
  r.generation++;
  if (history->first_failed >= 0) {
    const NodeHistory& failed = history->nodes[history->first_failed];
    r.error_node = history->first_failed;
    r.error_code = failed.error_code;
    r.error = failed.error;
  } else {
    r.error_node = -1;
    r.error_code = static_cast<uint8_t>(Code::kCancelled);
    r.error = history->cancel_error;
  }
  const LoggedEvent resume{history->next_seq, OperatorEvent(OperatorOp::kResume, request)};
  SAGADB_RETURN_IF_ERROR(AppendOperatorEvent(r, resume.event, resume.seq));
  events.push_back(resume);
  SAGADB_ASSIGN_OR_RETURN(SagaHistory after, ReplaySagaLog(r, events));
  return Resumed{std::move(r), std::move(after)};
}

Result<SagaRecord> SagaLog::Abandon(const Uuid& id, AbandonKind kind, const OperatorRequest& request) const {
  SAGADB_RETURN_IF_ERROR(CheckOperatorRequest(request));
  SAGADB_ASSIGN_OR_RETURN(SagaRecord r, ReadRecord(id));
  switch (r.state) {
    case SagaState::kRunning:
    case SagaState::kUnwinding:
    case SagaState::kPaused:
    case SagaState::kStuck:
      break;
    case SagaState::kSucceeded:
    case SagaState::kFailed:
    case SagaState::kAbandoned:
      return Status::InvalidRequest(fmt::format("saga {} is {}; only a saga that has not ended can be abandoned",
                                                id.ToString(), ToString(r.state)));
  }
  SAGADB_ASSIGN_OR_RETURN(uint64_t seq, NextSeq(id));
  const std::string previous = r.error.empty() ? std::string(ToString(r.state)) : r.error;
  r.state = SagaState::kAbandoned;
  r.error = fmt::format("abandoned ({}) by {}{}{} (was: {})", ToString(kind), request.actor,
                        request.reason.empty() ? "" : ": ", request.reason, previous);
  r.modified_ns = r.finished_ns = NowNs();
  r.generation++;
  SAGADB_RETURN_IF_ERROR(AppendOperatorEvent(r, OperatorEvent(OperatorOp::kAbandon, request, kind), seq));
  return r;
}

}  // namespace sagadb
