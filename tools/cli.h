// Shared pieces of the sagadb command-line program: options every command sees, how the database is opened for
// inspection, and how results and errors are printed.
//
// Exit codes: 0 success; 1 the operation failed (or check found violations); 2 bad usage (unknown command or
// flag, a malformed name, size or id). Every error is one line on stderr, "sagadb: <what went wrong>".
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/datastore.h"
#include "engine/store.h"
#include "sagadb/control_plane.h"
#include "sagadb/database.h"
#include "sagadb/logger.h"
#include "sagadb/status.h"
#include "sagas/fault_plan.h"

namespace sagadb::tool {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string db = "./sagadb-data";
  std::string project = "default";
  bool json = false;
  bool jsonl = false;  // listings: one JSON object per line
  std::vector<std::string> drills;  // --drill: failures to rehearse in the sagas a command runs (DrillPlan)
};

// The faults --drill asks for, for the sagas a mutating command runs: "fail:NODE" makes the step fail for good
// (InvalidRequest), "undo-busy:NODE" makes its undo fail with a transient error every time while this process
// runs. NODE is a qualified node name ("disk_0.volume"). Null when there are none; InvalidRequest for a spec
// that is neither.
Result<std::shared_ptr<FaultPlan>> DrillPlan(const std::vector<std::string>& drills);

// Prints "sagadb: <message>" on stderr and returns the exit code for it: kExitUsage for InvalidRequest raised
// by argument checks (see UsageError), kExitFailed otherwise.
int Fail(const Status& status);
int UsageError(std::string_view message);

// Opens the database as a RocksDB secondary, caught up with its owner, so it works while another process runs.
// A database that another process is creating this very moment (its column families or metadata not yet
// written) is waited for briefly rather than called "not a sagadb database".
Result<std::unique_ptr<Store>> OpenForInspection(const GlobalOptions& g);

// Conflict when another process holds the database's lock. Asked before a mutating command opens the database
// for writing: RocksDB refuses a second owner only after it has rotated the owner's info log (LOG), so a refused
// command would otherwise still change the database directory.
Status RefuseIfInUse(const std::string& db);

// What a mutating command does before it takes the database, so that a refused request writes nothing (opening
// for writing bumps the open generation and runs recovery): refuses a directory that is not a sagadb database
// and a database another process holds, and returns a secondary on which the command looks up what the request
// names. With `create` a missing database is fine (it will be created) and the result is null. With
// `recovers` (the command opens the database with recovery), also refuses a database that holds sagas in flight
// whose actions this program does not know (RefuseUnknownActions).
Result<std::unique_ptr<Store>> PrepareToOwn(const GlobalOptions& g, bool create, bool recovers = true);

// Conflict naming the sagas and their actions, if there are any: sagas in flight that belong to another
// program sharing the database (this one knows the control plane's actions only). Recovery at this program's
// open would leave them alone, but their own program is the one to finish them, and a database with work in
// flight that nothing here can finish is not one to change underneath it.
Status RefuseUnknownActions(const std::string& db, const std::vector<UnknownActionSaga>& sagas);

// Opens the database with the control plane for a mutating command (recovery runs), after PrepareToOwn.
// Refused (and closed again) if recovery left sagas for actions this program does not know: another program
// put them there after the preflight looked.
Result<std::unique_ptr<ControlPlane>> OpenToChange(const DatabaseOptions& options);

void PrintJson(const nlohmann::json& j);

// A Logger that prints what the library says as "sagadb: <message>" lines on stderr. Stateless; lives as long
// as the program.
Logger* StderrLogger();

// Resolves "ID" (a UUID) or "NAME" (looked up in the project) to an id. NotFound names what was looked for.
enum class RecordKind { kInstance, kDisk };
Result<Uuid> ResolveRecord(Store& store, const GlobalOptions& g, RecordKind kind, std::string_view id_or_name);
// ResolveRecord, and the record must exist (NotFound otherwise, also for an id that names nothing).
Result<Uuid> ResolveExistingRecord(Store& store, const GlobalOptions& g, RecordKind kind,
                                   std::string_view id_or_name);
// A saga id must be a UUID.
Result<Uuid> ParseSagaId(std::string_view text);

// The control plane's records in a store, for reading. NotFound if the database has not got them.
Result<std::unique_ptr<Datastore>> RecordsOf(Store& store);

// Declares `var`, the records of `store`, or returns from the command with the error.
#define SAGADB_TOOL_RECORDS(var, store)  \
  auto var##_r = RecordsOf(store);       \
  if (!var##_r.ok()) return Fail(var##_r.status()); \
  std::unique_ptr<Datastore> var = std::move(*var##_r)

}  // namespace sagadb::tool
