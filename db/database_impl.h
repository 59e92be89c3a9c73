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

 private:
  friend class Database;
  friend Result<std::unique_ptr<Database>> OpenDatabase(const DatabaseOptions&, std::vector<std::shared_ptr<Domain>>,
                                                        const OpenSeams&);
  // Stops the executor before the store closes.
  void Close();

  DatabaseOptions options_;
  std::vector<std::shared_ptr<Domain>> domains_;
  std::unique_ptr<Store> store_;
  KeyLocks locks_;
  ActionRegistry registry_;
  std::unique_ptr<SagaExecutor> executor_;
  RecoveryReport report_;
};

}  // namespace sagadb
