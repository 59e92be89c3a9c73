// Internal to Check (check.cc and the passes it runs): the view it reads, point lookups into it, and where its
// findings go.
//
// Check streams: every pass walks one table in key order and looks up what each record names, so its memory is
// one record (or one saga's log, or one volume shard's names) at a time plus what it found, whatever the size
// of the database. The only sets it keeps are the footprints of the sagas in flight (O(sagas in flight)) and,
// between the disk and instance passes, the disks that name an instance that does not list them (violations).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controlplane/check.h"
#include "controlplane/datastore.h"
#include "schema/records.h"

namespace sagadb::check_internal {

// What a point lookup found: the record, nothing, or bytes that do not decode (already a corruption finding of
// the pass over their table, so the one who looked them up says nothing more).
template <typename T>
struct Found {
  enum What { kMissing, kUnreadable, kFound } what = kMissing;
  T value{};
  bool found() const { return what == kFound; }
};

struct CheckState {
  CheckOptions options;
  std::string volumes_dir;
  Store* store = nullptr;
  // The view of every pass but the volumes' (which takes its own per shard): a snapshot on a read-write store;
  // on an inspection store, its view as of its last catch-up (then null).
  const Snapshot* snap = nullptr;
  TableId instances_table = 0, disks_table = 0;
  CheckReport* report = nullptr;

  // The instances and disks that sagas in flight act on (their footprints), as of `snap`.
  std::set<Uuid> in_flight_instances;
  std::set<Uuid> in_flight_disks;
  // The instances and disks abandoned sagas acted on (their footprints), each with the saga: what is wrong with
  // them is that saga's leftovers.
  std::map<Uuid, Uuid> left_by;
  std::set<Uuid> abandoned;
  // Non-destroyed disks that name an instance whose list lacks them, by instance.
  std::map<Uuid, size_t> unlisted_naming;

  void Violation(std::string kind, std::vector<std::string> ids, std::string message) {
    report->violations.push_back(Finding{std::move(kind), std::move(ids), std::move(message)});
  }
  void Note(std::string kind, std::vector<std::string> ids, std::string message) {
    report->notes.push_back(Finding{std::move(kind), std::move(ids), std::move(message)});
  }

  // Lookups in `view` (default: snap). A read error is a corruption finding and counts as unreadable.
  Found<Instance> GetInstance(const Uuid& id, const Snapshot* view = nullptr);
  Found<Disk> GetDisk(const Uuid& id, const Snapshot* view = nullptr);
  // The saga's state; missing or unreadable alike mean "no saga" to the invariants.
  std::optional<SagaState> SagaStateOf(const std::optional<Uuid>& id);
  // Last: every violation about a record an abandoned saga acted on becomes a note of that saga's leftovers.
  void AttributeLeftovers();
};

// "3f2a..." for a 16-byte key, its hex otherwise.
std::string Printable(std::string_view key);

// Invariants 4 and 5, the saga index against the records, and the footprints of the sagas in flight.
void CheckSagas(CheckState& s);
// Invariant 1 (the disk side), 2 and 3 for disks. Before CheckInstances.
void CheckDisks(CheckState& s);
// Invariant 1 (the instance side), 2 and 3 for instances.
void CheckInstances(CheckState& s);
// Invariant 6, a volume shard at a time, each against a view taken after its listing.
void CheckVolumes(CheckState& s);

}  // namespace sagadb::check_internal
