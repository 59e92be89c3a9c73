// What the Store's sources share (engine/store.cc: reads, writes and failures; engine/store_open.cc: opening,
// creating and the metadata): the engine's table names, the RocksDB state behind a Store, and the table of
// databases this process has open. Not part of any public surface.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <sys/types.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "engine/store.h"

namespace sagadb::store_internal {

// The engine's tables by TableId.
inline constexpr std::array<std::string_view, kFirstDomainTable> kEngineTables = {"meta", "sagas",
                                                                                  "saga_events", "saga_index"};
// Domain tables of databases written before the metadata listed them: the control plane's, the only domain
// then. Such a database is taken to have registered exactly these.
inline constexpr std::array<std::string_view, 3> kUnlistedLegacyTables = {"instances", "disks", "names"};

inline constexpr std::string_view kMetaSchemaVersion = "schema_version";
inline constexpr std::string_view kMetaDatabaseId = "database_id";
inline constexpr std::string_view kMetaOpenGeneration = "open_generation";
inline constexpr std::string_view kMetaTablePrefix = "domain_table:";

inline rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

inline bool IsEngineTable(std::string_view name) {
  return std::find(kEngineTables.begin(), kEngineTables.end(), name) != kEngineTables.end();
}

// The databases this process has open for writing, by the identity of their directory. RocksDB refuses a second
// open of its own, but the lock it holds cannot tell why (F_GETLK does not report a process's own locks), and
// asking it would release them (closing any descriptor of LOCK drops the process's POSIX locks on it).
class OpenDatabases {
 public:
  using Key = std::pair<dev_t, ino_t>;
  static OpenDatabases& Get() {
    static auto* open = new OpenDatabases;  // never destroyed: Stores may close during static destruction
    return *open;
  }
  // False if the process already has it open.
  bool Claim(Key key) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return claimed_.insert(key).second;
  }
  void Release(Key key) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    claimed_.erase(key);
  }

 private:
  Mutex mu_;
  std::set<Key> claimed_ GUARDED_BY(mu_);
};

// Whether a failure of this kind poisons the store (engine/store.h).
inline bool Poisons(const Status& s) {
  return s.code() == Code::kIOError || s.code() == Code::kCorruption || s.code() == Code::kNoSpace;
}

}  // namespace sagadb::store_internal

namespace sagadb {

struct Store::Rocks {
  // Declared first, destroyed last: the database uses them until it is closed.
  std::unique_ptr<rocksdb::Env> env;
  std::shared_ptr<BackgroundErrors> listener;
  std::optional<store_internal::OpenDatabases::Key> claimed;  // released when the store closes
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // by TableId
  rocksdb::ColumnFamilyHandle* default_handle = nullptr;
  std::shared_ptr<rocksdb::Cache> block_cache;
  rocksdb::WriteOptions write_options;
  std::string temp_secondary_path;  // removed on close when non-empty

  rocksdb::ColumnFamilyOptions CfOptions(const StoreOptions& o) const {
    rocksdb::ColumnFamilyOptions cf;
    cf.write_buffer_size = o.write_buffer_bytes;
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = block_cache;
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    return cf;
  }
};

}  // namespace sagadb
