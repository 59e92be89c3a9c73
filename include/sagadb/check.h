// Check: verifies the invariants of docs/DESIGN.md section 5 over a control-plane database and its volumes.
//
//   sagadb::CheckOptions options;
//   options.quiescent = true;   // no saga may be executing: after recovery, after a test
//   sagadb::CheckReport report = sagadb::Check(*control_plane, options);      // in the owning process
//   auto other = sagadb::CheckDatabase("/var/lib/appliance/sagadb");         // beside it, read-only
//   if (!report.ok()) std::fputs(sagadb::Describe(report).c_str(), stderr);
//
// What is verified, by the kind a violation carries:
//   attachment         1. every attached disk names an existing, non-destroyed instance that lists it at the
//                         disk's slot; each instance lists exactly the disks that name it, in unique slots 0-11,
//                         at most 12; a disk is in state `attached` exactly when it names an instance; a boot disk
//                         is one of the instance's attached disks.
//   leak               2. a saga that ended `failed` left nothing behind: the instances and disks it created
//                         (their saga_id) are destroyed, and no volume file of such a disk remains. (That every
//                         attach it made was undone is what its log says, verified under saga_log.)
//   creating_instance  3. an instance in `creating` has a creating saga (its saga_id) that is running or
//   creating_disk         unwinding; with a `stuck`/`abandoned` saga it is a note instead. The same rule for
//                         disks. With `quiescent`, no saga may be executing, so a `creating` record whose saga is
//                         running/unwinding is a violation too: nothing will finish it.
//   saga_log           4. every saga's events replay legally over its stored DAG, and the state the log implies
//                         is the state cached in the saga record.
//   unfinished_saga    5. only with `quiescent`: every saga in `running` or `unwinding`.
//   volume             6. every live disk past `creating` has its volume file, and every volume file belongs to
//                         a live disk. A `creating` disk may or may not have one (its saga is between steps).
//                         Without `quiescent`, a volume of a destroyed disk that a running saga acts on is not
//                         reported (disk-delete destroys the record first, then removes the file).
//   saga_index            the index of sagas (written with every saga record) agrees with the records: every saga
//                         that has not finished is listed as in flight, in its state; every finished one has
//                         its finished entry at its finish time; no entry names a saga that has no record or
//                         that says otherwise.
//   corruption            a record or event whose bytes fail verification, named by column family and key.
// Notes (not violations): stuck, paused and abandoned sagas, records held in `creating` by one, files in the
// volumes directory that are not volumes, a database whose index is not built yet (schema version 1: not
// checked). What an abandoned saga left behind, whatever the invariant it breaks, is a `leftover` note naming
// the record and the saga, not a violation: an operator gave up on that saga knowingly.
//
// Memory: check streams. Each table is walked in key order with point lookups of what a record names, the
// saga records merged with their events and the index; the volumes directory is listed 16 of its 256 shard
// subdirectories at a time. What it holds is one record, or one saga's log, or 1/16 of the volume names at a
// time, plus its findings, whatever the size of the database.
//
// Records, sagas and the index are read from one snapshot. Each group of volume shards is listed first and then
// compared with a view taken after the listing (a disk record is always created before its volume and destroyed after
// it, except by disk-delete, covered above), and a volume that seems missing, or left behind, is looked for
// again, so a check beside running sagas reports no state they are passing through. Check never writes, and
// never crashes on damaged bytes.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "sagadb/control_plane.h"
#include "sagadb/status.h"

namespace sagadb {

namespace check_kind {
inline constexpr char kAttachment[] = "attachment";
inline constexpr char kLeak[] = "leak";
inline constexpr char kCreatingInstance[] = "creating_instance";
inline constexpr char kCreatingDisk[] = "creating_disk";
inline constexpr char kSagaLog[] = "saga_log";
inline constexpr char kUnfinishedSaga[] = "unfinished_saga";
inline constexpr char kVolume[] = "volume";
inline constexpr char kSagaIndex[] = "saga_index";
inline constexpr char kCorruption[] = "corruption";
// Notes only.
inline constexpr char kStuckSaga[] = "stuck_saga";
// What an abandoned saga left behind (a record it was creating, a volume, an attachment), named with the saga.
inline constexpr char kLeftover[] = "leftover";
inline constexpr char kOtherFile[] = "other_file";
}  // namespace check_kind

struct CheckOptions {
  // No saga is executing (after recovery, or with the executor idle): a running/unwinding saga is a violation.
  bool quiescent = false;
};

struct Finding {
  std::string kind;              // one of check_kind
  std::vector<std::string> ids;  // the records, sagas or files involved (ids in their text form)
  std::string message;

  bool operator==(const Finding&) const = default;
};

struct CheckReport {
  std::vector<Finding> violations;
  std::vector<Finding> notes;
  size_t instances = 0;  // records read, destroyed ones included
  size_t disks = 0;
  size_t sagas = 0;    // saga records read (finished ones that retention removed are gone)
  size_t volumes = 0;

  bool ok() const { return violations.empty(); }
};

// The database of an open control plane. Thread safety: may run while sagas execute (then leave quiescent off).
CheckReport Check(ControlPlane& control_plane, const CheckOptions& options = {});
// A database another process may own, read as an inspection does (a RocksDB secondary), with the volumes in
// `volumes_dir` (empty: <path>/volumes). Fails only if the database cannot be opened (NotFound, InvalidRequest).
Result<CheckReport> CheckDatabase(const std::string& path, const std::string& volumes_dir = "",
                                  const CheckOptions& options = {});

// One line per finding ("violation attachment [disk-id instance-id]: ..."), for logs and test failures.
std::string Describe(const CheckReport& report);
nlohmann::json ToJson(const CheckReport& report);

}  // namespace sagadb
