// Datastore, attachments: attach, detach and the boot disk (the tables of docs/DESIGN.md section 2). Each stages
// the disk and the instance together under both records' locks, so the slot count check and the slot choice
// cannot race.
#include <fmt/format.h>

#include <algorithm>

#include "controlplane/datastore.h"

namespace sagadb {

Result<Disk> Datastore::StageAttachDisk(Txn& txn, const Uuid& disk_id, const Uuid& instance_id, bool* changed) {
  return StageAttachAt(txn, disk_id, instance_id, std::nullopt, changed);
}

Result<Disk> Datastore::StageReattachDisk(Txn& txn, const Uuid& disk_id, const Uuid& instance_id, int slot,
                                          bool* changed) {
  if (slot < 0 || slot >= kMaxDisksPerInstance) {
    if (changed != nullptr) *changed = false;
    return Status::InvalidRequest(fmt::format("slot {} is not a slot (0-{})", slot, kMaxDisksPerInstance - 1));
  }
  return StageAttachAt(txn, disk_id, instance_id, slot, changed);
}

Result<Disk> Datastore::StageAttachAt(Txn& txn, const Uuid& disk_id, const Uuid& instance_id, std::optional<int> at,
                                      bool* changed) {
  if (changed != nullptr) *changed = false;
  // Both records are locked before either is read: the slot count check and the slot choice cannot race.
  SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id.AsBytes(), disk_id.AsBytes()}));
  auto inst_r = ReadInstance(txn, instance_id);
  if (!inst_r.ok()) return inst_r.status();
  Instance inst = std::move(*inst_r);
  if (inst.state == InstanceState::kDestroyed) {
    return Status::NotFound(fmt::format("instance {} not found", instance_id.ToString()));
  }
  auto disk_r = ReadDisk(txn, disk_id);
  if (!disk_r.ok()) return disk_r.status();
  Disk disk = std::move(*disk_r);
  if (disk.state == DiskState::kDestroyed) return Status::NotFound(fmt::format("disk {} not found", disk_id.ToString()));

  if (disk.instance_id) {
    if (*disk.instance_id != instance_id) return Status::InvalidRequest("disk is attached to another instance");
    if (at && disk.slot != *at) {
      return Status::Conflict(fmt::format("disk {} is attached to instance {} at slot {}, not at slot {}",
                                          disk_id.ToString(), instance_id.ToString(), disk.slot, *at));
    }
    return disk;  // already attached here: no write
  }
  if (disk.state != DiskState::kCreating && disk.state != DiskState::kDetached) {
    return StateError("disk", ToString(disk.state));
  }
  if (inst.state != InstanceState::kCreating && inst.state != InstanceState::kStopped) {
    return StateError("instance", ToString(inst.state));
  }
  if (inst.attached.size() >= kMaxDisksPerInstance) {
    return Status::InvalidRequest(fmt::format("cannot attach more than {} disks", kMaxDisksPerInstance));
  }
  int slot = 0;  // the lowest free slot; `attached` is sorted by slot
  for (const auto& a : inst.attached) {
    if (a.slot != slot) break;
    ++slot;
  }
  if (at) {
    for (const auto& a : inst.attached) {
      if (a.slot == *at) {
        return Status::Conflict(fmt::format("slot {} of instance {} is taken by disk {}; disk {} is left detached "
                                            "rather than attached at another slot",
                                            *at, instance_id.ToString(), a.disk_id.ToString(), disk_id.ToString()));
      }
    }
    slot = *at;
  }
  auto place = std::find_if(inst.attached.begin(), inst.attached.end(), [&](const AttachedDisk& a) { return a.slot > slot; });
  inst.attached.insert(place, AttachedDisk{slot, disk_id});
  disk.state = DiskState::kAttached;
  disk.instance_id = instance_id;
  disk.slot = slot;
  SAGADB_RETURN_IF_ERROR(PutInstance(txn, inst));
  SAGADB_RETURN_IF_ERROR(PutDisk(txn, disk));
  if (changed != nullptr) *changed = true;
  return disk;
}

Result<Disk> Datastore::StageDetachDisk(Txn& txn, const Uuid& disk_id, const Uuid& instance_id, bool* changed,
                                        int* freed_slot) {
  if (changed != nullptr) *changed = false;
  SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id.AsBytes(), disk_id.AsBytes()}));
  auto inst_r = ReadInstance(txn, instance_id);
  if (!inst_r.ok()) return inst_r.status();
  Instance inst = std::move(*inst_r);
  if (inst.state == InstanceState::kDestroyed) {
    return Status::NotFound(fmt::format("instance {} not found", instance_id.ToString()));
  }
  auto disk_r = ReadDisk(txn, disk_id);
  if (!disk_r.ok()) return disk_r.status();
  Disk disk = std::move(*disk_r);
  if (disk.state == DiskState::kDestroyed) return Status::NotFound(fmt::format("disk {} not found", disk_id.ToString()));

  if (!disk.instance_id) return disk;  // not attached anywhere: no write
  if (*disk.instance_id != instance_id) return Status::InvalidRequest("disk is attached to another instance");
  if (inst.state != InstanceState::kCreating && inst.state != InstanceState::kStopped &&
      inst.state != InstanceState::kFailed) {
    return StateError("instance", ToString(inst.state));
  }
  if (inst.boot_disk_id && *inst.boot_disk_id == disk_id) return Status::Conflict("boot disk cannot be detached");
  std::erase_if(inst.attached, [&](const AttachedDisk& a) { return a.disk_id == disk_id; });
  if (freed_slot != nullptr) *freed_slot = disk.slot;
  disk.state = DiskState::kDetached;
  disk.instance_id.reset();
  disk.slot = -1;
  SAGADB_RETURN_IF_ERROR(PutInstance(txn, inst));
  SAGADB_RETURN_IF_ERROR(PutDisk(txn, disk));
  if (changed != nullptr) *changed = true;
  return disk;
}

Result<Instance> Datastore::StageSetBootDisk(Txn& txn, const Uuid& instance_id, std::optional<Uuid> disk_id) {
  if (disk_id) {
    SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id.AsBytes(), disk_id->AsBytes()}));
  } else {
    SAGADB_RETURN_IF_ERROR(txn.Lock(instance_id));
  }
  SAGADB_ASSIGN_OR_RETURN(Instance inst, ReadInstance(txn, instance_id));
  if (inst.state == InstanceState::kDestroyed) {
    return Status::NotFound(fmt::format("instance {} not found", instance_id.ToString()));
  }
  if (inst.boot_disk_id == disk_id) return inst;
  if (disk_id) {
    SAGADB_ASSIGN_OR_RETURN(Disk disk, ReadDisk(txn, *disk_id));
    if (disk.instance_id != instance_id) {
      return Status::InvalidRequest("the boot disk must be attached to the instance");
    }
  }
  inst.boot_disk_id = disk_id;
  SAGADB_RETURN_IF_ERROR(PutInstance(txn, inst));
  return inst;
}

}  // namespace sagadb
