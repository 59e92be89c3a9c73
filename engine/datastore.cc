#include "engine/datastore.h"

#include <algorithm>
#include <thread>

#include "engine/clock.h"
#include "engine/keys.h"
#include "engine/names.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

template <typename S>
bool Contains(std::span<const S> states, S s) {
  return std::find(states.begin(), states.end(), s) != states.end();
}

template <typename T>
Result<T> DecodeAs(Cf cf, std::string_view key, const std::string& bytes) {
  T record;
  std::string why;
  if (!Decode(bytes, &record, &why)) {
    std::string printable = key.size() == 16 ? Uuid::FromBytes(key)->ToString() : std::string(key);
    return Status::Corruption(fmt::format("{}/{}: {}", CfName(cf), printable, why));
  }
  return record;
}

template <typename T>
Listing<T> Scan(const Store& store, Cf cf) {
  Listing<T> out;
  auto it = store.NewIterator(cf);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto r = DecodeAs<T>(cf, it->key().ToStringView(), it->value().ToString());
    if (r.ok()) {
      out.records.push_back(std::move(*r));
    } else {
      out.errors.push_back(r.status());
    }
  }
  if (!it->status().ok()) out.errors.push_back(FromRocks(it->status(), fmt::format("scanning {}", CfName(cf))));
  return out;
}

Status StateError(std::string_view what, std::string_view state) {
  return Status::InvalidRequest(fmt::format("{} is in state \"{}\"", what, state));
}

}  // namespace

// ---------------------------------------------------------------------------------------------- reads

Result<Instance> Datastore::GetInstance(const Uuid& id) const {
  auto bytes = store_->Get(Cf::kInstances, id.AsBytes());
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return Status::NotFound(fmt::format("instance {} not found", id.ToString()));
    return bytes.status();
  }
  return DecodeAs<Instance>(Cf::kInstances, id.AsBytes(), *bytes);
}

Result<Disk> Datastore::GetDisk(const Uuid& id) const {
  auto bytes = store_->Get(Cf::kDisks, id.AsBytes());
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return Status::NotFound(fmt::format("disk {} not found", id.ToString()));
    return bytes.status();
  }
  return DecodeAs<Disk>(Cf::kDisks, id.AsBytes(), *bytes);
}

Result<Uuid> Datastore::Lookup(std::string_view key) const {
  auto bytes = store_->Get(Cf::kNames, key);
  if (!bytes.ok()) return bytes.status();
  auto id = Uuid::FromBytes(*bytes);
  if (!id) return Status::Corruption("names: entry is not a 16-byte id");
  return *id;
}

Result<Uuid> Datastore::LookupInstance(std::string_view project, std::string_view name) const {
  auto id = Lookup(NameKey(project, NameKind::kInstance, name));
  if (!id.ok() && id.status().IsNotFound()) {
    return Status::NotFound(fmt::format("no instance named \"{}\" in project \"{}\"", name, project));
  }
  return id;
}

Result<Uuid> Datastore::LookupDisk(std::string_view project, std::string_view name) const {
  auto id = Lookup(NameKey(project, NameKind::kDisk, name));
  if (!id.ok() && id.status().IsNotFound()) {
    return Status::NotFound(fmt::format("no disk named \"{}\" in project \"{}\"", name, project));
  }
  return id;
}

Listing<Instance> Datastore::ListInstances() const { return Scan<Instance>(*store_, Cf::kInstances); }
Listing<Disk> Datastore::ListDisks() const { return Scan<Disk>(*store_, Cf::kDisks); }

// ---------------------------------------------------------------------------------------------- txn helpers

Result<Instance> Datastore::ReadInstance(WriteTxn& txn, const Uuid& id) {
  auto bytes = txn.Get(Cf::kInstances, id.AsBytes());
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return Status::NotFound(fmt::format("instance {} not found", id.ToString()));
    return bytes.status();
  }
  return DecodeAs<Instance>(Cf::kInstances, id.AsBytes(), *bytes);
}

Result<Disk> Datastore::ReadDisk(WriteTxn& txn, const Uuid& id) {
  auto bytes = txn.Get(Cf::kDisks, id.AsBytes());
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return Status::NotFound(fmt::format("disk {} not found", id.ToString()));
    return bytes.status();
  }
  return DecodeAs<Disk>(Cf::kDisks, id.AsBytes(), *bytes);
}

void Datastore::PutInstance(WriteTxn& txn, Instance& r) {
  r.generation++;
  r.modified_ns = NowNs();
  if (r.created_ns == 0) r.created_ns = r.modified_ns;
  txn.Put(Cf::kInstances, r.id.AsBytes(), Encode(r));
}

void Datastore::PutDisk(WriteTxn& txn, Disk& r) {
  r.generation++;
  r.modified_ns = NowNs();
  if (r.created_ns == 0) r.created_ns = r.modified_ns;
  txn.Put(Cf::kDisks, r.id.AsBytes(), Encode(r));
}

template <typename T, typename F>
Result<T> Datastore::Apply(F&& stage) {
  // A lock-order conflict (the record's stripe, then a lower busy stripe of its name) is not the caller's
  // business: nothing was read under a partial lock set that matters, so run the operation again.
  for (int attempt = 1;; ++attempt) {
    WriteTxn txn = NewTxn();
    Result<T> r = stage(txn);
    if (!r.ok() && txn.lock_conflict() && attempt < kLockConflictRetries) {
      std::this_thread::yield();
      continue;
    }
    if (!r.ok() || txn.empty()) return r;
    SAGADB_RETURN_IF_ERROR(txn.Commit());
    return r;
  }
}

// ---------------------------------------------------------------------------------------------- create

Result<Instance> Datastore::StageCreateInstance(WriteTxn& txn, const InstanceSpec& spec) {
  SAGADB_RETURN_IF_ERROR(ValidateName(spec.project, "project"));
  SAGADB_RETURN_IF_ERROR(ValidateName(spec.name, "instance name"));
  if (spec.cpus == 0) return Status::InvalidRequest("an instance needs at least 1 cpu");
  if (spec.memory_bytes == 0) return Status::InvalidRequest("an instance needs memory");
  const std::string name_key = NameKey(spec.project, NameKind::kInstance, spec.name);
  SAGADB_RETURN_IF_ERROR(txn.Lock({spec.id}));
  SAGADB_RETURN_IF_ERROR(txn.LockKey(name_key));
  auto existing = ReadInstance(txn, spec.id);
  if (existing.ok()) {
    if (existing->state == InstanceState::kDestroyed) {
      return Status::Conflict(fmt::format("instance {} was destroyed; a new instance needs a new id", spec.id.ToString()));
    }
    if (existing->project == spec.project && existing->name == spec.name) return existing;  // a repeat
    return Status::Conflict(fmt::format("instance id {} is already in use", spec.id.ToString()));
  }
  if (!existing.status().IsNotFound()) return existing.status();
  auto owner = txn.Get(Cf::kNames, name_key);
  if (owner.ok()) {
    return Status::Conflict(
        fmt::format("an instance named \"{}\" already exists in project \"{}\"", spec.name, spec.project));
  }
  if (!owner.status().IsNotFound()) return owner.status();
  Instance r;
  r.id = spec.id;
  r.project = spec.project;
  r.name = spec.name;
  r.state = InstanceState::kCreating;
  r.cpus = spec.cpus;
  r.memory_bytes = spec.memory_bytes;
  r.saga_id = spec.saga_id;
  PutInstance(txn, r);
  txn.Put(Cf::kNames, name_key, r.id.AsBytes());
  return r;
}

Result<Disk> Datastore::StageCreateDisk(WriteTxn& txn, const DiskSpec& spec) {
  SAGADB_RETURN_IF_ERROR(ValidateName(spec.project, "project"));
  SAGADB_RETURN_IF_ERROR(ValidateName(spec.name, "disk name"));
  if (spec.size_bytes == 0) return Status::InvalidRequest("disk size must be greater than zero");
  const std::string name_key = NameKey(spec.project, NameKind::kDisk, spec.name);
  SAGADB_RETURN_IF_ERROR(txn.Lock({spec.id}));
  SAGADB_RETURN_IF_ERROR(txn.LockKey(name_key));
  auto existing = ReadDisk(txn, spec.id);
  if (existing.ok()) {
    if (existing->state == DiskState::kDestroyed) {
      return Status::Conflict(fmt::format("disk {} was destroyed; a new disk needs a new id", spec.id.ToString()));
    }
    if (existing->project == spec.project && existing->name == spec.name) return existing;  // a repeat
    return Status::Conflict(fmt::format("disk id {} is already in use", spec.id.ToString()));
  }
  if (!existing.status().IsNotFound()) return existing.status();
  auto owner = txn.Get(Cf::kNames, name_key);
  if (owner.ok()) {
    return Status::Conflict(
        fmt::format("a disk named \"{}\" already exists in project \"{}\"", spec.name, spec.project));
  }
  if (!owner.status().IsNotFound()) return owner.status();
  Disk r;
  r.id = spec.id;
  r.project = spec.project;
  r.name = spec.name;
  r.state = DiskState::kCreating;
  r.size_bytes = spec.size_bytes;
  r.saga_id = spec.saga_id;
  PutDisk(txn, r);
  txn.Put(Cf::kNames, name_key, r.id.AsBytes());
  return r;
}

// ---------------------------------------------------------------------------------------------- state changes

Result<Disk> Datastore::StageSetDiskState(WriteTxn& txn, const Uuid& disk_id, std::span<const DiskState> from,
                                          DiskState to) {
  SAGADB_RETURN_IF_ERROR(txn.Lock({disk_id}));
  SAGADB_ASSIGN_OR_RETURN(Disk disk, ReadDisk(txn, disk_id));
  if (disk.state == to) return disk;
  if (disk.state == DiskState::kDestroyed) return Status::NotFound(fmt::format("disk {} not found", disk_id.ToString()));
  // Only detach may end an attachment: it is what clears the slot and removes the disk from the instance.
  if (disk.instance_id) return Status::InvalidRequest("disk is attached to an instance; detach it first");
  if (!Contains(from, disk.state)) return StateError("disk", ToString(disk.state));
  if (to == DiskState::kAttached || to == DiskState::kDestroyed) {
    return Status::InvalidRequest("attach and delete have their own operations");
  }
  disk.state = to;
  PutDisk(txn, disk);
  return disk;
}

Result<Instance> Datastore::StageSetInstanceState(WriteTxn& txn, const Uuid& instance_id,
                                                  std::span<const InstanceState> from, InstanceState to) {
  SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id}));
  SAGADB_ASSIGN_OR_RETURN(Instance inst, ReadInstance(txn, instance_id));
  if (inst.state == to) return inst;
  if (inst.state == InstanceState::kDestroyed) {
    return Status::NotFound(fmt::format("instance {} not found", instance_id.ToString()));
  }
  if (!Contains(from, inst.state)) return StateError("instance", ToString(inst.state));
  if (to == InstanceState::kDestroyed) return Status::InvalidRequest("delete has its own operation");
  inst.state = to;
  PutInstance(txn, inst);
  return inst;
}

// ---------------------------------------------------------------------------------------------- attach / detach

Result<Disk> Datastore::StageAttachDisk(WriteTxn& txn, const Uuid& disk_id, const Uuid& instance_id) {
  // Both records are locked before either is read: the slot count check and the slot choice cannot race.
  SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id, disk_id}));
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
    if (*disk.instance_id == instance_id) return disk;  // already attached here: no write
    return Status::InvalidRequest("disk is attached to another instance");
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
  inst.attached.insert(inst.attached.begin() + slot, AttachedDisk{slot, disk_id});
  disk.state = DiskState::kAttached;
  disk.instance_id = instance_id;
  disk.slot = slot;
  PutInstance(txn, inst);
  PutDisk(txn, disk);
  return disk;
}

Result<Disk> Datastore::StageDetachDisk(WriteTxn& txn, const Uuid& disk_id, const Uuid& instance_id) {
  SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id, disk_id}));
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
  disk.state = DiskState::kDetached;
  disk.instance_id.reset();
  disk.slot = -1;
  PutInstance(txn, inst);
  PutDisk(txn, disk);
  return disk;
}

Result<Instance> Datastore::StageSetBootDisk(WriteTxn& txn, const Uuid& instance_id, std::optional<Uuid> disk_id) {
  if (disk_id) {
    SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id, *disk_id}));
  } else {
    SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id}));
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
  PutInstance(txn, inst);
  return inst;
}

// ---------------------------------------------------------------------------------------------- delete

Result<Disk> Datastore::StageDeleteDisk(WriteTxn& txn, const Uuid& disk_id, std::span<const DiskState> allowed) {
  SAGADB_RETURN_IF_ERROR(txn.Lock({disk_id}));
  SAGADB_ASSIGN_OR_RETURN(Disk disk, ReadDisk(txn, disk_id));
  if (disk.state == DiskState::kDestroyed) return disk;
  if (disk.instance_id || !Contains(allowed, disk.state)) {
    return Status::InvalidRequest(fmt::format("disk cannot be deleted in state \"{}\"", ToString(disk.state)));
  }
  const std::string name_key = NameKey(disk.project, NameKind::kDisk, disk.name);
  SAGADB_RETURN_IF_ERROR(txn.LockKey(name_key));
  disk.state = DiskState::kDestroyed;
  PutDisk(txn, disk);
  txn.Delete(Cf::kNames, name_key);
  return disk;
}

Result<Disk> Datastore::StageRestoreDisk(WriteTxn& txn, const Uuid& disk_id, DiskState to) {
  if (to != DiskState::kDetached && to != DiskState::kFaulted) {
    return Status::InvalidRequest(fmt::format("a disk cannot be restored to state \"{}\"", ToString(to)));
  }
  SAGADB_RETURN_IF_ERROR(txn.Lock({disk_id}));
  SAGADB_ASSIGN_OR_RETURN(Disk disk, ReadDisk(txn, disk_id));
  if (disk.state == to) return disk;
  if (disk.state != DiskState::kDestroyed) return StateError("disk", ToString(disk.state));
  const std::string name_key = NameKey(disk.project, NameKind::kDisk, disk.name);
  SAGADB_RETURN_IF_ERROR(txn.LockKey(name_key));
  auto owner = txn.Get(Cf::kNames, name_key);
  if (owner.ok() && *owner != disk_id.AsBytes()) {
    return Status::Conflict(fmt::format("disk {} cannot be restored: another disk is now named \"{}\"",
                                        disk_id.ToString(), disk.name));
  }
  if (!owner.ok() && !owner.status().IsNotFound()) return owner.status();
  disk.state = to;
  PutDisk(txn, disk);
  txn.Put(Cf::kNames, name_key, disk.id.AsBytes());
  return disk;
}

Result<Instance> Datastore::StageDeleteInstance(WriteTxn& txn, const Uuid& instance_id,
                                                std::span<const InstanceState> allowed) {
  SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id}));
  SAGADB_ASSIGN_OR_RETURN(Instance inst, ReadInstance(txn, instance_id));
  if (inst.state == InstanceState::kDestroyed) return inst;
  if (!Contains(allowed, inst.state)) {
    return Status::InvalidRequest(fmt::format("instance cannot be deleted in state \"{}\"", ToString(inst.state)));
  }
  if (!inst.attached.empty()) {
    return Status::InvalidRequest(
        fmt::format("instance cannot be deleted with {} disk(s) attached", inst.attached.size()));
  }
  const std::string name_key = NameKey(inst.project, NameKind::kInstance, inst.name);
  SAGADB_RETURN_IF_ERROR(txn.LockKey(name_key));
  inst.state = InstanceState::kDestroyed;
  inst.boot_disk_id.reset();
  PutInstance(txn, inst);
  txn.Delete(Cf::kNames, name_key);
  return inst;
}

// ---------------------------------------------------------------------------------------------- one-shot forms

Result<Instance> Datastore::CreateInstance(const InstanceSpec& spec) {
  return Apply<Instance>([&](WriteTxn& txn) { return StageCreateInstance(txn, spec); });
}
Result<Disk> Datastore::CreateDisk(const DiskSpec& spec) {
  return Apply<Disk>([&](WriteTxn& txn) { return StageCreateDisk(txn, spec); });
}
Result<Disk> Datastore::AttachDisk(const Uuid& disk, const Uuid& instance) {
  return Apply<Disk>([&](WriteTxn& txn) { return StageAttachDisk(txn, disk, instance); });
}
Result<Disk> Datastore::DetachDisk(const Uuid& disk, const Uuid& instance) {
  return Apply<Disk>([&](WriteTxn& txn) { return StageDetachDisk(txn, disk, instance); });
}
Result<Instance> Datastore::SetInstanceState(const Uuid& instance, std::span<const InstanceState> from,
                                             InstanceState to) {
  return Apply<Instance>([&](WriteTxn& txn) { return StageSetInstanceState(txn, instance, from, to); });
}
Result<Disk> Datastore::SetDiskState(const Uuid& disk, std::span<const DiskState> from, DiskState to) {
  return Apply<Disk>([&](WriteTxn& txn) { return StageSetDiskState(txn, disk, from, to); });
}
Result<Instance> Datastore::SetBootDisk(const Uuid& instance, std::optional<Uuid> disk) {
  return Apply<Instance>([&](WriteTxn& txn) { return StageSetBootDisk(txn, instance, disk); });
}
Result<Disk> Datastore::DeleteDisk(const Uuid& disk) {
  return Apply<Disk>([&](WriteTxn& txn) { return StageDeleteDisk(txn, disk, kApiDeletableDisk); });
}
Result<Instance> Datastore::DeleteInstance(const Uuid& instance) {
  return Apply<Instance>([&](WriteTxn& txn) { return StageDeleteInstance(txn, instance, kDeletableInstance); });
}

}  // namespace sagadb
