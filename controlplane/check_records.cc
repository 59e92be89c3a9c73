// Check's passes over the control plane's records (invariants 1, 2 and 3): the disks, then the instances, each
// walked in id order, with point lookups of what a record names.
#include <algorithm>

#include <fmt/format.h>

#include "controlplane/check_state.h"
#include "log/saga_log.h"
#include "schema/codec.h"

namespace sagadb::check_internal {
namespace {

std::string Id(const Uuid& id) { return id.ToString(); }

bool Unfinished(const std::optional<SagaState>& st) {
  return st && (*st == SagaState::kRunning || *st == SagaState::kUnwinding);
}

bool StuckOrAbandoned(const std::optional<SagaState>& st) {
  return st && (*st == SagaState::kStuck || *st == SagaState::kAbandoned || *st == SagaState::kPaused);
}

bool Failed(const std::optional<SagaState>& st) { return st && *st == SagaState::kFailed; }

// Walks one table, decoding each record; what does not decode (or names another id than its key) is a
// corruption finding and is skipped.
template <typename T, typename F>
void ForEachRecord(CheckState& s, TableId table, std::string_view name, F&& fn) {
  auto it = s.store->NewCursor(table, s.snap);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key();
    T record;
    std::string why;
    auto id = Uuid::FromBytes(key);
    if (!id) {
      s.Violation(check_kind::kCorruption, {Printable(key)}, fmt::format("{}: key is not a 16-byte id", name));
    } else if (!Decode(it->value(), &record, &why)) {
      s.Violation(check_kind::kCorruption, {id->ToString()}, fmt::format("{}/{}: {}", name, id->ToString(), why));
    } else if (record.id != *id) {
      s.Violation(check_kind::kCorruption, {id->ToString(), record.id.ToString()},
                  fmt::format("{}/{}: the record says it is {}", name, id->ToString(), record.id.ToString()));
    } else {
      fn(record);
    }
  }
  if (!it->status().ok()) s.Violation(check_kind::kCorruption, {}, it->status().ToString());
}

// Invariant 3 for one record in `creating`, and its rule when the creating saga is stuck or abandoned.
void CheckCreating(CheckState& s, const Uuid& id, std::string_view what, const char* kind,
                   const std::optional<Uuid>& saga_id) {
  const std::optional<SagaState> saga = s.SagaStateOf(saga_id);
  std::vector<std::string> ids{Id(id)};
  if (saga_id) ids.push_back(Id(*saga_id));
  if (Unfinished(saga)) {
    if (s.options.quiescent) {
      s.Violation(kind, ids,
                  fmt::format("{} {} is creating, and saga {} that creates it is {} while no saga is executing", what,
                              Id(id), Id(*saga_id), ToString(*saga)));
    }
  } else if (StuckOrAbandoned(saga)) {
    s.Note(kind, ids,
           fmt::format("{} {} is creating, held by saga {} which is {}", what, Id(id), Id(*saga_id), ToString(*saga)));
  } else if (saga) {
    s.Violation(kind, ids,
                fmt::format("{} {} is creating, but saga {} that creates it is {}", what, Id(id), Id(*saga_id),
                            ToString(*saga)));
  } else {
    s.Violation(kind, ids, fmt::format("{} {} is creating, and no saga is creating it", what, Id(id)));
  }
}

void CheckDisk(CheckState& s, const Disk& d) {
  using check_kind::kAttachment;
  const Uuid& id = d.id;
  s.report->disks++;
  const bool attached = d.state == DiskState::kAttached;
  if (attached != d.instance_id.has_value()) {
    s.Violation(kAttachment, {Id(id)},
                d.instance_id ? fmt::format("disk {} is {} but names instance {}", Id(id), ToString(d.state),
                                            Id(*d.instance_id))
                              : fmt::format("disk {} is attached but names no instance", Id(id)));
  }
  if (d.instance_id) {
    const Uuid& iid = *d.instance_id;
    Found<Instance> inst = s.GetInstance(iid);
    if (inst.what == Found<Instance>::kMissing) {
      s.Violation(kAttachment, {Id(id), Id(iid)},
                  fmt::format("disk {} is attached to instance {}, which does not exist", Id(id), Id(iid)));
    } else if (inst.found()) {
      const Instance& i = inst.value;
      if (i.state == InstanceState::kDestroyed) {
        s.Violation(kAttachment, {Id(id), Id(iid)},
                    fmt::format("disk {} is attached to instance {}, which is destroyed", Id(id), Id(iid)));
      }
      if (d.slot < 0 || d.slot >= kMaxDisksPerInstance) {
        s.Violation(kAttachment, {Id(id), Id(iid)}, fmt::format("disk {} is in slot {}, outside 0-11", Id(id), d.slot));
      }
      auto is_this = [&](const AttachedDisk& a) { return a.disk_id == id; };
      bool at_slot = std::any_of(i.attached.begin(), i.attached.end(),
                                 [&](const AttachedDisk& a) { return a.disk_id == id && a.slot == d.slot; });
      if (!at_slot) {
        s.Violation(kAttachment, {Id(id), Id(iid)},
                    fmt::format("disk {} says it is in slot {} of instance {}, which does not list it there", Id(id),
                                d.slot, Id(iid)));
      }
      if (d.state != DiskState::kDestroyed && std::none_of(i.attached.begin(), i.attached.end(), is_this)) {
        s.unlisted_naming[iid]++;
      }
    }
  }
  if (d.state != DiskState::kDestroyed && Failed(s.SagaStateOf(d.saga_id))) {
    s.Violation(check_kind::kLeak, {Id(id), Id(*d.saga_id)},
                fmt::format("disk {} is {}, but saga {} that created it failed", Id(id), ToString(d.state),
                            Id(*d.saga_id)));
  }
  if (d.state == DiskState::kCreating) CheckCreating(s, id, "disk", check_kind::kCreatingDisk, d.saga_id);
}

void CheckInstance(CheckState& s, const Instance& inst) {
  using check_kind::kAttachment;
  const Uuid& id = inst.id;
  s.report->instances++;
  if (inst.attached.size() > static_cast<size_t>(kMaxDisksPerInstance)) {
    s.Violation(kAttachment, {Id(id)},
                fmt::format("instance {} has {} disks attached, more than 12", Id(id), inst.attached.size()));
  }
  std::set<int> slots;
  size_t named = 0;  // non-destroyed disks that name this instance
  for (const auto& a : inst.attached) {
    if (a.slot < 0 || a.slot >= kMaxDisksPerInstance || !slots.insert(a.slot).second) {
      s.Violation(kAttachment, {Id(id), Id(a.disk_id)},
                  fmt::format("instance {} lists disk {} in slot {}, which is out of range or taken twice", Id(id),
                              Id(a.disk_id), a.slot));
    }
    Found<Disk> d = s.GetDisk(a.disk_id);
    if (d.what == Found<Disk>::kMissing) {
      s.Violation(kAttachment, {Id(id), Id(a.disk_id)},
                  fmt::format("instance {} lists disk {}, which does not exist", Id(id), Id(a.disk_id)));
    } else if (d.found()) {
      if (d.value.instance_id == id && d.value.state != DiskState::kDestroyed) named++;
      if (d.value.instance_id != id || d.value.state != DiskState::kAttached) {
        s.Violation(kAttachment, {Id(id), Id(a.disk_id)},
                    fmt::format("instance {} lists disk {}, which is {} and not attached to it", Id(id),
                                Id(a.disk_id), ToString(d.value.state)));
      }
    } else {
      named++;  // unreadable: not held against the count
    }
  }
  if (auto it = s.unlisted_naming.find(id); it != s.unlisted_naming.end()) named += it->second;
  if (named != inst.attached.size()) {
    s.Violation(kAttachment, {Id(id)},
                fmt::format("instance {} lists {} attached disks but {} disks name it", Id(id), inst.attached.size(),
                            named));
  }
  if (inst.boot_disk_id) {
    bool attached = std::any_of(inst.attached.begin(), inst.attached.end(),
                                [&](const AttachedDisk& a) { return a.disk_id == *inst.boot_disk_id; });
    if (!attached) {
      s.Violation(kAttachment, {Id(id), Id(*inst.boot_disk_id)},
                  fmt::format("instance {} boots from disk {}, which is not attached to it", Id(id),
                              Id(*inst.boot_disk_id)));
    }
  }
  if (inst.state != InstanceState::kDestroyed && Failed(s.SagaStateOf(inst.saga_id))) {
    s.Violation(check_kind::kLeak, {Id(id), Id(*inst.saga_id)},
                fmt::format("instance {} is {}, but saga {} that created it failed", Id(id), ToString(inst.state),
                            Id(*inst.saga_id)));
  }
  if (inst.state == InstanceState::kCreating) {
    CheckCreating(s, id, "instance", check_kind::kCreatingInstance, inst.saga_id);
  }
}

template <typename T>
Found<T> Lookup(CheckState& s, TableId table, std::string_view name, const Uuid& id, const Snapshot* view) {
  Found<T> f;
  auto bytes = s.store->Get(table, id.AsBytes(), view != nullptr ? view : s.snap);
  if (!bytes.ok()) {
    if (!bytes.status().IsNotFound()) {
      s.Violation(check_kind::kCorruption, {Id(id)}, fmt::format("reading {}/{}: {}", name, Id(id), bytes.status().ToString()));
      f.what = Found<T>::kUnreadable;
    }
    return f;
  }
  std::string why;
  f.what = Decode(*bytes, &f.value, &why) && f.value.id == id ? Found<T>::kFound : Found<T>::kUnreadable;
  return f;
}

}  // namespace

Found<Instance> CheckState::GetInstance(const Uuid& id, const Snapshot* view) {
  return Lookup<Instance>(*this, instances_table, kInstancesTable, id, view);
}

Found<Disk> CheckState::GetDisk(const Uuid& id, const Snapshot* view) {
  return Lookup<Disk>(*this, disks_table, kDisksTable, id, view);
}

std::optional<SagaState> CheckState::SagaStateOf(const std::optional<Uuid>& id) {
  if (!id) return std::nullopt;
  auto h = SagaLog(store).ReadHeader(*id, snap);
  if (!h.ok()) return std::nullopt;
  return h->state;
}

void CheckDisks(CheckState& s) {
  ForEachRecord<Disk>(s, s.disks_table, kDisksTable, [&](const Disk& d) { CheckDisk(s, d); });
}

void CheckInstances(CheckState& s) {
  ForEachRecord<Instance>(s, s.instances_table, kInstancesTable, [&](const Instance& i) { CheckInstance(s, i); });
}

}  // namespace sagadb::check_internal
