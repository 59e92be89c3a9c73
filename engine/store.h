// Store: the one RocksDB database that holds sagadb's records and saga log, one column family per record kind.
//
//   StoreOptions opts;
//   opts.path = "/var/lib/appliance/sagadb";
//   Result<std::unique_ptr<Store>> store = Store::Open(opts);
//
// Every write goes through Store::Write, the single place where batches reach RocksDB. Writes are synced by
// default (StoreOptions::sync). That one place is also the fault-injection seam (WriteHooks) and where synced
// writes are counted.
//
// Modes: kReadWrite takes RocksDB's lock on the directory (a second writer gets a clear "in use" error);
// kSecondary follows a database that another process owns (call CatchUp to see newer writes); kReadOnly opens
// a database that no process is writing. Write returns InvalidRequest in the two inspection modes.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/write_hooks.h"
#include "schema/uuid.h"

namespace sagadb {

// The schema version this build writes and understands. A database with a newer version is refused.
inline constexpr uint32_t kSchemaVersion = 1;

enum class Cf : int { kInstances = 0, kDisks, kSagas, kSagaEvents, kNames, kMeta };
inline constexpr int kNumCfs = 6;
std::string_view CfName(Cf cf);

enum class OpenMode { kReadWrite, kSecondary, kReadOnly };

struct StoreOptions {
  std::string path;
  OpenMode mode = OpenMode::kReadWrite;
  // kReadWrite only: create the database if the directory holds none.
  bool create_if_missing = true;
  // Sync every write (fsync of the WAL before Write returns). Turn off only to measure the engine's CPU cost.
  bool sync = true;
  // kSecondary: where RocksDB keeps the secondary's own files. Empty: a private temporary directory, removed
  // when the Store closes.
  std::string secondary_path;
  // Optional environment (tests use one that simulates power loss). Not owned; must outlive the Store.
  rocksdb::Env* env = nullptr;
  // Hooks installed before Open returns (see SetHooks); not owned. Tests use them to inject faults into what
  // happens right after an open, such as recovery.
  StoreHooks* hooks = nullptr;
};

class Store {
 public:
  // Opens or creates the database. Fails with InvalidRequest if the directory is not a sagadb database or its
  // schema is newer than kSchemaVersion, with Conflict if another process holds it (kReadWrite), and with
  // IOError for anything RocksDB reports.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The value under key, NotFound if there is none.
  Result<std::string> Get(Cf cf, std::string_view key) const;

  // Applies the batch atomically; synced unless StoreOptions::sync is false. On any error nothing of the batch
  // is visible. An IOError from RocksDB poisons the store: every later write fails too.
  Status Write(rocksdb::WriteBatch* batch);

  // An iterator over one column family. For kSecondary, reflects the last CatchUp. With a snapshot (taken from
  // db()->GetSnapshot() and released by the caller), several iterators see one consistent state of the database.
  std::unique_ptr<rocksdb::Iterator> NewIterator(Cf cf, const rocksdb::Snapshot* snapshot = nullptr) const;

  // kSecondary: replays what the owning process has written since the last catch-up.
  Status CatchUp();

  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return handles_[static_cast<int>(cf)]; }
  rocksdb::DB* db() const { return db_.get(); }
  const std::string& path() const { return options_.path; }
  OpenMode mode() const { return options_.mode; }
  const Uuid& database_id() const { return database_id_; }
  // Bumped (and made durable) by every read-write open.
  uint64_t open_generation() const { return open_generation_; }

  // Successful synced writes so far (the disk's unit of cost).
  uint64_t synced_writes() const { return synced_writes_.load(std::memory_order_relaxed); }
  // Bytes of batch data successfully written so far (the WAL's payload, before RocksDB's own framing).
  uint64_t bytes_written() const { return bytes_written_.load(std::memory_order_relaxed); }
  // Write calls so far, including those a hook refused or that failed.
  uint64_t write_attempts() const { return write_attempts_.load(std::memory_order_relaxed); }

  // Test seam: hooks run around every write and read. Not owned; nullptr removes them. Costs one relaxed load
  // per operation when unset.
  void SetHooks(StoreHooks* hooks) { hooks_.store(hooks, std::memory_order_release); }

 private:
  explicit Store(StoreOptions options) : options_(std::move(options)) {}
  Status OpenDb();
  Status InitMeta();

  StoreOptions options_;
  std::string temp_secondary_path_;  // removed on close when non-empty
  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, kNumCfs> handles_{};
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
  rocksdb::WriteOptions write_options_;
  Uuid database_id_;
  uint64_t open_generation_ = 0;
  std::atomic<uint64_t> synced_writes_{0};
  std::atomic<uint64_t> write_attempts_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<StoreHooks*> hooks_{nullptr};
  std::atomic<bool> poisoned_{false};
};

// Converts a RocksDB status into a sagadb Status, prefixing `what`.
Status FromRocks(const rocksdb::Status& s, std::string_view what);

}  // namespace sagadb
