// The control plane: instances and their disks, each operation on them a saga, as a domain of sagadb.
//
// Alone, in a database of its own:
//
//   sagadb::DatabaseOptions options;
//   options.path = "/var/lib/appliance/sagadb";
//   auto cp = sagadb::ControlPlane::Open(options);    // interrupted sagas are finished before this returns
//   sagadb::InstanceCreateRequest req{"project", "web-1", 2, 4ull << 30,
//                                     {{"boot", 10ull << 30}, {"data", 100ull << 30}}};
//   auto saga = (*cp)->CreateInstance(req);            // InvalidRequest at once for a bad request
//   auto result = saga->Wait();   // succeeded, or failed having unwound everything, or stuck (needs an operator)
//
// Beside an embedder's own domain, in one database:
//
//   auto cp_domain = std::make_shared<sagadb::ControlPlaneDomain>(options.path);
//   auto db = sagadb::Database::Open(options, {cp_domain, my_domain});
//   auto cp = sagadb::ControlPlane::Attach(db->get(), cp_domain);
//
// The sagas (docs/DESIGN.md section 2 has the rules of each step):
//   instance-create  the instance record, then each disk (record, volume file, detached), each attach, the boot
//                    disk, and the instance stopped. Fails cleanly (everything undone) on any refused step.
//   instance-delete  the boot disk cleared, every disk detached (they stay), the instance destroyed.
//   disk-create      the record, the volume file, detached.     disk-delete: the record, then the volume file.
//   disk-attach / disk-detach   one step each: one synced batch that updates the disk and the instance together.
// Each method returns as soon as the saga is started (or refused); Wait on the handle for its end. A saga's
// outcome says what happened: e.g. AttachDisk of a disk attached elsewhere ends failed with InvalidRequest "disk
// is attached to another instance".
//
// Volume files: a sparse file per disk, in ControlPlaneOptions::volumes_dir (default <database dir>/volumes).
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sagadb/control_plane_records.h"
#include "sagadb/database.h"
#include "sagadb/domain.h"
#include "sagadb/saga.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace sagadb {

struct DiskRequest {
  std::string name;
  uint64_t size_bytes = 0;
};

struct InstanceCreateRequest {
  std::string project;
  std::string name;
  uint32_t cpus = 1;
  uint64_t memory_bytes = 1ull << 30;
  std::vector<DiskRequest> disks;  // at most 12; the first one is the boot disk
};

struct DiskCreateRequest {
  std::string project;
  std::string name;
  uint64_t size_bytes = 0;
};

struct ControlPlaneOptions {
  // Where the disks' volume files live. Empty: <database dir>/volumes, where the sagadb tool looks for them.
  std::string volumes_dir;
};

// The control plane's tables (instances, disks, names) and actions, for Database::Open.
class ControlPlaneDomain : public Domain {
 public:
  // `database_path` is DatabaseOptions::path (the default volumes directory is under it).
  explicit ControlPlaneDomain(const std::string& database_path, ControlPlaneOptions options = {});

  std::string_view name() const override { return "control-plane"; }
  std::vector<std::string> tables() const override;
  Status RegisterActions(ActionRegistry& registry) override;

  const std::string& volumes_dir() const { return volumes_dir_; }

 private:
  std::string volumes_dir_;
};

class Datastore;

class ControlPlane {
 public:
  // Opens (or creates) a database whose one domain is the control plane.
  static Result<std::unique_ptr<ControlPlane>> Open(const DatabaseOptions& options, ControlPlaneOptions cp = {});
  // The control plane of a database opened with `domain` among its domains. `db` must outlive it. InvalidRequest
  // if the database has not got the control plane's tables.
  static Result<std::unique_ptr<ControlPlane>> Attach(Database* db, std::shared_ptr<ControlPlaneDomain> domain);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // instance-create. InvalidRequest (nothing written) if the request breaks a rule: names of 1-63 lowercase
  // letters, digits and '-' starting with a letter; cpus, memory and every size above 0; at most 12 disks with
  // distinct names.
  Result<SagaHandle> CreateInstance(const InstanceCreateRequest& request, const StartOptions& options = {});
  // disk-create: a detached disk with its volume. InvalidRequest for a bad name or size.
  Result<SagaHandle> CreateDisk(const DiskCreateRequest& request, const StartOptions& options = {});
  // instance-delete. NotFound / InvalidRequest (nothing written) unless the instance exists and is stopped or
  // failed.
  Result<SagaHandle> DeleteInstance(const Uuid& instance, const StartOptions& options = {});
  // disk-delete. NotFound / InvalidRequest (nothing written) unless the disk exists and is detached or faulted.
  Result<SagaHandle> DeleteDisk(const Uuid& disk, const StartOptions& options = {});
  // disk-attach / disk-detach of existing records.
  Result<SagaHandle> AttachDisk(const Uuid& disk, const Uuid& instance, const StartOptions& options = {});
  Result<SagaHandle> DetachDisk(const Uuid& disk, const Uuid& instance, const StartOptions& options = {});

  // Committed records. NotFound if there is none; Corruption (naming the key) if its bytes are damaged.
  Result<Instance> GetInstance(const Uuid& id) const;
  Result<Disk> GetDisk(const Uuid& id) const;
  // The live record with that name in the project.
  Result<Uuid> LookupInstance(std::string_view project, std::string_view name) const;
  Result<Uuid> LookupDisk(std::string_view project, std::string_view name) const;

  Database& database() { return *db_; }
  const std::string& volumes_dir() const { return domain_->volumes_dir(); }
  // The records, for sagadb's own modules.
  Datastore& datastore() { return *datastore_; }

 private:
  ControlPlane(Database* db, std::shared_ptr<ControlPlaneDomain> domain, std::unique_ptr<Datastore> datastore);

  std::unique_ptr<Database> owned_;  // when opened by Open
  Database* db_;
  std::shared_ptr<ControlPlaneDomain> domain_;
  std::unique_ptr<Datastore> datastore_;
};

}  // namespace sagadb
