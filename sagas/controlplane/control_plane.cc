#include "sagas/controlplane/control_plane.h"

#include <filesystem>

#include "sagas/controlplane/actions.h"
#include "sagas/controlplane/disk_sagas.h"
#include "sagas/controlplane/instance_sagas.h"
#include "sagas/controlplane/volumes.h"

namespace sagadb {

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(Datastore* datastore, ControlPlaneOptions options) {
  std::string dir = options.volumes_dir.empty() ? VolumesDirFor(datastore->store()->path()) : options.volumes_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("creating the volumes directory {}: {}", dir, ec.message()));
  std::unique_ptr<ControlPlane> cp(new ControlPlane(datastore, dir));
  SAGADB_RETURN_IF_ERROR(RegisterControlPlaneActions(&cp->registry_));
  cp->executor_ = std::make_unique<SagaExecutor>(datastore, &cp->registry_, options.executor,
                                                 std::any(ControlPlaneContext{dir}));
  return cp;
}

ControlPlane::~ControlPlane() {
  if (executor_) executor_->Shutdown();
}

Result<SagaHandle> ControlPlane::CreateInstance(const InstanceCreateRequest& request, const StartOptions& options) {
  SAGADB_ASSIGN_OR_RETURN(InstanceCreateParams params, PlanInstanceCreate(request));
  return CreateInstance(params, options);
}

Result<SagaHandle> ControlPlane::CreateInstance(const InstanceCreateParams& params, const StartOptions& options) {
  SAGADB_RETURN_IF_ERROR(ValidateInstanceCreate(params));
  SAGADB_ASSIGN_OR_RETURN(SagaDag dag, InstanceCreateDag(params));
  return executor_->Start(dag, Json(params), options);
}

Result<SagaHandle> ControlPlane::CreateDisk(const DiskCreateRequest& request, const StartOptions& options) {
  SAGADB_ASSIGN_OR_RETURN(DiskCreateParams params, PlanDiskCreate(request));
  return CreateDisk(params, options);
}

Result<SagaHandle> ControlPlane::CreateDisk(const DiskCreateParams& params, const StartOptions& options) {
  SAGADB_RETURN_IF_ERROR(ValidateDiskCreate(params));
  return executor_->Start(DiskCreateDag(), Json(params), options);
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
  return executor_->Start(dag, Json(params), options);
}

Result<SagaHandle> ControlPlane::DeleteDisk(const Uuid& disk, const StartOptions& options) {
  SAGADB_ASSIGN_OR_RETURN(Disk d, datastore_->GetDisk(disk));
  if (d.state == DiskState::kDestroyed) return Status::NotFound(fmt::format("disk {} not found", disk.ToString()));
  if (d.instance_id || (d.state != DiskState::kDetached && d.state != DiskState::kFaulted)) {
    return Status::InvalidRequest(fmt::format("disk cannot be deleted in state \"{}\"", ToString(d.state)));
  }
  return executor_->Start(DiskDeleteDag(), Json(DiskDeleteParams{disk}), options);
}

Result<SagaHandle> ControlPlane::AttachDisk(const Uuid& disk, const Uuid& instance, const StartOptions& options) {
  return executor_->Start(DiskAttachDag(), Json(DiskAttachParams{disk, instance}), options);
}

Result<SagaHandle> ControlPlane::DetachDisk(const Uuid& disk, const Uuid& instance, const StartOptions& options) {
  return executor_->Start(DiskDetachDag(), Json(DiskAttachParams{disk, instance}), options);
}

}  // namespace sagadb
