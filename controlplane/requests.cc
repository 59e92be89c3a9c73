#include "controlplane/requests.h"

#include <fmt/format.h>

#include <set>

#include "controlplane/names.h"
#include "schema/records.h"

namespace sagadb {

Status ValidateDiskCreate(const DiskCreateParams& p) {
  SAGADB_RETURN_IF_ERROR(ValidateName(p.project, "project"));
  SAGADB_RETURN_IF_ERROR(ValidateName(p.name, "disk name"));
  if (p.size_bytes == 0) {
    return Status::InvalidRequest(fmt::format("disk \"{}\": size must be greater than zero", p.name));
  }
  if (p.disk_id.IsNil()) return Status::InvalidRequest(fmt::format("disk \"{}\" has no id", p.name));
  return Status::OK();
}

Status ValidateInstanceCreate(const InstanceCreateParams& p) {
  SAGADB_RETURN_IF_ERROR(ValidateName(p.project, "project"));
  SAGADB_RETURN_IF_ERROR(ValidateName(p.name, "instance name"));
  if (p.cpus == 0) return Status::InvalidRequest("an instance needs at least 1 cpu");
  if (p.memory_bytes == 0) return Status::InvalidRequest("an instance needs memory");
  if (p.instance_id.IsNil()) return Status::InvalidRequest("the instance has no id");
  if (p.disks.size() > static_cast<size_t>(kMaxDisksPerInstance)) {
    return Status::InvalidRequest(
        fmt::format("an instance can have at most {} disks ({} requested)", kMaxDisksPerInstance, p.disks.size()));
  }
  std::set<std::string> names;
  std::set<Uuid> ids{p.instance_id};
  for (const auto& d : p.disks) {
    if (d.project != p.project) {
      return Status::InvalidRequest(fmt::format("disk \"{}\" is not in the instance's project", d.name));
    }
    SAGADB_RETURN_IF_ERROR(ValidateDiskCreate(d));
    if (!names.insert(d.name).second) {
      return Status::InvalidRequest(fmt::format("two disks are named \"{}\"", d.name));
    }
    if (!ids.insert(d.disk_id).second) {
      return Status::InvalidRequest(fmt::format("disk \"{}\" reuses id {}", d.name, d.disk_id.ToString()));
    }
  }
  return Status::OK();
}

Result<InstanceCreateParams> PlanInstanceCreate(const InstanceCreateRequest& r) {
  InstanceCreateParams p;
  p.instance_id = Uuid::Generate();
  p.project = r.project;
  p.name = r.name;
  p.cpus = r.cpus;
  p.memory_bytes = r.memory_bytes;
  for (const auto& d : r.disks) p.disks.push_back(DiskCreateParams{Uuid::Generate(), r.project, d.name, d.size_bytes});
  SAGADB_RETURN_IF_ERROR(ValidateInstanceCreate(p));
  return p;
}

Result<DiskCreateParams> PlanDiskCreate(const DiskCreateRequest& r) {
  DiskCreateParams p{Uuid::Generate(), r.project, r.name, r.size_bytes};
  SAGADB_RETURN_IF_ERROR(ValidateDiskCreate(p));
  return p;
}

}  // namespace sagadb
