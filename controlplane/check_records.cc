// The record invariants of Check (1, 2, 3 and 6); the saga log ones are in check.cc.
#include <algorithm>

#include <fmt/format.h>
#include <filesystem>

#include "controlplane/check_state.h"

namespace sagadb::check_internal {
namespace {

std::string Id(const Uuid& id) { return id.ToString(); }

bool Unfinished(const SagaRecord* saga) {
  return saga != nullptr && (saga->state == SagaState::kRunning || saga->state == SagaState::kUnwinding);
}

bool StuckOrAbandoned(const SagaRecord* saga) {
  return saga != nullptr && (saga->state == SagaState::kStuck || saga->state == SagaState::kAbandoned);
}

bool Failed(const SagaRecord* saga) { return saga != nullptr && saga->state == SagaState::kFailed; }

}  // namespace

void CheckAttachments(CheckState& s) {
  using check_kind::kAttachment;
  // Disk side: what each disk says about its instance.
  std::map<Uuid, size_t> naming;  // instance -> live disks that name it
  for (const auto& entry : s.disks) {
    const Uuid& id = entry.first;  // (clang 14 lets no lambda capture a structured binding)
    const Disk& d = entry.second;
    const bool attached = d.state == DiskState::kAttached;
    if (attached != d.instance_id.has_value()) {
      s.Violation(kAttachment, {Id(id)},
                  d.instance_id ? fmt::format("disk {} is {} but names instance {}", Id(id), ToString(d.state),
                                              Id(*d.instance_id))
                                : fmt::format("disk {} is attached but names no instance", Id(id)));
    }
    if (!d.instance_id) continue;
    const Uuid& iid = *d.instance_id;
    if (d.state != DiskState::kDestroyed) naming[iid]++;
    auto it = s.instances.find(iid);
    if (it == s.instances.end()) {
      if (s.unreadable.count(iid) == 0) {
        s.Violation(kAttachment, {Id(id), Id(iid)},
                    fmt::format("disk {} is attached to instance {}, which does not exist", Id(id), Id(iid)));
      }
      continue;
    }
    const Instance& inst = it->second;
    if (inst.state == InstanceState::kDestroyed) {
      s.Violation(kAttachment, {Id(id), Id(iid)},
                  fmt::format("disk {} is attached to instance {}, which is destroyed", Id(id), Id(iid)));
    }
    if (d.slot < 0 || d.slot >= kMaxDisksPerInstance) {
      s.Violation(kAttachment, {Id(id), Id(iid)}, fmt::format("disk {} is in slot {}, outside 0-11", Id(id), d.slot));
    }
    bool listed = std::any_of(inst.attached.begin(), inst.attached.end(),
                              [&](const AttachedDisk& a) { return a.disk_id == id && a.slot == d.slot; });
    if (!listed) {
      s.Violation(kAttachment, {Id(id), Id(iid)},
                  fmt::format("disk {} says it is in slot {} of instance {}, which does not list it there", Id(id),
                              d.slot, Id(iid)));
    }
  }

  // Instance side: what each instance lists.
  for (const auto& entry : s.instances) {
    const Uuid& id = entry.first;
    const Instance& inst = entry.second;
    if (inst.attached.size() > static_cast<size_t>(kMaxDisksPerInstance)) {
      s.Violation(kAttachment, {Id(id)},
                  fmt::format("instance {} has {} disks attached, more than 12", Id(id), inst.attached.size()));
    }
    std::set<int> slots;
    for (const auto& a : inst.attached) {
      if (a.slot < 0 || a.slot >= kMaxDisksPerInstance || !slots.insert(a.slot).second) {
        s.Violation(kAttachment, {Id(id), Id(a.disk_id)},
                    fmt::format("instance {} lists disk {} in slot {}, which is out of range or taken twice", Id(id),
                                Id(a.disk_id), a.slot));
      }
      auto d = s.disks.find(a.disk_id);
      if (d == s.disks.end()) {
        if (s.unreadable.count(a.disk_id) == 0) {
          s.Violation(kAttachment, {Id(id), Id(a.disk_id)},
                      fmt::format("instance {} lists disk {}, which does not exist", Id(id), Id(a.disk_id)));
        }
      } else if (d->second.instance_id != id || d->second.state != DiskState::kAttached) {
        s.Violation(kAttachment, {Id(id), Id(a.disk_id)},
                    fmt::format("instance {} lists disk {}, which is {} and not attached to it", Id(id), Id(a.disk_id),
                                ToString(d->second.state)));
      }
    }
    const size_t named = naming.count(id) ? naming[id] : 0;
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
  }
}

void CheckLeaks(CheckState& s) {
  for (const auto& [id, inst] : s.instances) {
    if (inst.state != InstanceState::kDestroyed && Failed(s.SagaOf(inst.saga_id))) {
      s.Violation(check_kind::kLeak, {Id(id), Id(*inst.saga_id)},
                  fmt::format("instance {} is {}, but saga {} that created it failed", Id(id), ToString(inst.state),
                              Id(*inst.saga_id)));
    }
  }
  for (const auto& [id, d] : s.disks) {
    if (d.state != DiskState::kDestroyed && Failed(s.SagaOf(d.saga_id))) {
      s.Violation(check_kind::kLeak, {Id(id), Id(*d.saga_id)},
                  fmt::format("disk {} is {}, but saga {} that created it failed", Id(id), ToString(d.state),
                              Id(*d.saga_id)));
    }
  }
  // Volumes of such disks are reported by CheckVolumes, as leaks.
}

void CheckCreating(CheckState& s) {
  auto check = [&](const Uuid& id, std::string_view what, const char* kind, const std::optional<Uuid>& saga_id) {
    const SagaRecord* saga = s.SagaOf(saga_id);
    std::vector<std::string> ids{Id(id)};
    if (saga_id) ids.push_back(Id(*saga_id));
    if (Unfinished(saga)) {
      if (s.options.quiescent) {
        s.Violation(kind, ids,
                    fmt::format("{} {} is creating, and saga {} that creates it is {} while no saga is executing",
                                what, Id(id), Id(*saga_id), ToString(saga->state)));
      }
    } else if (StuckOrAbandoned(saga)) {
      s.Note(kind, ids,
             fmt::format("{} {} is creating, held by saga {} which is {}", what, Id(id), Id(*saga_id),
                         ToString(saga->state)));
    } else if (saga != nullptr) {
      s.Violation(kind, ids,
                  fmt::format("{} {} is creating, but saga {} that creates it is {}", what, Id(id), Id(*saga_id),
                              ToString(saga->state)));
    } else {
      s.Violation(kind, ids, fmt::format("{} {} is creating, and no saga is creating it", what, Id(id)));
    }
  };
  for (const auto& [id, inst] : s.instances) {
    if (inst.state == InstanceState::kCreating) check(id, "instance", check_kind::kCreatingInstance, inst.saga_id);
  }
  for (const auto& [id, d] : s.disks) {
    if (d.state == DiskState::kCreating) check(id, "disk", check_kind::kCreatingDisk, d.saga_id);
  }
}

void CheckVolumes(CheckState& s) {
  if (!s.volumes_listed) return;  // already reported
  for (const auto& [id, d] : s.disks) {
    if (d.state == DiskState::kDestroyed || d.state == DiskState::kCreating) continue;
    if (s.volumes.volumes.count(id) > 0) continue;
    // Listed before the snapshot: a volume made since (by a disk-create that then finalized) is found now.
    std::error_code ec;
    if (std::filesystem::exists(VolumePath(s.volumes_dir, id), ec)) continue;
    s.Violation(check_kind::kVolume, {Id(id)},
                fmt::format("disk {} is {} but has no volume file {}", Id(id), ToString(d.state),
                            VolumePath(s.volumes_dir, id)));
  }
  for (const auto& [id, file] : s.volumes.volumes) {
    auto it = s.disks.find(id);
    if (it == s.disks.end()) {
      if (s.unreadable.count(id) == 0) {
        s.Violation(check_kind::kVolume, {Id(id)},
                    fmt::format("volume {} belongs to no disk (no record of disk {})", file, Id(id)));
      }
      continue;
    }
    const Disk& d = it->second;
    if (d.state != DiskState::kDestroyed) continue;
    if (!s.options.quiescent && s.in_flight_disks.count(id) > 0) continue;  // a disk-delete between its steps
    if (Failed(s.SagaOf(d.saga_id))) {
      s.Violation(check_kind::kLeak, {Id(id), Id(*d.saga_id)},
                  fmt::format("volume {} of disk {} remains, but saga {} that created it failed", file, Id(id),
                              Id(*d.saga_id)));
    } else {
      s.Violation(check_kind::kVolume, {Id(id)}, fmt::format("volume {} belongs to destroyed disk {}", file, Id(id)));
    }
  }
  for (const auto& name : s.volumes.other_files) {
    s.Note(check_kind::kOtherFile, {name}, fmt::format("{} in the volumes directory is not a volume", name));
  }
}

}  // namespace sagadb::check_internal
