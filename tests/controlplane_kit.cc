#include "tests/controlplane_kit.h"

#include <fmt/format.h>

#include <memory>

#include "controlplane/check.h"
#include "controlplane/control_plane.h"
#include "controlplane/datastore.h"
#include "controlplane/disk_sagas.h"
#include "controlplane/instance_sagas.h"
#include "controlplane/requests.h"
#include "controlplane/volumes.h"
#include "db/database_impl.h"
#include "sagadb/control_plane.h"

namespace sagadb::testing {
namespace {

constexpr char kProject[] = "proj";
constexpr uint64_t kDiskSize = 1ull << 30;  // sparse: costs no space

InstanceCreateRequest Request(const std::string& name, int disks) {
  InstanceCreateRequest r{kProject, name, 2, 1ull << 30, {}};
  for (int i = 0; i < disks; ++i) r.disks.push_back(DiskRequest{fmt::format("{}-d{}", name, i), kDiskSize});
  return r;
}

std::shared_ptr<ControlPlaneDomain> DomainOf(const RunContext& ctx) {
  return std::dynamic_pointer_cast<ControlPlaneDomain>(ctx.domains.at(0));
}

Result<std::unique_ptr<ControlPlane>> Attach(const RunContext& ctx) {
  return ControlPlane::Attach(&ctx.db, DomainOf(ctx));
}

// Runs a saga of the setup; it must succeed.
Status RunOk(const Result<SagaHandle>& h) {
  if (!h.ok()) return h.status();
  auto r = h->Wait();
  if (!r.ok()) return r.status();
  if (r->state != SagaState::kSucceeded) return Status::Internal(fmt::format("setup saga ended {}", ToString(r->state)));
  return Status::OK();
}

// Check (quiescent) finds nothing.
Status Clean(const RunContext& ctx) {
  CheckOptions o;
  o.quiescent = true;
  CheckReport report = Check(ctx.db.impl().store(), DomainOf(ctx)->volumes_dir(), o);
  return report.ok() ? Status::OK() : Status::Internal(Describe(report));
}

// The live world as a value: what a failed saga must leave exactly as it found it.
Result<Json> WorldSnapshot(const RunContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto datastore, Datastore::Open(&ctx.db.impl().store()));
  Json world = {{"instances", Json::object()}, {"disks", Json::object()}, {"volumes", Json::array()}};
  auto instances = datastore->ListInstances();
  auto disks = datastore->ListDisks();
  if (!instances.errors.empty() || !disks.errors.empty()) return Status::Corruption("records fail to decode");
  for (const Instance& i : instances.records) {
    if (i.state == InstanceState::kDestroyed) continue;
    std::set<std::string> attached;  // a set: which slot a disk gets depends on the order attaches ran in
    for (const auto& a : i.attached) attached.insert(a.disk_id.ToString());
    world["instances"][i.id.ToString()] = {{"name", i.name},
                                           {"state", ToString(i.state)},
                                           {"boot", i.boot_disk_id ? i.boot_disk_id->ToString() : ""},
                                           {"disks", attached}};
  }
  for (const Disk& d : disks.records) {
    if (d.state == DiskState::kDestroyed) continue;
    world["disks"][d.id.ToString()] = {
        {"name", d.name}, {"state", ToString(d.state)}, {"instance", d.instance_id ? d.instance_id->ToString() : ""}};
  }
  SAGADB_ASSIGN_OR_RETURN(auto volumes, ListVolumes(DomainOf(ctx)->volumes_dir()));
  for (const auto& [id, file] : volumes.volumes) world["volumes"].push_back(id.ToString());
  return world;
}

Status Expect(bool ok, const std::string& what) { return ok ? Status::OK() : Status::Internal(what); }

}  // namespace

SagaUnderTest ControlPlaneSagaUnderTest(const std::string& kind, int disks) {
  SagaUnderTest s;
  s.name = kind;
  s.domains = [](const std::string& dir) { return Domains{std::make_shared<ControlPlaneDomain>(dir + "/db")}; };
  s.snapshot = WorldSnapshot;
  s.check_unchanged = Clean;  // and the snapshot equals the one before
  const auto instance = *PlanInstanceCreate(Request(kind == kInstanceCreateSaga ? "web" : "base", disks));
  const auto disk = *PlanDiskCreate(DiskCreateRequest{kProject, "extra", kDiskSize});
  auto create_instance = [instance](RunContext& ctx) -> Status {
    SAGADB_ASSIGN_OR_RETURN(auto cp, Attach(ctx));
    return RunOk(StartInstanceCreate(*cp, instance, {}));
  };
  auto create_disk = [disk](RunContext& ctx) -> Status {
    SAGADB_ASSIGN_OR_RETURN(auto cp, Attach(ctx));
    return RunOk(StartDiskCreate(*cp, disk, {}));
  };
  auto disk_state = [](const RunContext& ctx, const Uuid& id) -> Result<Disk> {
    SAGADB_ASSIGN_OR_RETURN(auto cp, Attach(ctx));
    return cp->GetDisk(id);
  };
  auto instance_state = [](const RunContext& ctx, const Uuid& id) -> Result<Instance> {
    SAGADB_ASSIGN_OR_RETURN(auto cp, Attach(ctx));
    return cp->GetInstance(id);
  };

  if (kind == kDiskCreateSaga) {
    s.params = Json(disk);
    s.dag = [](const Json&) -> Result<SagaDag> { return DiskCreateDag(); };
    s.check_succeeded = [disk, disk_state](const RunContext& ctx) -> Status {
      SAGADB_RETURN_IF_ERROR(Clean(ctx));
      SAGADB_ASSIGN_OR_RETURN(Disk d, disk_state(ctx, disk.disk_id));
      return Expect(d.state == DiskState::kDetached, "the new disk is not detached");
    };
  } else if (kind == kInstanceCreateSaga) {
    s.params = Json(instance);
    s.dag = [](const Json& params) -> Result<SagaDag> {
      SAGADB_ASSIGN_OR_RETURN(auto p, FromJson<InstanceCreateParams>(params, "params"));
      return InstanceCreateDag(p);
    };
    s.check_succeeded = [instance, instance_state](const RunContext& ctx) -> Status {
      SAGADB_RETURN_IF_ERROR(Clean(ctx));
      SAGADB_ASSIGN_OR_RETURN(Instance i, instance_state(ctx, instance.instance_id));
      SAGADB_RETURN_IF_ERROR(Expect(i.state == InstanceState::kStopped, "the new instance is not stopped"));
      SAGADB_RETURN_IF_ERROR(Expect(i.attached.size() == instance.disks.size(), "the new instance lacks disks"));
      return Expect(instance.disks.empty() || i.boot_disk_id == instance.disks[0].disk_id, "the boot disk is wrong");
    };
  } else if (kind == kInstanceDeleteSaga) {
    InstanceDeleteParams p{instance.instance_id, {}};
    for (const auto& d : instance.disks) p.disk_ids.push_back(d.disk_id);
    s.params = Json(p);
    s.setup = create_instance;
    s.dag = [](const Json& params) -> Result<SagaDag> {
      SAGADB_ASSIGN_OR_RETURN(auto p, FromJson<InstanceDeleteParams>(params, "params"));
      return InstanceDeleteDag(p);
    };
    s.check_succeeded = [instance, instance_state, disk_state](const RunContext& ctx) -> Status {
      SAGADB_RETURN_IF_ERROR(Clean(ctx));
      SAGADB_ASSIGN_OR_RETURN(Instance i, instance_state(ctx, instance.instance_id));
      SAGADB_RETURN_IF_ERROR(Expect(i.state == InstanceState::kDestroyed, "the instance is not destroyed"));
      for (const auto& d : instance.disks) {
        SAGADB_ASSIGN_OR_RETURN(Disk disk, disk_state(ctx, d.disk_id));
        SAGADB_RETURN_IF_ERROR(Expect(disk.state == DiskState::kDetached, "a disk of it is not detached"));
      }
      return Status::OK();
    };
  } else if (kind == kDiskDeleteSaga) {
    s.params = Json(DiskDeleteParams{disk.disk_id});
    s.setup = create_disk;
    s.dag = [](const Json&) -> Result<SagaDag> { return DiskDeleteDag(); };
    s.check_succeeded = [disk, disk_state](const RunContext& ctx) -> Status {
      SAGADB_RETURN_IF_ERROR(Clean(ctx));
      SAGADB_ASSIGN_OR_RETURN(Disk d, disk_state(ctx, disk.disk_id));
      return Expect(d.state == DiskState::kDestroyed, "the disk is not destroyed");
    };
  } else if (kind == kDiskAttachSaga || kind == kDiskDetachSaga) {
    const bool attach = kind == kDiskAttachSaga;
    // Attach: an extra disk to the instance. Detach: the instance's second disk (the first one boots it).
    const Uuid target = attach ? disk.disk_id : instance.disks.at(1).disk_id;
    s.params = Json(DiskAttachParams{target, instance.instance_id});
    s.setup = [attach, create_instance, create_disk](RunContext& ctx) -> Status {
      SAGADB_RETURN_IF_ERROR(create_instance(ctx));
      return attach ? create_disk(ctx) : Status::OK();
    };
    s.dag = [attach](const Json&) -> Result<SagaDag> { return attach ? DiskAttachDag() : DiskDetachDag(); };
    s.check_succeeded = [attach, target, instance, disk_state](const RunContext& ctx) -> Status {
      SAGADB_RETURN_IF_ERROR(Clean(ctx));
      SAGADB_ASSIGN_OR_RETURN(Disk d, disk_state(ctx, target));
      if (attach) return Expect(d.instance_id == instance.instance_id, "the disk is not attached to the instance");
      return Expect(d.state == DiskState::kDetached && !d.instance_id, "the disk is not detached");
    };
  }
  return s;
}

}  // namespace sagadb::testing
