// WriteTxn: the writes of one operation, staged in a batch, with the record locks that make them safe.
//
//   WriteTxn txn(&store, &locks);
//   SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id, disk_id}));   // before reading them
//   auto inst = txn.Get(Cf::kInstances, instance_id.AsBytes()); // sees this txn's own staged writes
//   txn.Put(Cf::kInstances, key, Encode(updated));
//   SAGADB_RETURN_IF_ERROR(txn.Commit());                       // one synced WriteBatch
//
// Saga local actions receive a WriteTxn and only stage; the executor commits the batch together with the node's
// log record, then destroys the txn, which releases the locks. Destroying an uncommitted txn discards it.
//
// Not thread-safe: one txn belongs to one thread at a time.
#pragma once

#include <rocksdb/utilities/write_batch_with_index.h>

#include <initializer_list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/key_locks.h"
#include "engine/status.h"
#include "engine/store.h"

namespace sagadb {

class WriteTxn {
 public:
  WriteTxn(Store* store, KeyLocks* locks);
  ~WriteTxn();
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  // Locks the stripes of these ids until the txn is destroyed. Stripes are taken in ascending order; a later
  // call that would need a lower stripe than one already held only tries it, and returns Transient if it is
  // busy (the caller retries the whole operation), so no two txns can deadlock.
  Status Lock(std::span<const Uuid> ids);
  Status Lock(std::initializer_list<Uuid> ids) { return Lock(std::span<const Uuid>(ids.begin(), ids.size())); }
  // The same for a key that is not a record id (a name index entry).
  Status LockKey(std::string_view key);
  // Whether a Lock call failed because a stripe below one already held was busy. The whole operation is then
  // safe to run again in a fresh txn.
  bool lock_conflict() const { return lock_conflict_; }
  // Whether the stripe of `id` is held by this txn.
  bool Holds(const Uuid& id) const;

  // The value as this txn would leave it: its own staged writes first, then the database. NotFound if none.
  Result<std::string> Get(Cf cf, std::string_view key);
  void Put(Cf cf, std::string_view key, std::string_view value);
  void Delete(Cf cf, std::string_view key);

  bool empty() { return batch_.GetWriteBatch()->Count() == 0; }
  // The staged writes. The executor appends the node's log records to it before committing.
  rocksdb::WriteBatch* batch() { return batch_.GetWriteBatch(); }
  Store* store() const { return store_; }

  // Writes the batch (synced) through Store::Write. Locks stay held until destruction.
  Status Commit();

 private:
  Store* store_;
  KeyLocks* locks_;
  rocksdb::WriteBatchWithIndex batch_;
  Status LockStripes(std::vector<size_t> wanted);

  std::vector<size_t> held_;  // ascending
  bool lock_conflict_ = false;
};

// Appends every write of `src` (puts and deletes on this store's column families) to `dst`, so that several
// txns can share one synced batch.
Status AppendBatch(const Store& store, rocksdb::WriteBatch& src, rocksdb::WriteBatch* dst);

}  // namespace sagadb
