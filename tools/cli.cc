#include "tools/cli.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "engine/db_lock.h"
#include "recovery/recovery.h"

namespace sagadb::tool {
namespace {

namespace fs = std::filesystem;

Result<std::unique_ptr<Store>> OpenSecondary(const GlobalOptions& g) {
  std::error_code ec;
  if (!fs::exists(fs::path(g.db) / "CURRENT", ec)) {
    if (fs::exists(g.db, ec)) return Status::InvalidRequest(fmt::format("{} is not a sagadb database", g.db));
    return Status::NotFound(fmt::format("no sagadb database at {} (use --db DIR)", g.db));
  }
  StoreConfig config;
  config.path = g.db;
  config.mode = OpenMode::kSecondary;
  SAGADB_ASSIGN_OR_RETURN(auto store, Store::Open(config));
  SAGADB_RETURN_IF_ERROR(store->CatchUp());
  return store;
}

}  // namespace

int Fail(const Status& status) {
  std::fprintf(stderr, "sagadb: %s\n", status.message().c_str());
  return kExitFailed;
}

int UsageError(std::string_view message) {
  std::fprintf(stderr, "sagadb: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitUsage;
}

Result<std::unique_ptr<Store>> OpenForInspection(const GlobalOptions& g) {
  // A process creating the database holds its lock from before CURRENT exists until its column families and
  // metadata are written, a few milliseconds; in between the directory does not look like a sagadb database.
  constexpr int kWaits = 200;
  for (int wait = 0;; ++wait) {
    auto store = OpenSecondary(g);
    if (store.ok() || store.status().code() != Code::kInvalidRequest || wait == kWaits || LockHolder(g.db) == 0) {
      return store;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status RefuseIfInUse(const std::string& db) {
  const pid_t holder = LockHolder(db);
  if (holder == 0) return Status::OK();
  return Status::Conflict(fmt::format(
      "database {} is in use by another process (pid {} holds its lock); nothing was changed: try again when it "
      "exits, or use an inspection command",
      db, holder));
}

Result<std::unique_ptr<Store>> PrepareToOwn(const GlobalOptions& g, bool create, bool recovers) {
  SAGADB_RETURN_IF_ERROR(RefuseIfInUse(g.db));
  std::error_code ec;
  if (create && !fs::exists(fs::path(g.db) / "CURRENT", ec)) {
    return std::unique_ptr<Store>();  // Store::Open creates it, or refuses a directory that is not one
  }
  SAGADB_ASSIGN_OR_RETURN(auto store, OpenForInspection(g));
  if (recovers) {
    ActionRegistry known;
    SAGADB_RETURN_IF_ERROR(ControlPlaneDomain(g.db).RegisterActions(known));
    SAGADB_ASSIGN_OR_RETURN(auto unknown, FindUnknownActions(*store, known));
    SAGADB_RETURN_IF_ERROR(RefuseUnknownActions(g.db, unknown));
  }
  return store;
}

Status RefuseUnknownActions(const std::string& db, const std::vector<UnknownActionSaga>& sagas) {
  if (sagas.empty()) return Status::OK();
  return Status::Conflict(fmt::format(
      "database {} holds {} saga{} in flight that this program cannot run (actions it does not know): {}; nothing "
      "was changed: the program that registers those actions resumes {} when it opens the database (or an "
      "operator gives up on {} with `saga abandon`)",
      db, sagas.size(), sagas.size() == 1 ? "" : "s", DescribeUnknownActions(sagas), sagas.size() == 1 ? "it" : "them",
      sagas.size() == 1 ? "it" : "them"));
}

Result<std::unique_ptr<ControlPlane>> OpenToChange(const DatabaseOptions& options) {
  SAGADB_ASSIGN_OR_RETURN(auto cp, ControlPlane::Open(options));
  SAGADB_RETURN_IF_ERROR(RefuseUnknownActions(options.path, cp->database().recovery().left_unknown));
  return cp;
}

void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

Logger* StderrLogger() {
  class Stderr : public Logger {
   public:
    void Log(LogLevel level, std::string_view message) override {
      std::fprintf(stderr, "sagadb: %.*s\n", static_cast<int>(message.size()), message.data());
    }
  };
  static Stderr logger;
  return &logger;
}

Result<std::unique_ptr<Datastore>> RecordsOf(Store& store) {
  auto ds = Datastore::Open(&store);
  if (!ds.ok() && ds.status().IsNotFound()) {
    return Status::NotFound(fmt::format("database {} holds no instances or disks (it was not made by the control "
                                        "plane): {}",
                                        store.path(), ds.status().message()));
  }
  return ds;
}

Result<Uuid> ResolveRecord(Store& store, const GlobalOptions& g, RecordKind kind, std::string_view id_or_name) {
  if (auto id = Uuid::Parse(id_or_name)) return *id;
  SAGADB_ASSIGN_OR_RETURN(auto ds, RecordsOf(store));
  return kind == RecordKind::kInstance ? ds->LookupInstance(g.project, id_or_name)
                                       : ds->LookupDisk(g.project, id_or_name);
}

Result<Uuid> ResolveExistingRecord(Store& store, const GlobalOptions& g, RecordKind kind,
                                   std::string_view id_or_name) {
  SAGADB_ASSIGN_OR_RETURN(Uuid id, ResolveRecord(store, g, kind, id_or_name));
  SAGADB_ASSIGN_OR_RETURN(auto ds, RecordsOf(store));
  SAGADB_RETURN_IF_ERROR(kind == RecordKind::kInstance ? ds->GetInstance(id).status() : ds->GetDisk(id).status());
  return id;
}

Result<std::shared_ptr<FaultPlan>> DrillPlan(const std::vector<std::string>& drills) {
  if (drills.empty()) return std::shared_ptr<FaultPlan>();
  auto plan = std::make_shared<FaultPlan>();
  for (const std::string& d : drills) {
    const size_t colon = d.find(':');
    const std::string what = d.substr(0, colon);
    const std::string node = colon == std::string::npos ? "" : d.substr(colon + 1);
    if (node.empty() || (what != "fail" && what != "undo-busy")) {
      return Status::InvalidRequest(
          fmt::format("--drill \"{}\" is not fail:NODE or undo-busy:NODE (NODE as `saga show` names it)", d));
    }
    if (what == "fail") {
      plan->FailAction(node, Status::InvalidRequest(fmt::format("drill: step {} fails", node)));
    } else {
      plan->FailUndo(node, Status::Transient(fmt::format("drill: the host of {} is busy", node)), FaultPlan::kAlways);
    }
  }
  return plan;
}

Result<Uuid> ParseSagaId(std::string_view text) {
  auto id = Uuid::Parse(text);
  if (!id) return Status::InvalidRequest(fmt::format("\"{}\" is not a saga id (a UUID)", text));
  return *id;
}

}  // namespace sagadb::tool
