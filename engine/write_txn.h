// WriteTxn: the writes of one operation, staged, with the record locks that make them safe.
//
//   WriteTxn txn(&store, &locks);
//   SAGADB_RETURN_IF_ERROR(txn.Lock({instance_id.AsBytes(), disk_id.AsBytes()}));  // before reading them
//   auto inst = txn.Get(instances, instance_id.AsBytes());  // sees this txn's own staged writes
//   txn.Put(instances, key, Encode(updated));
//   SAGADB_RETURN_IF_ERROR(txn.Commit());                   // one synced batch
//
// Saga local actions receive one (as a Txn) and only stage; the executor commits its batch together with the
// node's log record, then releases the locks, possibly on another thread. Destroying a txn releases whatever it
// still holds; its uncommitted writes are simply dropped.
//
// Not thread-safe: one txn belongs to one thread at a time (handing it to another is fine).
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/batch.h"
#include "engine/key_locks.h"
#include "engine/store.h"
#include "sagadb/action.h"
#include "sagadb/status.h"

namespace sagadb {

class WriteTxn : public Txn {
 public:
  WriteTxn(Store* store, KeyLocks* locks) : store_(store), locks_(locks) {}
  ~WriteTxn() override { ReleaseLocks(); }
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  // Txn (see sagadb/action.h for the contract): stripes are taken in ascending order; a stripe below one already
  // held is only tried, and Transient is returned at once if it is busy.
  using Txn::Lock;
  Status Lock(std::span<const std::string_view> keys) override;
  Result<std::string> Get(std::string_view table, std::string_view key) override;
  Status Put(std::string_view table, std::string_view key, std::string_view value) override;
  Status Delete(std::string_view table, std::string_view key) override;

  // The same by table id.
  Result<std::string> Get(TableId table, std::string_view key);
  void Put(TableId table, std::string_view key, std::string_view value);
  void Delete(TableId table, std::string_view key);

  // Whether a Lock call failed because a stripe below one already held was busy. The whole operation is then
  // safe to run again in a fresh txn.
  bool lock_conflict() const { return lock_conflict_; }
  // Whether the stripe of `key` is held by this txn.
  bool Holds(std::string_view key) const;

  bool empty() const { return staged_.empty(); }

  // Savepoints, for several operations sharing one txn (the local steps of one saga round): everything staged
  // after the mark can be taken back, the record locks taken since stay held (they are released with the txn's
  // others). Rolling back also clears lock_conflict.
  struct Mark {
    size_t undo = 0;
  };
  Mark mark() const { return Mark{undo_.size()}; }
  // REQUIRES: `m` came from this txn, and no later mark was rolled back past it.
  void RollbackTo(const Mark& m);
  // Appends what the txn leaves: one write per key, its last (a record staged by several steps of a round, an
  // instance that eleven attaches updated, is written once).
  void AppendTo(Batch* batch) const;
  Store* store() const { return store_; }

  // Writes the batch (synced) through Store::Write. Locks stay held until released.
  Status Commit();
  // Gives back every record lock; from any thread. Idempotent.
  void ReleaseLocks();

 private:
  Status LockStripes(std::vector<size_t> wanted);

  Store* store_;
  KeyLocks* locks_;
  Result<TableId> Resolve(std::string_view table) const;

  struct KeyOrder {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.first != b.first ? a.first < b.first : std::string_view(a.second) < std::string_view(b.second);
    }
  };
  using Key = std::pair<TableId, std::string>;
  // What the batch leaves under each key it writes: a value, or nullopt for a delete.
  std::map<Key, std::optional<std::string>, KeyOrder> staged_;
  // For RollbackTo: each write's key and what staged_ held for it before (nothing: the key was not staged).
  struct Undo {
    Key key;
    std::optional<std::optional<std::string>> before;
  };
  std::vector<Undo> undo_;
  void Stage(TableId table, std::string_view key, std::optional<std::string> value);
  std::vector<size_t> held_;  // ascending
  bool lock_conflict_ = false;
};

}  // namespace sagadb
