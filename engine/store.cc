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
using store_internal::kMetaSchemaVersion;
using store_internal::Poisons;
using store_internal::ToSlice;

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

// "1.5 MiB"
std::string Bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} bytes", n);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

// "12.0 KiB of 4.0 MiB free", or empty if the file system cannot say.
std::string SpaceLeft(const std::string& path) {
  struct statvfs v {};
  if (::statvfs(path.c_str(), &v) != 0) return "";
  return fmt::format("{} of {} free", Bytes(static_cast<uint64_t>(v.f_bavail) * v.f_frsize),
                     Bytes(static_cast<uint64_t>(v.f_blocks) * v.f_frsize));
}

}  // namespace

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
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::SubCode::kSpaceLimit) {
    return Status::NoSpace(fmt::format("no space left: {}", msg));
  }
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Status::Transient(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidRequest(std::move(msg));
  return Status::IOError(std::move(msg));
}

Store::Store(StoreConfig config) : config_(std::move(config)), rocks_(std::make_unique<Rocks>()) {}

Store::~Store() {
  if (rocks_->db != nullptr) {
    for (auto* h : rocks_->handles) {
      if (h != nullptr) rocks_->db->DestroyColumnFamilyHandle(h);
    }
    if (rocks_->default_handle != nullptr) rocks_->db->DestroyColumnFamilyHandle(rocks_->default_handle);
    rocks_->db->Close().PermitUncheckedError();
    rocks_->db.reset();
  }
  if (rocks_->claimed) store_internal::OpenDatabases::Get().Release(*rocks_->claimed);
  if (!rocks_->temp_secondary_path.empty()) {
    std::error_code ec;
    fs::remove_all(rocks_->temp_secondary_path, ec);
  }
}

Status Store::Failure(const rocksdb::Status& s, std::string_view what) const {
  Status st = FromRocks(s, what);
  if (st.code() != Code::kNoSpace) return st;
  const std::string space = SpaceLeft(config_.path);
  return Status::NoSpace(fmt::format("no space left on {}{}: {}: {}", config_.path,
                                     space.empty() ? "" : " (" + space + ")", what, s.ToString()));
}

Status Store::Poison(const Status& error) {
  MutexLock lock(&poison_mu_);
  if (!poisoned_.load(std::memory_order_relaxed)) {
    poison_ = error;
    poisoned_.store(true, std::memory_order_release);
    if (config_.logger != nullptr) {
      config_.logger->Log(LogLevel::kError, fmt::format("store {}: {}; refusing writes until the database is reopened",
                                                        config_.path, error.ToString()));
    }
  }
  return poison_;
}

Status Store::poisoned() const {
  if (!poisoned_.load(std::memory_order_acquire)) return Status::OK();
  MutexLock lock(&poison_mu_);
  return poison_;
}

rocksdb::ColumnFamilyHandle* Store::handle(TableId table) const { return rocks_->handles[table]; }

Status Store::MissingTable(TableId table) const {
  if (table >= table_names_.size()) return Status::InvalidRequest(fmt::format("no table #{}", table));
  return Status::InvalidRequest(fmt::format(
      "database {} (schema version {}) has no table \"{}\" yet: one read-write open by this sagadb adds it",
      config_.path, schema_version(), table_names_[table]));
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

Status Store::Write(const Batch& batch) { return WriteWith(batch, rocks_->write_options.sync, /*open=*/false); }

Status Store::WriteWith(const Batch& batch, bool sync, bool open) {
  if (config_.mode != OpenMode::kReadWrite) {
    return Status::InvalidRequest("the database is open for inspection only");
  }
  const uint64_t n = open ? 0 : write_attempts_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (poisoned_.load(std::memory_order_acquire)) {
    const Status first = poisoned();
    return Status::FromCode(static_cast<uint8_t>(first.code()),
                            fmt::format("{} (an earlier failure: the store refuses writes until the database is "
                                        "reopened)",
                                        first.message()));
  }
  rocksdb::WriteBatch wb(batch.payload_bytes() + 16 * batch.count() + 32);
  Batch::Reader reader(batch);
  Batch::Entry e;
  while (reader.Next(&e)) {
    if (!HasTable(e.table)) return MissingTable(e.table);
    rocksdb::Status s;
    switch (e.op) {
      case Batch::Op::kPut: s = wb.Put(handle(e.table), ToSlice(e.key), ToSlice(e.value)); break;
      case Batch::Op::kDelete: s = wb.Delete(handle(e.table), ToSlice(e.key)); break;
      case Batch::Op::kDeleteRange: s = wb.DeleteRange(handle(e.table), ToSlice(e.key), ToSlice(e.value)); break;
    }
    if (!s.ok()) return FromRocks(s, "building a write batch");
  }
  StoreHooks* hooks = hooks_.load(std::memory_order_acquire);
  if (hooks != nullptr) SAGADB_RETURN_IF_ERROR(hooks->BeforeWrite(n));
  rocksdb::WriteOptions options = rocks_->write_options;
  options.sync = sync;
  auto s = rocks_->db->Write(options, &wb);
  if (!s.ok()) {
    Status st = Failure(s, "write");
    // The first failure is what every later write reports, this one included if another write (or RocksDB's
    // background work) failed first: RocksDB refused this write because of that one.
    return Poisons(st) ? Poison(st) : st;
  }
  if (sync) {
    synced_writes_.fetch_add(1, std::memory_order_relaxed);
    synced_write_entries_.Add(batch.count());
  }
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

