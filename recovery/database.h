// Database: sagadb as an application embeds it. Opening it opens the store, starts the executor and runs
// recovery, all before the caller can start a saga.
//
//   ActionRegistry registry;
//   RegisterMyActions(&registry);
//   DatabaseOptions opts;
//   opts.path = "/var/lib/appliance/sagadb";
//   Result<std::unique_ptr<Database>> db = Database::Open(opts, &registry, std::any(&my_app_context));
//   fmt::print("{}\n", (*db)->recovery().Summary());
//   auto result = (*db)->executor().Run(dag, params);
//
// Destroying the Database shuts the executor down (sagas still executing stay in the log and are resumed at
// the next open) and then closes the store.
#pragma once

#include <any>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/datastore.h"
#include "engine/store.h"
#include "recovery/recovery.h"
#include "sagas/action.h"
#include "sagas/executor.h"

namespace sagadb {

struct DatabaseOptions {
  std::string path;
  bool sync = true;  // see StoreOptions::sync
  ExecutorOptions executor;
  // Block in Open until every recovered saga has ended (the report then says how each ended). When false, Open
  // returns once they are resumed; they finish in the background.
  bool wait_for_recovery = true;
  // Hooks installed on the store before recovery runs (tests: faults and crash points during recovery).
  StoreHooks* hooks = nullptr;
  rocksdb::Env* env = nullptr;
  // Receives the recovery summary when there was anything to recover. Default: one line on stderr.
  std::function<void(std::string_view)> log;
};

class Database {
 public:
  // `registry` must outlive the Database and know every action that stored sagas name (sagas naming an unknown
  // action are marked stuck by recovery). `app` is handed to actions.
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options, const ActionRegistry* registry,
                                                std::any app = {});
  ~Database();

  Store& store() { return *store_; }
  Datastore& datastore() { return *datastore_; }
  SagaExecutor& executor() { return *executor_; }
  const RecoveryReport& recovery() const { return report_; }
  const std::string& path() const { return store_->path(); }

 private:
  Database() = default;

  std::unique_ptr<Store> store_;
  std::unique_ptr<Datastore> datastore_;
  std::unique_ptr<SagaExecutor> executor_;
  RecoveryReport report_;
};

}  // namespace sagadb
