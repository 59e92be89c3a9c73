// ControlPlaneDatabase: a database opened for the control plane, as the sagadb tool and an appliance use it.
//
//   ControlPlaneDatabaseOptions opts;
//   opts.path = "/var/lib/appliance/sagadb";
//   auto db = ControlPlaneDatabase::Open(opts);           // recovery has run when this returns
//   auto h = (*db)->control_plane().CreateInstance(req);
//
// Opening takes the database (a second owner gets Conflict), registers the control-plane actions, starts the
// executor and resumes every interrupted saga before the caller can start one. Destroying it shuts the
// executor down (unfinished sagas are resumed by the next open) and closes the store.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/datastore.h"
#include "engine/store.h"
#include "recovery/recovery.h"
#include "sagas/controlplane/control_plane.h"

namespace sagadb {

struct ControlPlaneDatabaseOptions {
  std::string path;
  bool create_if_missing = true;
  bool sync = true;
  // Where volume files go. Empty: <path>/volumes, where the sagadb tool looks for them. Elsewhere (the
  // appliance's storage pool, say) check must be given the same directory.
  std::string volumes_dir;
  ExecutorOptions executor;
  bool wait_for_recovery = true;  // see DatabaseOptions
  StoreHooks* hooks = nullptr;    // installed before recovery runs
  std::function<void(std::string_view)> log;
};

class ControlPlaneDatabase {
 public:
  static Result<std::unique_ptr<ControlPlaneDatabase>> Open(const ControlPlaneDatabaseOptions& options);
  ~ControlPlaneDatabase();

  ControlPlane& control_plane() { return *control_plane_; }
  Store& store() { return *store_; }
  Datastore& datastore() { return *datastore_; }
  const RecoveryReport& recovery() const { return report_; }

 private:
  ControlPlaneDatabase() = default;

  std::unique_ptr<Store> store_;
  std::unique_ptr<Datastore> datastore_;
  std::unique_ptr<ControlPlane> control_plane_;
  RecoveryReport report_;
};

}  // namespace sagadb
