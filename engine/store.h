// Store: the one RocksDB database that holds sagadb's tables: the engine's own (the saga log and the metadata)
// and those of the domains built on it (the control plane's instances and disks, an embedder's own).
//
//   StoreConfig config;
//   config.path = "/var/lib/appliance/sagadb";
//   config.tables = {"instances", "disks", "names"};
//   Result<std::unique_ptr<Store>> store = Store::Open(config);
//   TableId disks = *(*store)->FindTable("disks");
//
// Every write goes through Store::Write, the single place where batches reach RocksDB (the open's own metadata
// write takes the same path: hooks see it as write number 0, before the store's own writes 1, 2, ...). Writes
// are synced unless StoreOptions::sync is off. That one place is also the fault-injection seam (StoreHooks) and
// where synced writes are counted. Nothing else reaches RocksDB: readers get values, cursors and snapshots, never
// the database.
//
// A store that failed to write is poisoned (LevelDB's rule): the first write, sync, flush or compaction that
// fails for a reason other than a transient one makes every later write fail at once with that first error,
// until the database is reopened. Nothing is ever written again through files RocksDB saw fail, and RocksDB's
// own recovery from background errors (its automatic resume, and the polling for free space after NoSpace) is
// off: the next open is the recovery. A full file system is reported as NoSpace ("no space left on <path> ...").
//
// Files are private to their owner: the directory is created 0700 and every file RocksDB creates in it 0600
// (engine/private_file_system.h), without touching the process umask. RocksDB's diagnostic log (LOG) is
// written by sagadb (engine/info_log.h).
//
// Tables are column families. The engine's own have fixed ids below kFirstDomainTable; a domain's tables are
// created the first time a program that declares them opens the database for writing, and are listed in the
// metadata so that any later program (the sagadb tool, a program without that domain) opens them too. A column
// family that is neither the engine's nor listed there was made by a newer sagadb: the open is refused.
//
// Modes: kReadWrite takes RocksDB's lock on the directory (a second writer, in another process or in this one,
// gets Conflict: asked of the lock before opening, engine/db_lock.h, never guessed from RocksDB's message);
// kSecondary follows a database that another process owns (call CatchUp to see newer writes); kReadOnly opens a
// database that no process is writing. Write returns InvalidRequest in the two inspection modes. An inspection
// open of a database written before one of the engine's tables existed opens without it: HasTable says so.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/histogram.h"
#include "base/mutex.h"
#include "engine/batch.h"
#include "engine/write_hooks.h"
#include "sagadb/logger.h"
#include "sagadb/options.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class Status;
}  // namespace rocksdb

namespace sagadb {

// The schema version this build writes and understands. A database with a newer version is refused.
//   1  the saga log (records and events) and the domain tables
//   2  and the saga index (log/saga_index.h). A version-1 database keeps saying 1 until its first read-write
//      open by this build has built the index (log/index_migration.h); inspection opens read it without one.
//   3  and the `paused` saga state and operator events (cancel, resume, abandon), which a version-2 sagadb
//      would take for corruption. Nothing to migrate: a read-write open moves a version-2 database on.
inline constexpr uint32_t kSchemaVersion = 3;

// The engine's own tables.
inline constexpr TableId kMetaTable = 0;        // schema version, database id, open generation, domain tables
inline constexpr TableId kSagasTable = 1;       // saga id -> saga record
inline constexpr TableId kSagaEventsTable = 2;  // saga id + sequence -> node event
inline constexpr TableId kSagaIndexTable = 3;   // sagas in flight, and finished sagas by finish time
inline constexpr TableId kFirstDomainTable = 4;

enum class OpenMode { kReadWrite, kSecondary, kReadOnly };

struct StoreConfig {
  std::string path;
  OpenMode mode = OpenMode::kReadWrite;
  // kReadWrite only: create the database (and its directory) if there is none.
  bool create_if_missing = true;
  StoreOptions options;
  // The domain tables this program uses. kReadWrite creates the missing ones; the inspection modes open those
  // that exist (FindTable is NotFound for the others).
  std::vector<std::string> tables;
  // kSecondary: where RocksDB keeps the secondary's own files. Empty: a private temporary directory, removed
  // when the Store closes.
  std::string secondary_path;
  // Not owned; may be null. Receives what the store has to say (a write that poisoned it).
  Logger* logger = nullptr;
  // Test seams, not owned, must outlive the Store: an environment (one that simulates power loss or fails
  // writes; only its FileSystem is used), and hooks installed before the open writes anything (faults and crash
  // points at the open's own metadata write, which hooks see as write number 0, and during what follows, such as
  // recovery).
  rocksdb::Env* env = nullptr;
  StoreHooks* hooks = nullptr;
};

// A consistent view of the whole database at one moment, for several reads that must agree. Released when the
// last reference goes.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
};

// An ordered walk over one table. Valid() is false at the end and after an error; status() tells which. A
// cursor over damaged data stops with a Corruption status: callers must check it before taking a listing as
// whole.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // The first key >= `key`.
  virtual void Seek(std::string_view key) = 0;
  // The last key <= `key`.
  virtual void SeekForPrev(std::string_view key) = 0;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual void Prev() = 0;
  // REQUIRES: Valid(). Good until the cursor moves.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

// One table file (SST) of the database, as the database lists it.
struct TableFile {
  std::string table;  // the table (column family) it belongs to
  std::string name;   // its file name in the database directory, "000012.sst"
  int level = 0;
  uint64_t size_bytes = 0;
  uint64_t entries = 0;  // keys and deletions it holds
  std::string smallest, largest;  // its first and last key
};

class Store {
 public:
  // Opens or creates the database. Fails with InvalidRequest if the directory is not a sagadb database or was
  // written by a newer sagadb, with Conflict if another process (or another Store of this process) holds it
  // (kReadWrite), NotFound if there is no database and none may be created, NoSpace if its file system is full,
  // and IOError for anything else RocksDB reports.
  static Result<std::unique_ptr<Store>> Open(const StoreConfig& config);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The table of that name: one of the engine's ("sagas", ...) or a domain's. NotFound if the database has none.
  Result<TableId> FindTable(std::string_view name) const;
  std::string_view TableName(TableId table) const;
  // Every domain table the database has, in the order of their ids.
  std::vector<std::string> DomainTables() const;
  // False only for an engine table that an inspection open did not find (an older database). Reading such a
  // table is an InvalidRequest error (a cursor over it has that status).
  bool HasTable(TableId table) const;

  // The schema version of the database as opened: kSchemaVersion for a new one, or what an existing one says
  // (an older one's until CommitSchemaVersion moves it on).
  uint32_t schema_version() const { return schema_version_.load(std::memory_order_acquire); }
  // Writes `batch` with the database's schema version set to `version`, in one synced write; schema_version()
  // says `version` once it is durable. For migrations: the version moves with their last write.
  Status CommitSchemaVersion(Batch batch, uint32_t version);

  // The value under key, NotFound if there is none. With a snapshot, as of that snapshot.
  Result<std::string> Get(TableId table, std::string_view key, const Snapshot* snapshot = nullptr) const;

  // Applies the batch atomically; synced unless StoreOptions::sync is off. On any error nothing of the batch is
  // visible. An IOError, NoSpace or Corruption from RocksDB (or a failed flush or compaction) poisons the store:
  // every later write fails at once with the first error's code and message. A write refused by the hooks does
  // not poison it.
  Status Write(const Batch& batch);

  // The error that poisoned the store; OK while it accepts writes.
  Status poisoned() const;

  // A cursor over one table. For kSecondary, reflects the last CatchUp. With a snapshot, as of that snapshot.
  std::unique_ptr<Cursor> NewCursor(TableId table, const Snapshot* snapshot = nullptr) const;
  // A consistent view for several reads. In the inspection modes the whole view only moves on CatchUp, so the
  // snapshot is simply that view (reads with it are reads without it).
  std::shared_ptr<const Snapshot> NewSnapshot() const;

  // kSecondary: replays what the owning process has written since the last catch-up.
  Status CatchUp();

  // The table files of every table the store opened, as the database lists them now (a secondary: as of its
  // last catch-up), for an operator's checks (engine/salvage.h).
  std::vector<TableFile> TableFiles() const;

  const std::string& path() const { return config_.path; }
  OpenMode mode() const { return config_.mode; }
  bool syncs() const { return config_.options.sync; }
  const Uuid& database_id() const { return database_id_; }
  // Bumped (and made durable) by every read-write open.
  uint64_t open_generation() const { return open_generation_; }

  // Successful synced writes so far (the disk's unit of cost), the open's own included.
  uint64_t synced_writes() const { return synced_writes_.load(std::memory_order_relaxed); }
  // How many entries (puts and deletes) each of those carried: bounds 1, 2, 4, ... 8192.
  Histogram synced_write_entries() const { return synced_write_entries_.Snapshot(); }
  // Bytes of keys and values successfully written so far (before RocksDB's own framing).
  uint64_t bytes_written() const { return bytes_written_.load(std::memory_order_relaxed); }
  // Write calls so far, including those a hook refused or that failed: the number hooks see for the last one.
  uint64_t write_attempts() const { return write_attempts_.load(std::memory_order_relaxed); }

  // Test seam: hooks run around every write and point read. Not owned; nullptr removes them. Costs one
  // relaxed load per operation when unset.
  void SetHooks(StoreHooks* hooks) { hooks_.store(hooks, std::memory_order_release); }

 private:
  struct Rocks;
  class BackgroundErrors;
  explicit Store(StoreConfig config);
  Status OpenDb();
  // kReadWrite: Conflict if this process or another already has the database open for writing.
  Status ClaimDatabase();
  Status InitMeta();
  // `open`: the open's metadata write (hooks see it as number 0; write_attempts does not count it).
  Status WriteWith(const Batch& batch, bool sync, bool open);
  rocksdb::ColumnFamilyHandle* handle(TableId table) const;
  // A RocksDB failure as a sagadb Status: NoSpace (naming the database's path and what is left on its file
  // system) for a full disk, otherwise as FromRocks.
  Status Failure(const rocksdb::Status& s, std::string_view what) const;
  // Poisons the store with `error` unless it already is; returns the error that poisoned it.
  Status Poison(const Status& error) EXCLUDES(poison_mu_);
  Status MissingTable(TableId table) const;

  StoreConfig config_;
  std::unique_ptr<Rocks> rocks_;
  std::vector<std::string> table_names_;  // by TableId
  Uuid database_id_;
  uint64_t open_generation_ = 0;
  std::atomic<uint32_t> schema_version_{kSchemaVersion};
  std::atomic<uint64_t> synced_writes_{0};
  AtomicHistogram synced_write_entries_{1, 14};
  std::atomic<uint64_t> write_attempts_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<StoreHooks*> hooks_{nullptr};
  std::atomic<bool> poisoned_{false};  // poison_ is set
  mutable Mutex poison_mu_;
  Status poison_ GUARDED_BY(poison_mu_);
};

// Converts a RocksDB status into a sagadb Status, prefixing `what`.
Status FromRocks(const rocksdb::Status& s, std::string_view what);

}  // namespace sagadb
