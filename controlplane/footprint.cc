#include "controlplane/footprint.h"

#include "sagadb/action.h"
#include "controlplane/disk_sagas.h"
#include "controlplane/instance_sagas.h"

namespace sagadb {

SagaFootprint FootprintOf(std::string_view kind, const Json& params) {
  SagaFootprint f;
  if (kind == kDiskCreateSaga) {
    if (auto p = FromJson<DiskCreateParams>(params, "params"); p.ok()) f.disks = {p->disk_id};
  } else if (kind == kDiskDeleteSaga) {
    if (auto p = FromJson<DiskDeleteParams>(params, "params"); p.ok()) f.disks = {p->disk_id};
  } else if (kind == kDiskAttachSaga || kind == kDiskDetachSaga) {
    if (auto p = FromJson<DiskAttachParams>(params, "params"); p.ok()) {
      f.disks = {p->disk_id};
      f.instances = {p->instance_id};
    }
  } else if (kind == kInstanceCreateSaga) {
    if (auto p = FromJson<InstanceCreateParams>(params, "params"); p.ok()) {
      f.instances = {p->instance_id};
      for (const auto& d : p->disks) f.disks.push_back(d.disk_id);
    }
  } else if (kind == kInstanceDeleteSaga) {
    if (auto p = FromJson<InstanceDeleteParams>(params, "params"); p.ok()) {
      f.instances = {p->instance_id};
      f.disks = p->disk_ids;
    }
  }
  return f;
}

}  // namespace sagadb
