// The records sagadb stores, as plain C++ values: the saga log's own (SagaRecord, SagaEvent) and the control
// plane's (sagadb/control_plane_records.h). schema/codec.h turns them into FlatBuffers bytes and back; nothing
// outside schema/ touches the generated FlatBuffers types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagadb/control_plane_records.h"
#include "sagadb/dag.h"
#include "sagadb/saga.h"
#include "sagadb/uuid.h"

namespace sagadb {

// kOperator: an operator's action on the whole saga (SagaEvent::op says which); it names no node.
enum class EventType : uint8_t { kStarted, kSucceeded, kFailed, kUndoStarted, kUndoFinished, kUndoFailed, kOperator };
// "started", "succeeded", ..., "undo_failed", "operator".
std::string_view ToString(EventType type);

enum class OperatorOp : uint8_t { kNone, kCancel, kResume, kAbandon };
// "none", "cancel", "resume", "abandon".
std::string_view ToString(OperatorOp op);

struct SagaRecord {
  Uuid id;
  std::string kind;
  std::vector<DagNode> nodes;
  std::vector<DagScope> scopes;
  std::string params;  // JSON text
  SagaState state = SagaState::kRunning;
  int64_t created_ns = 0;
  int64_t modified_ns = 0;
  int64_t finished_ns = 0;
  std::string output;  // JSON text
  int32_t error_node = -1;
  uint8_t error_code = 0;
  std::string error;
  uint64_t generation = 0;
  bool operator==(const SagaRecord&) const = default;
};

// What a saga record says of itself, without its DAG, params or output: what listings filter on and retention
// verifies, read at a fraction of the cost of the whole record.
struct SagaHeader {
  Uuid id;
  std::string kind;
  SagaState state = SagaState::kRunning;
  int64_t created_ns = 0;
  int64_t modified_ns = 0;
  int64_t finished_ns = 0;
  uint64_t generation = 0;
  bool operator==(const SagaHeader&) const = default;
};

// A value of the saga index (log/saga_index.h; schema/saga_index.fbs).
struct SagaIndexEntry {
  SagaState state = SagaState::kRunning;  // any value the saga record may hold, future states included
  std::string kind;
  int64_t created_ns = 0;
  int64_t finished_ns = 0;
  bool operator==(const SagaIndexEntry&) const = default;
};

struct SagaEvent {
  uint32_t node = 0;
  EventType type = EventType::kStarted;
  std::string output;  // JSON text
  uint8_t error_code = 0;
  std::string error;
  int64_t time_ns = 0;
  uint32_t attempts = 0;
  int64_t start_ns = 0;
  // Operator events.
  OperatorOp op = OperatorOp::kNone;
  std::string actor;
  std::string reason;
  uint8_t abandon_kind = 0;  // AbandonKind
  bool operator==(const SagaEvent&) const = default;
};

}  // namespace sagadb
