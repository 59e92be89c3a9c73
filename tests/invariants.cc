#include "tests/invariants.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace sagadb::testing {
namespace {

std::string Describe(const Disk& d) { return fmt::format("disk {} ({})", d.id.ToString(), d.name); }
std::string Describe(const Instance& i) { return fmt::format("instance {} ({})", i.id.ToString(), i.name); }

bool InSlotRange(int slot) { return slot >= 0 && slot < kMaxDisksPerInstance; }

}  // namespace

std::vector<std::string> CheckAttachments(std::span<const Instance> instances, std::span<const Disk> disks) {
  std::vector<std::string> out;
  std::map<Uuid, const Instance*> instance_by_id;
  for (const Instance& i : instances) instance_by_id[i.id] = &i;
  std::map<Uuid, const Disk*> disk_by_id;
  for (const Disk& d : disks) disk_by_id[d.id] = &d;
  std::map<Uuid, size_t> naming;  // instance id -> disks that name it

  for (const Disk& d : disks) {
    const bool attached = d.state == DiskState::kAttached;
    if (attached && !d.instance_id) {
      out.push_back(fmt::format("{} is attached but names no instance", Describe(d)));
      continue;
    }
    if (!d.instance_id) {
      if (d.slot != -1) out.push_back(fmt::format("{} is {} but has slot {}", Describe(d), ToString(d.state), d.slot));
      continue;
    }
    if (!attached) {
      out.push_back(fmt::format("{} is {} but names instance {}", Describe(d), ToString(d.state),
                                d.instance_id->ToString()));
    }
    if (!InSlotRange(d.slot)) out.push_back(fmt::format("{} has slot {}, outside 0-11", Describe(d), d.slot));
    auto it = instance_by_id.find(*d.instance_id);
    if (it == instance_by_id.end()) {
      out.push_back(fmt::format("{} names instance {}, which does not exist", Describe(d), d.instance_id->ToString()));
      continue;
    }
    const Instance& inst = *it->second;
    ++naming[inst.id];
    if (inst.state == InstanceState::kDestroyed) {
      out.push_back(fmt::format("{} names {}, which is destroyed", Describe(d), Describe(inst)));
    }
    const AttachedDisk entry{d.slot, d.id};
    if (std::find(inst.attached.begin(), inst.attached.end(), entry) == inst.attached.end()) {
      out.push_back(fmt::format("{} names {} at slot {}, which does not list it there", Describe(d), Describe(inst),
                                d.slot));
    }
  }

  for (const Instance& inst : instances) {
    if (inst.attached.size() > static_cast<size_t>(kMaxDisksPerInstance)) {
      out.push_back(fmt::format("{} has {} disks attached, more than {}", Describe(inst), inst.attached.size(),
                                kMaxDisksPerInstance));
    }
    std::set<int> slots;
    for (const AttachedDisk& a : inst.attached) {
      if (!InSlotRange(a.slot)) {
        out.push_back(fmt::format("{} lists disk {} at slot {}, outside 0-11", Describe(inst),
                                  a.disk_id.ToString(), a.slot));
      }
      if (!slots.insert(a.slot).second) out.push_back(fmt::format("{} uses slot {} twice", Describe(inst), a.slot));
      auto it = disk_by_id.find(a.disk_id);
      if (it == disk_by_id.end()) {
        out.push_back(fmt::format("{} lists disk {} at slot {}, which does not exist", Describe(inst),
                                  a.disk_id.ToString(), a.slot));
      } else if (it->second->instance_id != inst.id || it->second->slot != a.slot) {
        out.push_back(fmt::format("{} lists {} at slot {}, which does not name it there", Describe(inst),
                                  Describe(*it->second), a.slot));
      }
    }
    const size_t named = naming.count(inst.id) ? naming[inst.id] : 0;
    if (named != inst.attached.size()) {
      out.push_back(fmt::format("{} lists {} attached disks but {} disks name it", Describe(inst),
                                inst.attached.size(), named));
    }
  }
  return out;
}

std::vector<std::string> CheckAttachments(const Datastore& datastore) {
  Listing<Instance> instances = datastore.ListInstances();
  Listing<Disk> disks = datastore.ListDisks();
  std::vector<std::string> out;
  for (const Status& s : instances.errors) out.push_back("unreadable instance record: " + s.ToString());
  for (const Status& s : disks.errors) out.push_back("unreadable disk record: " + s.ToString());
  auto more = CheckAttachments(instances.records, disks.records);
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

}  // namespace sagadb::testing
