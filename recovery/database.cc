#include "recovery/database.h"

namespace sagadb {

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options, const ActionRegistry* registry,
                                                 std::any app) {
  StoreOptions so;
  so.path = options.path;
  so.sync = options.sync;
  so.env = options.env;
  so.hooks = options.hooks;
  SAGADB_ASSIGN_OR_RETURN(auto store, Store::Open(so));

  std::unique_ptr<Database> db(new Database());
  db->store_ = std::move(store);
  db->datastore_ = std::make_unique<Datastore>(db->store_.get());
  db->executor_ = std::make_unique<SagaExecutor>(db->datastore_.get(), registry, options.executor, std::move(app));

  SAGADB_RETURN_IF_ERROR(RecoverAtOpen(*db->store_, *db->executor_, *registry, options.wait_for_recovery,
                                       options.log, &db->report_));
  return db;
}

Database::~Database() {
  if (executor_) executor_->Shutdown();
  executor_.reset();
  datastore_.reset();
  store_.reset();
}

}  // namespace sagadb
