// The parts of an open Database, for sagadb's own modules: the control plane reaches its store, the tool and
// the tests open a database with their seams (an Env, store hooks).
//
//   OpenSeams seams;
//   seams.hooks = &faults;                                     // installed before recovery runs
//   auto db = OpenDatabase(options, {control_plane}, seams);
//   Store& store = (*db)->impl().store();
#pragma once

#include <memory>
#include <vector>

#include "base/mutex.h"
#include "db/retention_task.h"
#include "engine/key_locks.h"
#include "engine/store.h"
#include "sagadb/database.h"
#include "sagas/executor.h"

namespace rocksdb {
class Env;
}

namespace sagadb {

// Test seams of an open. Not owned; each must outlive the database.
struct OpenSeams {
  rocksdb::Env* env = nullptr;   // the storage environment (one that simulates power loss)
  StoreHooks* hooks = nullptr;   // faults and crash points at every write, recovery's included
};

// Database::Open with seams.
Result<std::unique_ptr<Database>> OpenDatabase(const DatabaseOptions& options,
                                               std::vector<std::shared_ptr<Domain>> domains,
                                               const OpenSeams& seams);

class DatabaseImpl {
 public:
  Store& store() { return *store_; }
  KeyLocks& locks() { return locks_; }
  SagaExecutor& executor() { return *executor_; }
  const ActionRegistry& registry() const { return registry_; }
  const DatabaseOptions& options() const { return options_; }
  const RecoveryReport& recovery() const { return report_; }
  // The background retention, or null when DatabaseOptions::retention is off.
  RetentionTask* retention() { return retention_.get(); }
  // Held by every prune, the background's and Database::Prune's.
  Mutex& prune_mu() { return prune_mu_; }

 private:
  friend class Database;
  friend Result<std::unique_ptr<Database>> OpenDatabase(const DatabaseOptions&, std::vector<std::shared_ptr<Domain>>,
                                                        const OpenSeams&);
  // Stops the retention task and the executor before the store closes.
  void Close();

  DatabaseOptions options_;
  std::vector<std::shared_ptr<Domain>> domains_;
  std::unique_ptr<Store> store_;
  KeyLocks locks_;
  ActionRegistry registry_;
  std::unique_ptr<SagaExecutor> executor_;
  RecoveryReport report_;
  Mutex prune_mu_;
  std::unique_ptr<RetentionTask> retention_;  // stopped before the executor and the store go
};

}  // namespace sagadb
