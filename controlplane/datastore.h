// Datastore: the typed records of the control plane (instances, disks, the name index) in its three tables.
//
// Every mutation comes in two forms:
//   - Stage*(txn, ...) locks the records it reads, reads them through the txn, checks the rules of
//     docs/DESIGN.md section 2 and stages the new records into the txn. It writes nothing. Saga local actions
//     use this form, through the Txn the engine hands them; the executor commits it with the node's log record.
//   - The plain form (AttachDisk, DetachDisk, ...) runs the staged form in a fresh txn and commits it: ONE
//     synced WriteBatch covering every record the operation changes.
// Both return the record as committed (or staged), built from what was written: there is no read after the
// write, so a successful commit can never be followed by a failure of the same operation.
//
// Idempotent repeats: attaching a disk already attached to the same instance, detaching a detached disk,
// deleting a destroyed record, and creating a record whose id already exists with the same name all return
// the current record without writing.
//
// Thread safety: all methods may be called concurrently; callers racing on the same records are serialized by
// the record locks (KeyLocks, the database's one table of them), which a txn holds from its first read until its
// writes are committed or dropped.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/key_locks.h"
#include "engine/store.h"
#include "engine/write_txn.h"
#include "sagadb/action.h"
#include "sagadb/status.h"
#include "schema/records.h"

namespace sagadb {

struct InstanceSpec {
  Uuid id;
  std::string project;
  std::string name;
  uint32_t cpus = 1;
  uint64_t memory_bytes = 1ull << 30;
  std::optional<Uuid> saga_id;
};

struct DiskSpec {
  Uuid id;
  std::string project;
  std::string name;
  uint64_t size_bytes = 0;
  std::optional<Uuid> saga_id;
};

// The records of one kind, and the errors met while reading the others (a corrupted record does not hide its
// neighbours).
template <typename T>
struct Listing {
  std::vector<T> records;
  std::vector<Status> errors;
};

// The control plane's tables.
inline constexpr char kInstancesTable[] = "instances";
inline constexpr char kDisksTable[] = "disks";
inline constexpr char kNamesTable[] = "names";  // project + kind + name -> id of the live record

class Datastore {
 public:
  // The control plane's records in `store`: NotFound if it has not got the three tables (a database opened
  // without the control-plane domain). `locks` is the table every txn on this store uses; null for a reader
  // (then the one-shot mutations return InvalidRequest). Both must outlive the datastore.
  static Result<std::unique_ptr<Datastore>> Open(Store* store, KeyLocks* locks = nullptr);

  Store* store() const { return store_; }
  KeyLocks* locks() const { return locks_; }

  // --- Reads (no locks). NotFound if absent, Corruption (naming the CF and key) if the bytes are damaged.
  Result<Instance> GetInstance(const Uuid& id) const;
  Result<Disk> GetDisk(const Uuid& id) const;
  // The live record with that name in the project.
  Result<Uuid> LookupInstance(std::string_view project, std::string_view name) const;
  Result<Uuid> LookupDisk(std::string_view project, std::string_view name) const;
  Listing<Instance> ListInstances() const;
  Listing<Disk> ListDisks() const;
  // The records in id order, one at a time (for listings of any size): from the first id after `after` (or the
  // first), each handed to `fn` until it returns false. A record that does not decode is appended to `errors`
  // and skipped; a read error ends the walk with that status.
  Status ForEachInstance(const std::optional<Uuid>& after, const std::function<bool(const Instance&)>& fn,
                         std::vector<Status>* errors) const;
  Status ForEachDisk(const std::optional<Uuid>& after, const std::function<bool(const Disk&)>& fn,
                     std::vector<Status>* errors) const;

  // --- Reads through a txn: its staged writes first (the caller locks the record first).
  static Result<Instance> ReadInstance(Txn& txn, const Uuid& id);
  static Result<Disk> ReadDisk(Txn& txn, const Uuid& id);

  // --- Staged mutations (they use nothing but the txn).
  // Creates the instance in state `creating`. Validates the names; Conflict if the name is taken.
  static Result<Instance> StageCreateInstance(Txn& txn, const InstanceSpec& spec);
  // Creates the disk in state `creating`. Validates the names and that size_bytes > 0.
  static Result<Disk> StageCreateDisk(Txn& txn, const DiskSpec& spec);
  // Moves the disk from one of `from` to `to` (no write if it is already in `to`). An attached disk is refused:
  // only detach ends an attachment.
  static Result<Disk> StageSetDiskState(Txn& txn, const Uuid& disk, std::span<const DiskState> from, DiskState to);
  // Moves the instance from one of `from` to `to` (no write if it is already in `to`).
  static Result<Instance> StageSetInstanceState(Txn& txn, const Uuid& instance, std::span<const InstanceState> from,
                                         InstanceState to);
  // `changed` (if given) says whether anything was staged: false when the disk already was as asked.
  // StageAttachDisk takes the lowest free slot.
  static Result<Disk> StageAttachDisk(Txn& txn, const Uuid& disk, const Uuid& instance, bool* changed = nullptr);
  // `freed_slot` (if given) gets the slot the disk left, when it changed.
  static Result<Disk> StageDetachDisk(Txn& txn, const Uuid& disk, const Uuid& instance, bool* changed = nullptr,
                                      int* freed_slot = nullptr);
  // Attaches the disk at exactly `slot`, as an undo of a detach puts it back where it was. The rules of attach,
  // and: a slot another disk holds is Conflict (nothing moves, the disk stays detached); a disk already attached
  // to the instance is Ok (no write) at that slot and Conflict at another; a slot outside 0-11 is InvalidRequest.
  static Result<Disk> StageReattachDisk(Txn& txn, const Uuid& disk, const Uuid& instance, int slot,
                                        bool* changed = nullptr);
  // Sets the boot disk, which must be attached to the instance; nullopt clears it.
  static Result<Instance> StageSetBootDisk(Txn& txn, const Uuid& instance, std::optional<Uuid> disk);
  // Marks the disk destroyed and frees its name, if it is in one of `allowed` and not attached. Error text for a
  // refused state: disk cannot be deleted in state "X". An already destroyed disk is Ok.
  static Result<Disk> StageDeleteDisk(Txn& txn, const Uuid& disk, std::span<const DiskState> allowed);
  // Undoes StageDeleteDisk: a destroyed disk comes back in state `to` (detached or faulted, the states a disk can
  // be deleted from) and takes its name again. Conflict if another disk took the name meanwhile. A disk already
  // in `to` is Ok (no write); any other state is InvalidRequest.
  static Result<Disk> StageRestoreDisk(Txn& txn, const Uuid& disk, DiskState to);
  // Marks the instance destroyed and frees its name, if it is in one of `allowed` and has no disk attached.
  static Result<Instance> StageDeleteInstance(Txn& txn, const Uuid& instance, std::span<const InstanceState> allowed);

  // --- One synced batch each.
  Result<Instance> CreateInstance(const InstanceSpec& spec);
  Result<Disk> CreateDisk(const DiskSpec& spec);
  Result<Disk> AttachDisk(const Uuid& disk, const Uuid& instance);
  Result<Disk> DetachDisk(const Uuid& disk, const Uuid& instance);
  Result<Instance> SetInstanceState(const Uuid& instance, std::span<const InstanceState> from, InstanceState to);
  Result<Disk> SetDiskState(const Uuid& disk, std::span<const DiskState> from, DiskState to);
  Result<Instance> SetBootDisk(const Uuid& instance, std::optional<Uuid> disk);
  // API delete: from detached or faulted.
  Result<Disk> DeleteDisk(const Uuid& disk);
  // From stopped, failed or creating.
  Result<Instance> DeleteInstance(const Uuid& instance);

  // States the API delete allows.
  static constexpr DiskState kApiDeletableDisk[] = {DiskState::kDetached, DiskState::kFaulted};
  // States a disk-create undo may delete from.
  static constexpr DiskState kUndoDeletableDisk[] = {DiskState::kDetached, DiskState::kFaulted, DiskState::kCreating};
  static constexpr InstanceState kDeletableInstance[] = {InstanceState::kStopped, InstanceState::kFailed,
                                                        InstanceState::kCreating};

 private:
  static constexpr int kLockConflictRetries = 1000;
  // Runs `stage` in a fresh txn and commits it if it staged anything; runs it again after a lock-order conflict.
  template <typename T, typename F>
  Result<T> Apply(F&& stage);

  // Attach at slot `at`, or at the lowest free one.
  static Result<Disk> StageAttachAt(Txn& txn, const Uuid& disk, const Uuid& instance, std::optional<int> at,
                                    bool* changed);

  Datastore(Store* store, KeyLocks* locks, TableId instances, TableId disks, TableId names)
      : store_(store), locks_(locks), instances_(instances), disks_(disks), names_(names) {}
  // Stage the record, its generation and modified time bumped.
  // InvalidRequest: `what` is in state "state".
  static Status StateError(std::string_view what, std::string_view state);
  static Status PutInstance(Txn& txn, Instance& r);
  static Status PutDisk(Txn& txn, Disk& r);
  Result<Uuid> Lookup(std::string_view key) const;

  Store* const store_;
  KeyLocks* const locks_;
  const TableId instances_, disks_, names_;
};

}  // namespace sagadb
