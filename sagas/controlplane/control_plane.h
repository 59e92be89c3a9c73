// ControlPlane: what a program embeds to create and delete instances and disks, each operation a saga.
//
//   Datastore datastore(store.get());
//   auto cp = ControlPlane::Open(&datastore, ControlPlaneOptions{});      // volumes in <database dir>/volumes
//   InstanceCreateRequest req{"proj", "web-1", 2, 4ull << 30, {{"boot", 10ull << 30}}};
//   Result<SagaHandle> h = (*cp)->CreateInstance(req);   // InvalidRequest at once for a bad request
//   Result<SagaResult> r = h->Wait();                    // kSucceeded, or kFailed having unwound everything
//
// The ControlPlane owns the registry of control-plane actions and the executor that runs them (whose app
// context carries the volumes directory), so the two can never disagree. Recovery resumes interrupted sagas on
// executor(). Each method returns as soon as the saga is started (or refused); Wait on the handle for its end.
// A saga's outcome says what happened: e.g. AttachDisk of a disk attached elsewhere ends kFailed with
// InvalidRequest "disk is attached to another instance".
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <memory>
#include <string>

#include "engine/datastore.h"
#include "engine/status.h"
#include "sagas/action.h"
#include "sagas/controlplane/params.h"
#include "sagas/controlplane/requests.h"
#include "sagas/executor.h"

namespace sagadb {

struct ControlPlaneOptions {
  ExecutorOptions executor;
  // Where the disks' volume files live. Empty: <database dir>/volumes.
  std::string volumes_dir;
};

class ControlPlane {
 public:
  // Creates the volumes directory if needed. `datastore` must outlive the ControlPlane.
  static Result<std::unique_ptr<ControlPlane>> Open(Datastore* datastore, ControlPlaneOptions options = {});
  // Shuts the executor down: sagas still executing stay running/unwinding in the database for recovery.
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // instance-create. InvalidRequest (nothing written) if the request breaks a rule of requests.h.
  Result<SagaHandle> CreateInstance(const InstanceCreateRequest& request, const StartOptions& options = {});
  // The same with params planned by the caller (PlanInstanceCreate), who then knows every id in advance.
  Result<SagaHandle> CreateInstance(const InstanceCreateParams& params, const StartOptions& options = {});
  // disk-create: a detached disk with its volume.
  Result<SagaHandle> CreateDisk(const DiskCreateRequest& request, const StartOptions& options = {});
  Result<SagaHandle> CreateDisk(const DiskCreateParams& params, const StartOptions& options = {});
  // instance-delete: clears the boot disk, detaches every disk (they stay, detached), destroys the instance.
  // NotFound / InvalidRequest (nothing written) unless the instance exists and is stopped or failed.
  Result<SagaHandle> DeleteInstance(const Uuid& instance, const StartOptions& options = {});
  // disk-delete: destroys the record, then removes the volume. NotFound / InvalidRequest (nothing written)
  // unless the disk exists and is detached or faulted.
  Result<SagaHandle> DeleteDisk(const Uuid& disk, const StartOptions& options = {});
  // disk-attach / disk-detach of existing records, one node each (the rules of DESIGN section 2).
  Result<SagaHandle> AttachDisk(const Uuid& disk, const Uuid& instance, const StartOptions& options = {});
  Result<SagaHandle> DetachDisk(const Uuid& disk, const Uuid& instance, const StartOptions& options = {});

  SagaExecutor& executor() { return *executor_; }
  Datastore& datastore() { return *datastore_; }
  const ActionRegistry& registry() const { return registry_; }
  const std::string& volumes_dir() const { return volumes_dir_; }

 private:
  ControlPlane(Datastore* datastore, std::string volumes_dir)
      : datastore_(datastore), volumes_dir_(std::move(volumes_dir)) {}

  Datastore* const datastore_;
  const std::string volumes_dir_;
  ActionRegistry registry_;                 // before executor_, which uses it until it is destroyed
  std::unique_ptr<SagaExecutor> executor_;
};

}  // namespace sagadb
