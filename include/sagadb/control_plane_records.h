// The control plane's records: instances and the disks attached to them, as plain values.
//
//   sagadb::Result<sagadb::Disk> d = control_plane.GetDisk(disk_id);
//   if (d.ok() && d->state == sagadb::DiskState::kAttached) use(*d->instance_id, d->slot);
//
// Every record carries a generation, bumped by each write of it, and its creation and last-modification times
// (nanoseconds since the Unix epoch). A record created by a saga names it (saga_id), so what a failed saga left
// behind can be found.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagadb/uuid.h"

namespace sagadb {

inline constexpr int kMaxDisksPerInstance = 12;

enum class InstanceState : uint8_t { kCreating, kStopped, kStarting, kRunning, kStopping, kFailed, kDestroyed };
enum class DiskState : uint8_t { kCreating, kDetached, kAttached, kMaintenance, kFaulted, kDestroyed };

// Lowercase names as the tool prints them ("creating", "detached", ...), and back.
std::string_view ToString(InstanceState state);
std::string_view ToString(DiskState state);
std::optional<InstanceState> ParseInstanceState(std::string_view text);
std::optional<DiskState> ParseDiskState(std::string_view text);

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

}  // namespace sagadb
