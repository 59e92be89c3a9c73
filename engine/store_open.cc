// Store, opening: claiming the directory, creating or opening the RocksDB database with its tables, and the
// metadata every open writes (engine/store.h).
#include "engine/store.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "engine/db_lock.h"
#include "engine/info_log.h"
#include "engine/keys.h"
#include "engine/private_file_system.h"
#include "engine/store_internal.h"

namespace sagadb {
namespace {

namespace fs = std::filesystem;
using namespace store_internal;

std::string_view ReasonName(rocksdb::BackgroundErrorReason reason) {
  switch (reason) {
    case rocksdb::BackgroundErrorReason::kFlush: return "flush";
    case rocksdb::BackgroundErrorReason::kCompaction: return "compaction";
    case rocksdb::BackgroundErrorReason::kWriteCallback: return "write";
    case rocksdb::BackgroundErrorReason::kMemTable: return "memtable insert";
    case rocksdb::BackgroundErrorReason::kManifestWrite: return "MANIFEST write";
    case rocksdb::BackgroundErrorReason::kFlushNoWAL: return "flush";
    case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL: return "MANIFEST write";
  }
  return "background work";
}

// What RocksDB makes in a new database's directory before it writes CURRENT, and sagadb's info log: all that a
// creation interrupted (a full disk, a crash) before CURRENT leaves. None of it holds data, which lives in the
// write-ahead log and table files, made only once CURRENT exists: creating the database there destroys nothing.
bool OnlyCreationDebris(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool debris = name == "LOCK" || name == "LOG" || name.starts_with("LOG.old.") || name == "IDENTITY" ||
                        name.starts_with("MANIFEST-") || name.ends_with(".dbtmp");
    if (!debris || !it->is_regular_file(ec)) return false;
  }
  return !ec;
}

// Whether the RocksDB database at `path` (with only its default column family) holds no key at all: what a
// creation interrupted after CURRENT but before sagadb's first table leaves. sagadb never writes the default
// column family, and an empty database has nothing to lose.
bool HoldsNothing(const rocksdb::DBOptions& options, const std::string& path) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::DBOptions read_only = options;
  read_only.info_log.reset();
  if (!rocksdb::DB::OpenForReadOnly(read_only, path, cfs, &handles, &raw).ok()) return false;
  std::unique_ptr<rocksdb::DB> db(raw);
  bool empty;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[0]));
    it->SeekToFirst();
    empty = !it->Valid() && it->status().ok();
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  return empty;
}

Status InUse(const std::string& path, pid_t holder) {
  return Status::Conflict(fmt::format(
      "database {} is in use by another process (pid {} holds its lock); try again when it exits, or use an "
      "inspection command",
      path, holder));
}

}  // namespace

// RocksDB's background failures (a flush or compaction that could not write, a failed WAL write seen by its
// error handler) poison the store like a failed Write, and RocksDB's own automatic recovery is refused: it would
// write again, through files that already failed, on a disk that is still full.
class Store::BackgroundErrors : public rocksdb::EventListener {
 public:
  explicit BackgroundErrors(Store* store) : store_(store) {}
  const char* Name() const override { return "SagadbBackgroundErrors"; }
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* bg_error) override {
    if (bg_error->ok()) return;
    store_->Poison(store_->Failure(*bg_error, ReasonName(reason)));
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status bg_error, bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    *auto_recovery = false;
  }

 private:
  Store* const store_;
};

Result<std::unique_ptr<Store>> Store::Open(const StoreConfig& config) {
  if (config.path.empty()) return Status::InvalidRequest("database path is empty");
  for (const auto& t : config.tables) {
    if (t.empty() || IsEngineTable(t) || t == rocksdb::kDefaultColumnFamilyName) {
      return Status::InvalidRequest(fmt::format("\"{}\" cannot be a domain table's name", t));
    }
  }
  std::unique_ptr<Store> store(new Store(config));
  if (config.hooks != nullptr) store->SetHooks(config.hooks);
  SAGADB_RETURN_IF_ERROR(store->OpenDb());
  SAGADB_RETURN_IF_ERROR(store->InitMeta());
  return store;
}

Status Store::ClaimDatabase() {
  const std::string& path = config_.path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IOError(fmt::format("reading {}: {}", path, std::generic_category().message(errno)));
  }
  const OpenDatabases::Key key{st.st_dev, st.st_ino};
  if (!OpenDatabases::Get().Claim(key)) {
    return Status::Conflict(fmt::format("database {} is already open in this process", path));
  }
  rocks_->claimed = key;
  // Asked only once this process is known not to hold the lock (see OpenDatabases).
  if (pid_t holder = LockHolder(path); holder != 0) return InUse(path, holder);
  return Status::OK();
}

Status Store::OpenDb() {
  const std::string& path = config_.path;
  const StoreOptions& o = config_.options;
  std::error_code ec;
  const bool exists = fs::exists(fs::path(path) / "CURRENT", ec);
  rocksdb::DBOptions db_options;
  rocks_->env = NewPrivateEnv(config_.env);
  db_options.env = rocks_->env.get();
  std::vector<std::string> existing;
  if (!exists) {
    if (config_.mode != OpenMode::kReadWrite || !config_.create_if_missing) {
      return Status::NotFound(fmt::format("no sagadb database at {}", path));
    }
    if (fs::exists(path, ec) && !fs::is_directory(path, ec)) {
      return Status::InvalidRequest(fmt::format("{} is not a directory", path));
    }
    if (fs::is_directory(path, ec) && !OnlyCreationDebris(path)) {
      return Status::InvalidRequest(fmt::format("{} is not a sagadb database (not empty, no database files)", path));
    }
    // A new database's directory, and any parent it lacks, are made here; the database's own is private to its
    // owner (0700), since it holds everything the appliance's control plane knows.
    if (!fs::exists(path, ec)) {
      fs::create_directories(path, ec);
      if (ec) return Status::IOError(fmt::format("creating {}: {}", path, ec.message()));
      fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace, ec);
      if (ec) return Status::IOError(fmt::format("setting the permissions of {}: {}", path, ec.message()));
    }
  } else {
    auto s = rocksdb::DB::ListColumnFamilies(db_options, path, &existing);
    if (!s.ok()) return Failure(s, fmt::format("reading {}", path));
    if (std::find(existing.begin(), existing.end(), "meta") == existing.end()) {
      // A creation interrupted before its first table leaves an empty RocksDB database: that one is finished.
      const bool interrupted = config_.mode == OpenMode::kReadWrite && config_.create_if_missing &&
                               existing == std::vector<std::string>{rocksdb::kDefaultColumnFamilyName} &&
                               HoldsNothing(db_options, path);
      if (!interrupted) {
        return Status::InvalidRequest(fmt::format("{} is not a sagadb database (no meta column family)", path));
      }
    }
  }
  if (config_.mode == OpenMode::kReadWrite) SAGADB_RETURN_IF_ERROR(ClaimDatabase());

  rocks_->block_cache = rocksdb::NewLRUCache(o.block_cache_bytes);
  db_options.create_if_missing = config_.create_if_missing;
  // Exactly the column families listed below are opened; the missing ones are created (read-write only).
  db_options.create_missing_column_families = config_.mode == OpenMode::kReadWrite;
  db_options.max_background_jobs = o.max_background_jobs;
  db_options.keep_log_file_num = o.keep_info_log_files;
  db_options.max_total_wal_size = o.max_total_wal_bytes;
  // sagadb's batches are small (one saga step: a few records and log events). With concurrent memtable writes
  // every member of a write group inserts its own batch and then waits for the others, a second round of
  // hand-offs that costs more than the inserts it spreads out; the group's leader inserting them all is cheaper.
  // Measured with sagadb_bench: synced batches at 32 writers 40k/s -> 52k/s, instance-create sagas +8%.
  db_options.allow_concurrent_memtable_write = false;
  rocks_->write_options.sync = o.sync;
  if (config_.mode == OpenMode::kReadWrite) {
    // A failure poisons the store (see store.h); RocksDB must not resume on its own, after a retryable I/O error
    // (max_bgerror_resume_count) or once space is freed after NoSpace (refused by BackgroundErrors).
    rocks_->listener = std::make_shared<BackgroundErrors>(this);
    db_options.listeners.push_back(rocks_->listener);
    db_options.max_bgerror_resume_count = 0;
    // Closing writes nothing: what the memtables hold is in the synced WAL. (RocksDB flushes at shutdown only
    // what was written without a WAL, which sagadb never does; said here so that it stays so.)
    db_options.avoid_flush_during_shutdown = true;
    db_options.info_log = OpenInfoLog(path, o.keep_info_log_files);
  }

  // The tables, in TableId order: the engine's, then the domain tables that exist, then (read-write) the
  // declared ones that do not yet.
  table_names_.assign(kEngineTables.begin(), kEngineTables.end());
  for (const auto& cf : existing) {
    if (cf != rocksdb::kDefaultColumnFamilyName && !IsEngineTable(cf)) table_names_.push_back(cf);
  }
  if (config_.mode == OpenMode::kReadWrite) {
    for (const auto& t : config_.tables) {
      if (std::find(table_names_.begin(), table_names_.end(), t) == table_names_.end()) table_names_.push_back(t);
    }
  }
  // An inspection open cannot create a table: an engine table newer than the database is left out (its handle
  // stays null; HasTable says so).
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<TableId> opened;  // the table of each descriptor after the default column family's
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocks_->CfOptions(o));
  for (TableId t = 0; t < table_names_.size(); ++t) {
    const std::string& name = table_names_[t];
    if (config_.mode != OpenMode::kReadWrite && exists &&
        std::find(existing.begin(), existing.end(), name) == existing.end()) {
      continue;
    }
    descriptors.emplace_back(name, rocks_->CfOptions(o));
    opened.push_back(t);
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  switch (config_.mode) {
    case OpenMode::kReadWrite:
      s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
      break;
    case OpenMode::kReadOnly:
      s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw);
      break;
    case OpenMode::kSecondary: {
      std::string secondary = config_.secondary_path;
      if (secondary.empty()) {
        std::string tmpl = (fs::temp_directory_path(ec) / "sagadb-secondary-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("cannot create a directory for the secondary");
        secondary = rocks_->temp_secondary_path = tmpl;
      } else if (!fs::exists(secondary, ec)) {
        // RocksDB would make it too; made here (private, like the database's own) so that its info log goes in.
        fs::create_directories(secondary, ec);
        if (!ec) fs::permissions(secondary, fs::perms::owner_all, fs::perm_options::replace, ec);
        if (ec) return Status::IOError(fmt::format("creating {}: {}", secondary, ec.message()));
      }
      db_options.max_open_files = -1;  // required by secondary instances
      db_options.info_log = OpenInfoLog(secondary, o.keep_info_log_files);
      s = rocksdb::DB::OpenAsSecondary(db_options, path, secondary, descriptors, &handles, &raw);
      break;
    }
  }
  if (!s.ok()) {
    // Another process may have taken the lock since ClaimDatabase asked (this process cannot hold it: it is
    // claimed). Asked again, rather than read out of RocksDB's message.
    if (config_.mode == OpenMode::kReadWrite) {
      if (pid_t holder = LockHolder(path); holder != 0) return InUse(path, holder);
    }
    return Failure(s, fmt::format("opening {}", path));
  }
  rocks_->db.reset(raw);
  rocks_->default_handle = handles[0];
  rocks_->handles.assign(table_names_.size(), nullptr);
  for (size_t i = 0; i < opened.size(); ++i) rocks_->handles[opened[i]] = handles[i + 1];
  return Status::OK();
}

Status Store::InitMeta() {
  auto version = Get(kMetaTable, kMetaSchemaVersion);
  std::vector<std::string> listed;  // domain tables the metadata lists
  bool has_listing = false;
  if (version.ok()) {
    if (version->size() != 4) return Status::Corruption("meta/schema_version is not a 4-byte integer");
    uint32_t v = DecodeBigEndian32(*version);
    schema_version_.store(v, std::memory_order_release);
    if (v > kSchemaVersion) {
      return Status::InvalidRequest(fmt::format(
          "database {} has schema version {}, newer than this sagadb supports ({}); use a newer sagadb",
          config_.path, v, kSchemaVersion));
    }
    auto id = Get(kMetaTable, kMetaDatabaseId);
    if (!id.ok()) return Status::Corruption("meta/database_id is missing");
    auto parsed = Uuid::FromBytes(*id);
    if (!parsed) return Status::Corruption("meta/database_id is not a 16-byte id");
    database_id_ = *parsed;
    auto gen = Get(kMetaTable, kMetaOpenGeneration);
    if (gen.ok() && gen->size() == 8) open_generation_ = DecodeBigEndian64(*gen);
    auto cursor = NewCursor(kMetaTable);
    for (cursor->Seek(kMetaTablePrefix); cursor->Valid() && cursor->key().starts_with(kMetaTablePrefix);
         cursor->Next()) {
      listed.emplace_back(cursor->key().substr(kMetaTablePrefix.size()));
      has_listing = true;
    }
    SAGADB_RETURN_IF_ERROR(cursor->status());
    if (!has_listing) listed.assign(kUnlistedLegacyTables.begin(), kUnlistedLegacyTables.end());
  } else if (version.status().IsNotFound()) {
    if (config_.mode != OpenMode::kReadWrite) {
      return Status::InvalidRequest(fmt::format("{} is not a sagadb database (no schema version)", config_.path));
    }
    database_id_ = Uuid::Generate();
  } else {
    return version.status();
  }

  // A column family that neither the engine nor the metadata knows was made by a newer sagadb.
  std::vector<std::string> to_list;
  for (TableId t = kFirstDomainTable; t < table_names_.size(); ++t) {
    const std::string& name = table_names_[t];
    if (std::find(listed.begin(), listed.end(), name) != listed.end()) continue;
    const bool declared = std::find(config_.tables.begin(), config_.tables.end(), name) != config_.tables.end();
    if (version.ok() && !declared) {
      return Status::InvalidRequest(fmt::format(
          "database {} has column family \"{}\", which this sagadb does not know: it was written by a newer "
          "sagadb (schema version above {}); use a newer sagadb",
          config_.path, name, kSchemaVersion));
    }
    to_list.push_back(name);
  }
  if (config_.mode != OpenMode::kReadWrite) return Status::OK();

  // One synced batch: a new database gets its version and id together with its first open generation, and
  // tables created by this open are listed with it. (A crash between creating a column family and this write
  // leaves a column family that the next open by the same program lists; another program refuses it.) It goes
  // through the one write path: hooks see it (as write number 0) and a failure poisons the store like any other.
  ++open_generation_;
  // An existing database keeps its version: a migration moves it on once its work is done (CommitSchemaVersion).
  Batch batch;
  batch.Put(kMetaTable, kMetaSchemaVersion, BigEndian32(schema_version()));
  batch.Put(kMetaTable, kMetaDatabaseId, database_id_.AsBytes());
  batch.Put(kMetaTable, kMetaOpenGeneration, BigEndian64(open_generation_));
  if (!has_listing) {
    for (const auto& name : listed) batch.Put(kMetaTable, std::string(kMetaTablePrefix) + name, "");
  }
  for (const auto& name : to_list) batch.Put(kMetaTable, std::string(kMetaTablePrefix) + name, "");
  return WriteWith(batch, /*sync=*/true, /*open=*/true);
}

}  // namespace sagadb
