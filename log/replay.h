// Replaying a saga's log: its node events, read back, rebuilt into each node's durable state.
//
//   SAGADB_ASSIGN_OR_RETURN(std::vector<LoggedEvent> events, log.ReadEvents(record.id));
//   SAGADB_ASSIGN_OR_RETURN(SagaHistory history, ReplaySagaLog(record, events));
//   SAGADB_ASSIGN_OR_RETURN(SagaState state, StateFromLog(record, history));
//
// Replay checks every event against the legal sequences of docs/DESIGN.md section 3 and against the DAG, accepting
// every state a crash can leave behind and rejecting the impossible ones:
//   per node:  [started] -> succeeded | failed;   succeeded -> [undo_started] -> undo_finished | undo_failed
//   forward events of a node only once every dependency has succeeded (constant and subsaga nodes succeed
//   when their own dependencies have);
//   undo events only after some node failed, and only once no child is succeeded, started or being undone
//   (a child that never started, failed, or was undone is fine);
//   no events for constant or subsaga nodes; node indexes within the DAG.
// Operator events name no node: a cancel lets the unwind begin as a failure does; a resume (only after an undo
// failed) puts every node whose undo failed back to succeeded, so its undo runs again; an abandon ends the log.
// Recovery marks a saga whose log fails replay `stuck` with the reason; `check` reports it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sagadb/status.h"
#include "schema/records.h"

namespace sagadb {

// A node's state as the log has it.
enum class LoggedStatus : uint8_t { kPending, kStarted, kSucceeded, kFailed, kUndoStarted, kUndone, kUndoFailed };
std::string_view ToString(LoggedStatus s);

struct LoggedEvent {
  uint64_t seq = 0;
  SagaEvent event;
};
struct NodeHistory {
  LoggedStatus status = LoggedStatus::kPending;
  std::string output;        // JSON text, once succeeded
  uint32_t attempts = 0;     // of the forward action
  uint32_t undo_attempts = 0;
  uint8_t error_code = 0;    // failed / undo_failed
  std::string error;
  int64_t start_ns = 0;      // first attempt of the action began
  int64_t end_ns = 0;        // last event
};

struct SagaHistory {
  std::vector<NodeHistory> nodes;  // one per DAG node
  uint64_t next_seq = 1;           // the sequence number the next event gets
  size_t events = 0;
  int32_t first_failed = -1;       // the node whose failure began the unwind
  int32_t undo_failed = -1;        // a node whose undo failed (since the last resume)
  bool cancelled = false;          // an operator cancelled the saga
  std::string cancel_error;        // "cancelled by <actor>: <reason>", what the saga ends with
  uint32_t resumes = 0;            // operator (or open) resumes of a paused or stuck unwind
};

// The error a cancelled saga ends with: "cancelled by alice: <reason>".
std::string CancelMessage(std::string_view actor, std::string_view reason);

// Replays `events` over the record's DAG. Corruption describing the first impossible event otherwise.
Result<SagaHistory> ReplaySagaLog(const SagaRecord& record, const std::vector<LoggedEvent>& events);

// The state the log implies for a saga whose cached record says `cached`: Running if no node failed, Unwinding
// once one has (or the saga was cancelled), Paused or Stuck once an undo failed; a final cached state stays as
// it is if the log agrees with it.
// Corruption if the record and the log disagree.
Result<SagaState> StateFromLog(const SagaRecord& record, const SagaHistory& history);

}  // namespace sagadb
