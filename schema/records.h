// The records sagadb stores, as plain C++ values. schema/codec.h turns them into FlatBuffers bytes and back;
// nothing outside schema/ touches the generated FlatBuffers types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/uuid.h"

namespace sagadb {

inline constexpr int kMaxDisksPerInstance = 12;

enum class InstanceState : uint8_t { kCreating, kStopped, kStarting, kRunning, kStopping, kFailed, kDestroyed };
enum class DiskState : uint8_t { kCreating, kDetached, kAttached, kMaintenance, kFaulted, kDestroyed };
enum class SagaState : uint8_t { kRunning, kUnwinding, kSucceeded, kFailed, kStuck, kAbandoned };
enum class EventType : uint8_t { kStarted, kSucceeded, kFailed, kUndoStarted, kUndoFinished, kUndoFailed };
enum class NodeKind : uint8_t { kAction, kConstant, kSubsagaStart, kSubsagaEnd };

// Lowercase names as the tools print them ("creating", "undo_finished", ...).
std::string_view ToString(InstanceState s);
std::string_view ToString(DiskState s);
std::string_view ToString(SagaState s);
std::string_view ToString(EventType t);
std::string_view ToString(NodeKind k);
std::optional<InstanceState> ParseInstanceState(std::string_view s);
std::optional<DiskState> ParseDiskState(std::string_view s);
std::optional<SagaState> ParseSagaState(std::string_view s);

struct AttachedDisk {
  int slot = 0;
  Uuid disk_id;
  bool operator==(const AttachedDisk&) const = default;
};

struct Instance {
  Uuid id;
  std::string project;
  std::string name;
  InstanceState state = InstanceState::kCreating;
  uint32_t cpus = 0;
  uint64_t memory_bytes = 0;
  std::optional<Uuid> boot_disk_id;
  std::vector<AttachedDisk> attached;  // sorted by slot
  uint64_t generation = 0;
  int64_t created_ns = 0;
  int64_t modified_ns = 0;
  std::optional<Uuid> saga_id;
  bool operator==(const Instance&) const = default;
};

struct Disk {
  Uuid id;
  std::string project;
  std::string name;
  DiskState state = DiskState::kCreating;
  uint64_t size_bytes = 0;
  std::optional<Uuid> instance_id;  // set only when attached
  int slot = -1;                    // 0-11 when attached
  uint64_t generation = 0;
  int64_t created_ns = 0;
  int64_t modified_ns = 0;
  std::optional<Uuid> saga_id;
  bool operator==(const Disk&) const = default;
};

struct DagNode {
  std::string name;
  NodeKind kind = NodeKind::kAction;
  std::string action;    // kAction
  std::string constant;  // kConstant: JSON text
  std::vector<uint32_t> deps;
  uint32_t scope = 0;
  int32_t link = -1;
  bool operator==(const DagNode&) const = default;
};

struct DagScope {
  std::string name;
  uint32_t parent = 0;
  int32_t params_node = -1;
  bool operator==(const DagScope&) const = default;
};

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

struct SagaEvent {
  uint32_t node = 0;
  EventType type = EventType::kStarted;
  std::string output;  // JSON text
  uint8_t error_code = 0;
  std::string error;
  int64_t time_ns = 0;
  uint32_t attempts = 0;
  int64_t start_ns = 0;
  bool operator==(const SagaEvent&) const = default;
};

}  // namespace sagadb
