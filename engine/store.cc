#include "engine/store.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>

#include "engine/keys.h"

namespace sagadb {
namespace {

namespace fs = std::filesystem;

// The engine's tables by TableId.
constexpr std::array<std::string_view, kFirstDomainTable> kEngineTables = {"meta", "sagas", "saga_events",
                                                                           "saga_index"};
// Domain tables of databases written before the metadata listed them: the control plane's, the only domain
// then. Such a database is taken to have registered exactly these.
constexpr std::array<std::string_view, 3> kUnlistedLegacyTables = {"instances", "disks", "names"};

constexpr std::string_view kMetaSchemaVersion = "schema_version";
constexpr std::string_view kMetaDatabaseId = "database_id";
constexpr std::string_view kMetaOpenGeneration = "open_generation";
constexpr std::string_view kMetaTablePrefix = "domain_table:";

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

bool IsEngineTable(std::string_view name) {
  return std::find(kEngineTables.begin(), kEngineTables.end(), name) != kEngineTables.end();
}

class RocksSnapshot : public Snapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snap) : db_(db), snap_(snap) {}
  ~RocksSnapshot() override {
    if (snap_ != nullptr) db_->ReleaseSnapshot(snap_);
  }
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

const rocksdb::Snapshot* RawSnapshot(const Snapshot* s) {
  return s == nullptr ? nullptr : static_cast<const RocksSnapshot*>(s)->get();
}

// The cursor over a table the database has not got (Store::HasTable): empty, with the error as its status.
class MissingTableCursor : public Cursor {
 public:
  explicit MissingTableCursor(Status status) : status_(std::move(status)) {}
  void SeekToFirst() override {}
  void SeekToLast() override {}
  void Seek(std::string_view) override {}
  void SeekForPrev(std::string_view) override {}
  bool Valid() const override { return false; }
  void Next() override {}
  void Prev() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  Status status() const override { return status_; }

 private:
  Status status_;
};

class RocksCursor : public Cursor {
 public:
  RocksCursor(std::unique_ptr<rocksdb::Iterator> it, std::string table) : it_(std::move(it)), table_(std::move(table)) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view key) override { it_->Seek(ToSlice(key)); }
  void SeekForPrev(std::string_view key) override { it_->SeekForPrev(ToSlice(key)); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override { return FromRocks(it_->status(), fmt::format("reading {}", table_)); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
  std::string table_;
};

}  // namespace

struct Store::Rocks {
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

std::string_view ToString(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  std::string msg = fmt::format("{}: {}", what, s.ToString());
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Status::Transient(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidRequest(std::move(msg));
  return Status::IOError(std::move(msg));
}

Store::Store(StoreConfig config) : config_(std::move(config)), rocks_(std::make_unique<Rocks>()) {}

Result<std::unique_ptr<Store>> Store::Open(const StoreConfig& config) {
  if (config.path.empty()) return Status::InvalidRequest("database path is empty");
  for (const auto& t : config.tables) {
    if (t.empty() || IsEngineTable(t) || t == rocksdb::kDefaultColumnFamilyName) {
      return Status::InvalidRequest(fmt::format("\"{}\" cannot be a domain table's name", t));
    }
  }
  std::unique_ptr<Store> store(new Store(config));
  SAGADB_RETURN_IF_ERROR(store->OpenDb());
  SAGADB_RETURN_IF_ERROR(store->InitMeta());
  if (config.hooks != nullptr) store->SetHooks(config.hooks);
  return store;
}

Store::~Store() {
  if (rocks_->db != nullptr) {
    for (auto* h : rocks_->handles) {
      if (h != nullptr) rocks_->db->DestroyColumnFamilyHandle(h);
    }
    if (rocks_->default_handle != nullptr) rocks_->db->DestroyColumnFamilyHandle(rocks_->default_handle);
    rocks_->db->Close().PermitUncheckedError();
    rocks_->db.reset();
  }
  if (!rocks_->temp_secondary_path.empty()) {
    std::error_code ec;
    fs::remove_all(rocks_->temp_secondary_path, ec);
  }
}

rocksdb::ColumnFamilyHandle* Store::handle(TableId table) const { return rocks_->handles[table]; }

Status Store::MissingTable(TableId table) const {
  if (table >= table_names_.size()) return Status::InvalidRequest(fmt::format("no table #{}", table));
  return Status::InvalidRequest(fmt::format(
      "database {} (schema version {}) has no table \"{}\" yet: one read-write open by this sagadb adds it",
      config_.path, schema_version(), table_names_[table]));
}

Status Store::OpenDb() {
  const std::string& path = config_.path;
  const StoreOptions& o = config_.options;
  std::error_code ec;
  const bool exists = fs::exists(fs::path(path) / "CURRENT", ec);
  rocksdb::DBOptions db_options;
  if (config_.env != nullptr) db_options.env = config_.env;
  std::vector<std::string> existing;
  if (!exists) {
    if (config_.mode != OpenMode::kReadWrite || !config_.create_if_missing) {
      return Status::NotFound(fmt::format("no sagadb database at {}", path));
    }
    if (fs::exists(path, ec) && !fs::is_directory(path, ec)) {
      return Status::InvalidRequest(fmt::format("{} is not a directory", path));
    }
    if (fs::is_directory(path, ec) && !fs::is_empty(path, ec)) {
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
    if (!s.ok()) return FromRocks(s, fmt::format("reading {}", path));
    if (std::find(existing.begin(), existing.end(), "meta") == existing.end()) {
      return Status::InvalidRequest(fmt::format("{} is not a sagadb database (no meta column family)", path));
    }
  }

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
      }
      db_options.max_open_files = -1;  // required by secondary instances
      s = rocksdb::DB::OpenAsSecondary(db_options, path, secondary, descriptors, &handles, &raw);
      break;
    }
  }
  if (!s.ok()) {
    if (config_.mode == OpenMode::kReadWrite && s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::Conflict(
          fmt::format("database {} is in use by another process (it holds the lock); try again when it exits, "
                      "or use an inspection command",
                      path));
    }
    return FromRocks(s, fmt::format("opening {}", path));
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
  // leaves a column family that the next open by the same program lists; another program refuses it.)
  ++open_generation_;
  rocksdb::WriteBatch batch;
  auto* meta = handle(kMetaTable);
  // An existing database keeps its version: a migration moves it on once its work is done (CommitSchemaVersion).
  batch.Put(meta, ToSlice(kMetaSchemaVersion), BigEndian32(schema_version()));
  batch.Put(meta, ToSlice(kMetaDatabaseId), ToSlice(database_id_.AsBytes()));
  batch.Put(meta, ToSlice(kMetaOpenGeneration), BigEndian64(open_generation_));
  if (!has_listing) {
    for (const auto& name : listed) batch.Put(meta, std::string(kMetaTablePrefix) + name, rocksdb::Slice());
  }
  for (const auto& name : to_list) batch.Put(meta, std::string(kMetaTablePrefix) + name, rocksdb::Slice());
  rocksdb::WriteOptions synced;
  synced.sync = true;
  auto s = rocks_->db->Write(synced, &batch);
  return FromRocks(s, "writing database metadata");
}

Result<TableId> Store::FindTable(std::string_view name) const {
  for (TableId t = 0; t < table_names_.size(); ++t) {
    if (table_names_[t] == name) return t;
  }
  return Status::NotFound(fmt::format("database {} has no table \"{}\"", config_.path, name));
}

std::string_view Store::TableName(TableId table) const {
  return table < table_names_.size() ? std::string_view(table_names_[table]) : std::string_view("?");
}

std::vector<std::string> Store::DomainTables() const {
  return std::vector<std::string>(table_names_.begin() + kFirstDomainTable, table_names_.end());
}

bool Store::HasTable(TableId table) const { return table < rocks_->handles.size() && handle(table) != nullptr; }

Status Store::CommitSchemaVersion(Batch batch, uint32_t version) {
  batch.Put(kMetaTable, kMetaSchemaVersion, BigEndian32(version));
  SAGADB_RETURN_IF_ERROR(Write(batch));
  schema_version_.store(version, std::memory_order_release);
  return Status::OK();
}

Result<std::string> Store::Get(TableId table, std::string_view key, const Snapshot* snapshot) const {
  if (auto* hooks = hooks_.load(std::memory_order_acquire)) {
    SAGADB_RETURN_IF_ERROR(hooks->BeforeRead());
  }
  if (!HasTable(table)) return MissingTable(table);
  rocksdb::ReadOptions ro;
  ro.snapshot = RawSnapshot(snapshot);
  std::string value;
  auto s = rocks_->db->Get(ro, handle(table), ToSlice(key), &value);
  if (s.IsNotFound()) return Status::NotFound(fmt::format("no key in {}", TableName(table)));
  if (!s.ok()) return FromRocks(s, fmt::format("reading {}", TableName(table)));
  return value;
}

Status Store::Write(const Batch& batch) {
  if (config_.mode != OpenMode::kReadWrite) {
    return Status::InvalidRequest("the database is open for inspection only");
  }
  const uint64_t n = write_attempts_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (poisoned_.load(std::memory_order_acquire)) {
    return Status::IOError("an earlier write failed; the store refuses writes until it is reopened");
  }
  rocksdb::WriteBatch wb(batch.payload_bytes() + 16 * batch.count() + 32);
  Batch::Reader reader(batch);
  Batch::Entry e;
  while (reader.Next(&e)) {
    if (!HasTable(e.table)) return MissingTable(e.table);
    auto s = e.op == Batch::Op::kPut ? wb.Put(handle(e.table), ToSlice(e.key), ToSlice(e.value))
                                     : wb.Delete(handle(e.table), ToSlice(e.key));
    if (!s.ok()) return FromRocks(s, "building a write batch");
  }
  StoreHooks* hooks = hooks_.load(std::memory_order_acquire);
  if (hooks != nullptr) SAGADB_RETURN_IF_ERROR(hooks->BeforeWrite(n));
  auto s = rocks_->db->Write(rocks_->write_options, &wb);
  if (!s.ok()) {
    Status st = FromRocks(s, "write");
    if (st.code() == Code::kIOError || st.code() == Code::kCorruption) {
      if (!poisoned_.exchange(true) && config_.logger != nullptr) {
        config_.logger->Log(LogLevel::kError, fmt::format("store {}: {}; refusing writes until reopened",
                                                          config_.path, st.ToString()));
      }
    }
    return st;
  }
  if (rocks_->write_options.sync) synced_writes_.fetch_add(1, std::memory_order_relaxed);
  bytes_written_.fetch_add(batch.payload_bytes(), std::memory_order_relaxed);
  if (hooks != nullptr) hooks->AfterWrite(n);
  return Status::OK();
}

std::unique_ptr<Cursor> Store::NewCursor(TableId table, const Snapshot* snapshot) const {
  if (!HasTable(table)) return std::make_unique<MissingTableCursor>(MissingTable(table));
  rocksdb::ReadOptions ro;
  ro.snapshot = RawSnapshot(snapshot);
  return std::make_unique<RocksCursor>(std::unique_ptr<rocksdb::Iterator>(rocks_->db->NewIterator(ro, handle(table))),
                                       std::string(TableName(table)));
}

std::shared_ptr<const Snapshot> Store::NewSnapshot() const {
  // RocksDB's secondary and read-only instances refuse snapshots; their view is fixed between catch-ups anyway.
  const rocksdb::Snapshot* snap = config_.mode == OpenMode::kReadWrite ? rocks_->db->GetSnapshot() : nullptr;
  return std::make_shared<RocksSnapshot>(rocks_->db.get(), snap);
}

Status Store::CatchUp() {
  if (config_.mode != OpenMode::kSecondary) return Status::OK();
  return FromRocks(rocks_->db->TryCatchUpWithPrimary(), "catching up with the primary");
}

}  // namespace sagadb
