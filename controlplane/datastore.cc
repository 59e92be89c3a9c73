#include "controlplane/datastore.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "base/clock.h"
#include "engine/keys.h"
#include "controlplane/names.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

template <typename S>
bool Contains(std::span<const S> states, S s) {
  return std::find(states.begin(), states.end(), s) != states.end();
}

template <typename T>
Result<T> DecodeAs(std::string_view table, std::string_view key, std::string_view bytes) {
  T record;
  std::string why;
  if (!Decode(bytes, &record, &why)) {
    std::string printable = key.size() == 16 ? Uuid::FromBytes(key)->ToString() : std::string(key);
    return Status::Corruption(fmt::format("{}/{}: {}", table, printable, why));
  }
  return record;
}

template <typename T>
Listing<T> Scan(const Store& store, TableId table) {
  Listing<T> out;
  const std::string_view name = store.TableName(table);
  auto it = store.NewCursor(table);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto r = DecodeAs<T>(name, it->key(), it->value());
    if (r.ok()) {
      out.records.push_back(std::move(*r));
    } else {
      out.errors.push_back(r.status());
    }
  }
  if (!it->status().ok()) out.errors.push_back(it->status());
  return out;
}

template <typename T>
Status Walk(const Store& store, TableId table, const std::optional<Uuid>& after,
            const std::function<bool(const T&)>& fn, std::vector<Status>* errors) {
  const std::string_view name = store.TableName(table);
  auto it = store.NewCursor(table);
  if (after) {
    it->Seek(after->AsBytes());
    if (it->Valid() && it->key() == after->AsBytes()) it->Next();
  } else {
    it->SeekToFirst();
  }
  for (; it->Valid(); it->Next()) {
    auto r = DecodeAs<T>(name, it->key(), it->value());
    if (!r.ok()) {
      errors->push_back(r.status());
    } else if (!fn(*r)) {
      return Status::OK();
    }
  }
  return it->status();
}

}  // namespace

Status Datastore::ForEachInstance(const std::optional<Uuid>& after, const std::function<bool(const Instance&)>& fn,
                                  std::vector<Status>* errors) const {
  return Walk<Instance>(*store_, instances_, after, fn, errors);
}

Status Datastore::ForEachDisk(const std::optional<Uuid>& after, const std::function<bool(const Disk&)>& fn,
                              std::vector<Status>* errors) const {
  return Walk<Disk>(*store_, disks_, after, fn, errors);
}

Status Datastore::StateError(std::string_view what, std::string_view state) {
  return Status::InvalidRequest(fmt::format("{} is in state \"{}\"", what, state));
}

Result<std::unique_ptr<Datastore>> Datastore::Open(Store* store, KeyLocks* locks) {
  SAGADB_ASSIGN_OR_RETURN(TableId instances, store->FindTable(kInstancesTable));
  SAGADB_ASSIGN_OR_RETURN(TableId disks, store->FindTable(kDisksTable));
  SAGADB_ASSIGN_OR_RETURN(TableId names, store->FindTable(kNamesTable));
  return std::unique_ptr<Datastore>(new Datastore(store, locks, instances, disks, names));
}

// ---------------------------------------------------------------------------------------------- reads

Result<Instance> Datastore::GetInstance(const Uuid& id) const {
  auto bytes = store_->Get(instances_, id.AsBytes());
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return Status::NotFound(fmt::format("instance {} not found", id.ToString()));
    return bytes.status();
  }
  return DecodeAs<Instance>(kInstancesTable, id.AsBytes(), *bytes);
}

Result<Disk> Datastore::GetDisk(const Uuid& id) const {
  auto bytes = store_->Get(disks_, id.AsBytes());
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return Status::NotFound(fmt::format("disk {} not found", id.ToString()));
    return bytes.status();
  }
  return DecodeAs<Disk>(kDisksTable, id.AsBytes(), *bytes);
}

Result<Uuid> Datastore::Lookup(std::string_view key) const {
  auto bytes = store_->Get(names_, key);
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

Listing<Instance> Datastore::ListInstances() const { return Scan<Instance>(*store_, instances_); }
Listing<Disk> Datastore::ListDisks() const { return Scan<Disk>(*store_, disks_); }

// ---------------------------------------------------------------------------------------------- txn helpers

Result<Instance> Datastore::ReadInstance(Txn& txn, const Uuid& id) {
  auto bytes = txn.Get(kInstancesTable, id.AsBytes());
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return Status::NotFound(fmt::format("instance {} not found", id.ToString()));
    return bytes.status();
  }
  return DecodeAs<Instance>(kInstancesTable, id.AsBytes(), *bytes);
}

Result<Disk> Datastore::ReadDisk(Txn& txn, const Uuid& id) {
  auto bytes = txn.Get(kDisksTable, id.AsBytes());
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return Status::NotFound(fmt::format("disk {} not found", id.ToString()));
    return bytes.status();
  }
  return DecodeAs<Disk>(kDisksTable, id.AsBytes(), *bytes);
}

Status Datastore::PutInstance(Txn& txn, Instance& r) {
  r.generation++;
  r.modified_ns = NowNs();
  if (r.created_ns == 0) r.created_ns = r.modified_ns;
  return txn.Put(kInstancesTable, r.id.AsBytes(), Encode(r));
}

Status Datastore::PutDisk(Txn& txn, Disk& r) {
  r.generation++;
  r.modified_ns = NowNs();
  if (r.created_ns == 0) r.created_ns = r.modified_ns;
  return txn.Put(kDisksTable, r.id.AsBytes(), Encode(r));
}

template <typename T, typename F>
Result<T> Datastore::Apply(F&& stage) {
  // A lock-order conflict (the record's stripe, then a lower busy stripe of its name) is not the caller's
  // business: nothing was read under a partial lock set that matters, so run the operation again.
  if (locks_ == nullptr) return Status::InvalidRequest("this datastore reads only (it has no record locks)");
  for (int attempt = 1;; ++attempt) {
    WriteTxn txn(store_, locks_);
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

Result<Instance> Datastore::StageCreateInstance(Txn& txn, const InstanceSpec& spec) {
  SAGADB_RETURN_IF_ERROR(ValidateName(spec.project, "project"));
  SAGADB_RETURN_IF_ERROR(ValidateName(spec.name, "instance name"));
  if (spec.cpus == 0) return Status::InvalidRequest("an instance needs at least 1 cpu");
  if (spec.memory_bytes == 0) return Status::InvalidRequest("an instance needs memory");
  const std::string name_key = NameKey(spec.project, NameKind::kInstance, spec.name);
  SAGADB_RETURN_IF_ERROR(txn.Lock(spec.id));
  SAGADB_RETURN_IF_ERROR(txn.Lock({name_key}));
  auto existing = ReadInstance(txn, spec.id);
  if (existing.ok()) {
    if (existing->state == InstanceState::kDestroyed) {
      return Status::Conflict(fmt::format("instance {} was destroyed; a new instance needs a new id", spec.id.ToString()));
    }
    if (existing->project == spec.project && existing->name == spec.name) return existing;  // a repeat
    return Status::Conflict(fmt::format("instance id {} is already in use", spec.id.ToString()));
  }
  if (!existing.status().IsNotFound()) return existing.status();
  auto owner = txn.Get(kNamesTable, name_key);
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
  SAGADB_RETURN_IF_ERROR(PutInstance(txn, r));
  SAGADB_RETURN_IF_ERROR(txn.Put(kNamesTable, name_key, r.id.AsBytes()));
  return r;
}

Result<Disk> Datastore::StageCreateDisk(Txn& txn, const DiskSpec& spec) {
  SAGADB_RETURN_IF_ERROR(ValidateName(spec.project, "project"));
  SAGADB_RETURN_IF_ERROR(ValidateName(spec.name, "disk name"));
  if (spec.size_bytes == 0) return Status::InvalidRequest("disk size must be greater than zero");
  const std::string name_key = NameKey(spec.project, NameKind::kDisk, spec.name);
  SAGADB_RETURN_IF_ERROR(txn.Lock(spec.id));
  SAGADB_RETURN_IF_ERROR(txn.Lock({name_key}));
  auto existing = ReadDisk(txn, spec.id);
  if (existing.ok()) {
    if (existing->state == DiskState::kDestroyed) {
      return Status::Conflict(fmt::format("disk {} was destroyed; a new disk needs a new id", spec.id.ToString()));
    }
    if (existing->project == spec.project && existing->name == spec.name) return existing;  // a repeat
    return Status::Conflict(fmt::format("disk id {} is already in use", spec.id.ToString()));
  }
  if (!existing.status().IsNotFound()) return existing.status();
  auto owner = txn.Get(kNamesTable, name_key);
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
  SAGADB_RETURN_IF_ERROR(PutDisk(txn, r));
  SAGADB_RETURN_IF_ERROR(txn.Put(kNamesTable, name_key, r.id.AsBytes()));
  return r;
}

// ---------------------------------------------------------------------------------------------- state changes

Result<Disk> Datastore::StageSetDiskState(Txn& txn, const Uuid& disk_id, std::span<const DiskState> from,
                                          DiskState to) {
  SAGADB_RETURN_IF_ERROR(txn.Lock(disk_id));
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
  SAGADB_RETURN_IF_ERROR(PutDisk(txn, disk));
  return disk;
}

Result<Instance> Datastore::StageSetInstanceState(Txn& txn, const Uuid& instance_id,
                                                  std::span<const InstanceState> from, InstanceState to) {
  SAGADB_RETURN_IF_ERROR(txn.Lock(instance_id));
  SAGADB_ASSIGN_OR_RETURN(Instance inst, ReadInstance(txn, instance_id));
  if (inst.state == to) return inst;
  if (inst.state == InstanceState::kDestroyed) {
    return Status::NotFound(fmt::format("instance {} not found", instance_id.ToString()));
  }
  if (!Contains(from, inst.state)) return StateError("instance", ToString(inst.state));
  if (to == InstanceState::kDestroyed) return Status::InvalidRequest("delete has its own operation");
  inst.state = to;
  SAGADB_RETURN_IF_ERROR(PutInstance(txn, inst));
  return inst;
}

// ---------------------------------------------------------------------------------------------- delete

Result<Disk> Datastore::StageDeleteDisk(Txn& txn, const Uuid& disk_id, std::span<const DiskState> allowed) {
  SAGADB_RETURN_IF_ERROR(txn.Lock(disk_id));
  SAGADB_ASSIGN_OR_RETURN(Disk disk, ReadDisk(txn, disk_id));
  if (disk.state == DiskState::kDestroyed) return disk;
  if (disk.instance_id || !Contains(allowed, disk.state)) {
    return Status::InvalidRequest(fmt::format("disk cannot be deleted in state \"{}\"", ToString(disk.state)));
  }
  const std::string name_key = NameKey(disk.project, NameKind::kDisk, disk.name);
  SAGADB_RETURN_IF_ERROR(txn.Lock({name_key}));
  disk.state = DiskState::kDestroyed;
  SAGADB_RETURN_IF_ERROR(PutDisk(txn, disk));
  SAGADB_RETURN_IF_ERROR(txn.Delete(kNamesTable, name_key));
  return disk;
}

Result<Disk> Datastore::StageRestoreDisk(Txn& txn, const Uuid& disk_id, DiskState to) {
  if (to != DiskState::kDetached && to != DiskState::kFaulted) {
    return Status::InvalidRequest(fmt::format("a disk cannot be restored to state \"{}\"", ToString(to)));
  }
  SAGADB_RETURN_IF_ERROR(txn.Lock(disk_id));
  SAGADB_ASSIGN_OR_RETURN(Disk disk, ReadDisk(txn, disk_id));
  if (disk.state == to) return disk;
  if (disk.state != DiskState::kDestroyed) return StateError("disk", ToString(disk.state));
  const std::string name_key = NameKey(disk.project, NameKind::kDisk, disk.name);
  SAGADB_RETURN_IF_ERROR(txn.Lock({name_key}));
  auto owner = txn.Get(kNamesTable, name_key);
  if (owner.ok() && *owner != disk_id.AsBytes()) {
    return Status::Conflict(fmt::format("disk {} cannot be restored: another disk is now named \"{}\"",
                                        disk_id.ToString(), disk.name));
  }
  if (!owner.ok() && !owner.status().IsNotFound()) return owner.status();
  disk.state = to;
  SAGADB_RETURN_IF_ERROR(PutDisk(txn, disk));
  SAGADB_RETURN_IF_ERROR(txn.Put(kNamesTable, name_key, disk.id.AsBytes()));
  return disk;
}

Result<Instance> Datastore::StageDeleteInstance(Txn& txn, const Uuid& instance_id,
                                                std::span<const InstanceState> allowed) {
  SAGADB_RETURN_IF_ERROR(txn.Lock(instance_id));
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
  SAGADB_RETURN_IF_ERROR(txn.Lock({name_key}));
  inst.state = InstanceState::kDestroyed;
  inst.boot_disk_id.reset();
  SAGADB_RETURN_IF_ERROR(PutInstance(txn, inst));
  SAGADB_RETURN_IF_ERROR(txn.Delete(kNamesTable, name_key));
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
