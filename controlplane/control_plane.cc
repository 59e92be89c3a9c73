#include "sagadb/control_plane.h"

#include <fmt/format.h>

#include "controlplane/actions.h"
#include "controlplane/control_plane.h"
#include "controlplane/datastore.h"
#include "controlplane/disk_sagas.h"
#include "controlplane/instance_sagas.h"
#include "controlplane/requests.h"
#include "controlplane/volumes.h"
#include "db/database_impl.h"

namespace sagadb {

ControlPlaneDomain::ControlPlaneDomain(const std::string& database_path, ControlPlaneOptions options)
    : volumes_dir_(options.volumes_dir.empty() ? VolumesDirFor(database_path) : options.volumes_dir) {}

std::vector<std::string> ControlPlaneDomain::tables() const { return {kInstancesTable, kDisksTable, kNamesTable}; }

Status ControlPlaneDomain::RegisterActions(ActionRegistry& registry) {
  return RegisterControlPlaneActions(&registry, volumes_dir_);
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(const DatabaseOptions& options, ControlPlaneOptions cp) {
  auto domain = std::make_shared<ControlPlaneDomain>(options.path, std::move(cp));
  SAGADB_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(options, {domain}));
  SAGADB_ASSIGN_OR_RETURN(std::unique_ptr<ControlPlane> control_plane, Attach(db.get(), std::move(domain)));
  control_plane->owned_ = std::move(db);
  return control_plane;
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Attach(Database* db, std::shared_ptr<ControlPlaneDomain> domain) {
  if (db == nullptr || domain == nullptr) return Status::InvalidRequest("ControlPlane::Attach needs a database and its domain");
  auto datastore = Datastore::Open(&db->impl().store(), &db->impl().locks());
  if (!datastore.ok()) {
    return Status::InvalidRequest(fmt::format("the database was not opened with the control plane: {}",
                                              datastore.status().message()));
  }
  return std::unique_ptr<ControlPlane>(new ControlPlane(db, std::move(domain), std::move(*datastore)));
}

ControlPlane::ControlPlane(Database* db, std::shared_ptr<ControlPlaneDomain> domain,
                           std::unique_ptr<Datastore> datastore)
    : db_(db), domain_(std::move(domain)), datastore_(std::move(datastore)) {}

ControlPlane::~ControlPlane() = default;

Result<SagaHandle> ControlPlane::CreateInstance(const InstanceCreateRequest& request, const StartOptions& options) {
  SAGADB_ASSIGN_OR_RETURN(InstanceCreateParams params, PlanInstanceCreate(request));
  return StartInstanceCreate(*this, params, options);
}

Result<SagaHandle> StartInstanceCreate(ControlPlane& cp, const InstanceCreateParams& params,
                                       const StartOptions& options) {
  SAGADB_RETURN_IF_ERROR(ValidateInstanceCreate(params));
  SAGADB_ASSIGN_OR_RETURN(SagaDag dag, InstanceCreateDag(params));
  return cp.database().Start(dag, Json(params), options);
}

Result<SagaHandle> ControlPlane::CreateDisk(const DiskCreateRequest& request, const StartOptions& options) {
  SAGADB_ASSIGN_OR_RETURN(DiskCreateParams params, PlanDiskCreate(request));
  return StartDiskCreate(*this, params, options);
}

Result<SagaHandle> StartDiskCreate(ControlPlane& cp, const DiskCreateParams& params, const StartOptions& options) {
  SAGADB_RETURN_IF_ERROR(ValidateDiskCreate(params));
  return cp.database().Start(DiskCreateDag(), Json(params), options);
}

Result<SagaHandle> ControlPlane::DeleteInstance(const Uuid& instance, const StartOptions& options) {
  // Fail fast on what is already known; the saga's first step checks the state again under the record's lock.
  SAGADB_ASSIGN_OR_RETURN(Instance inst, datastore_->GetInstance(instance));
  if (inst.state == InstanceState::kDestroyed) {
    return Status::NotFound(fmt::format("instance {} not found", instance.ToString()));
  }
  if (inst.state != InstanceState::kStopped && inst.state != InstanceState::kFailed) {
    return Status::InvalidRequest(fmt::format("instance cannot be deleted in state \"{}\"", ToString(inst.state)));
  }
  InstanceDeleteParams params{instance, {}};
  for (const auto& a : inst.attached) params.disk_ids.push_back(a.disk_id);
  SAGADB_ASSIGN_OR_RETURN(SagaDag dag, InstanceDeleteDag(params));
  return db_->Start(dag, Json(params), options);
}

Result<SagaHandle> ControlPlane::DeleteDisk(const Uuid& disk, const StartOptions& options) {
  SAGADB_ASSIGN_OR_RETURN(Disk d, datastore_->GetDisk(disk));
  if (d.state == DiskState::kDestroyed) return Status::NotFound(fmt::format("disk {} not found", disk.ToString()));
  if (d.instance_id || (d.state != DiskState::kDetached && d.state != DiskState::kFaulted)) {
    return Status::InvalidRequest(fmt::format("disk cannot be deleted in state \"{}\"", ToString(d.state)));
  }
  return db_->Start(DiskDeleteDag(), Json(DiskDeleteParams{disk}), options);
}

Result<SagaHandle> ControlPlane::AttachDisk(const Uuid& disk, const Uuid& instance, const StartOptions& options) {
  return db_->Start(DiskAttachDag(), Json(DiskAttachParams{disk, instance}), options);
}

Result<SagaHandle> ControlPlane::DetachDisk(const Uuid& disk, const Uuid& instance, const StartOptions& options) {
  return db_->Start(DiskDetachDag(), Json(DiskAttachParams{disk, instance}), options);
}

Result<Instance> ControlPlane::GetInstance(const Uuid& id) const { return datastore_->GetInstance(id); }
Result<Disk> ControlPlane::GetDisk(const Uuid& id) const { return datastore_->GetDisk(id); }
Result<Uuid> ControlPlane::LookupInstance(std::string_view project, std::string_view name) const {
  return datastore_->LookupInstance(project, name);
}
Result<Uuid> ControlPlane::LookupDisk(std::string_view project, std::string_view name) const {
  return datastore_->LookupDisk(project, name);
}

}  // namespace sagadb
