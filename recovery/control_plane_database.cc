#include "recovery/control_plane_database.h"

namespace sagadb {

Result<std::unique_ptr<ControlPlaneDatabase>> ControlPlaneDatabase::Open(const ControlPlaneDatabaseOptions& options) {
  StoreOptions so;
  so.path = options.path;
  so.sync = options.sync;
  so.create_if_missing = options.create_if_missing;
  so.hooks = options.hooks;
  SAGADB_ASSIGN_OR_RETURN(auto store, Store::Open(so));
  std::unique_ptr<ControlPlaneDatabase> db(new ControlPlaneDatabase());
  db->store_ = std::move(store);
  db->datastore_ = std::make_unique<Datastore>(db->store_.get());
  ControlPlaneOptions cpo;
  cpo.executor = options.executor;
  cpo.volumes_dir = options.volumes_dir;
  SAGADB_ASSIGN_OR_RETURN(db->control_plane_, ControlPlane::Open(db->datastore_.get(), cpo));
  SAGADB_RETURN_IF_ERROR(RecoverAtOpen(*db->store_, db->control_plane_->executor(), db->control_plane_->registry(),
                                       options.wait_for_recovery, options.log, &db->report_));
  return db;
}

ControlPlaneDatabase::~ControlPlaneDatabase() {
  control_plane_.reset();  // shuts the executor down first
  datastore_.reset();
  store_.reset();
}

}  // namespace sagadb
