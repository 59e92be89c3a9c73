#include "tools/cli.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "engine/datastore.h"

namespace sagadb::tool {

int Fail(const Status& status) {
  std::fprintf(stderr, "sagadb: %s\n", status.message().c_str());
  return kExitFailed;
}

int UsageError(std::string_view message) {
  std::fprintf(stderr, "sagadb: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitUsage;
}

Result<std::unique_ptr<Store>> OpenForInspection(const GlobalOptions& g) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(g.db) / "CURRENT", ec)) {
    if (std::filesystem::exists(g.db, ec)) {
      return Status::InvalidRequest(fmt::format("{} is not a sagadb database", g.db));
    }
    return Status::NotFound(fmt::format("no sagadb database at {} (use --db DIR)", g.db));
  }
  StoreOptions so;
  so.path = g.db;
  so.mode = OpenMode::kSecondary;
  SAGADB_ASSIGN_OR_RETURN(auto store, Store::Open(so));
  SAGADB_RETURN_IF_ERROR(store->CatchUp());
  return store;
}

void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

Result<Uuid> ResolveRecord(const Store& store, const GlobalOptions& g, RecordKind kind, std::string_view id_or_name) {
  if (auto id = Uuid::Parse(id_or_name)) return *id;
  Datastore ds(const_cast<Store*>(&store));
  return kind == RecordKind::kInstance ? ds.LookupInstance(g.project, id_or_name) : ds.LookupDisk(g.project, id_or_name);
}

Result<Uuid> ParseSagaId(std::string_view text) {
  auto id = Uuid::Parse(text);
  if (!id) return Status::InvalidRequest(fmt::format("\"{}\" is not a saga id (a UUID)", text));
  return *id;
}

}  // namespace sagadb::tool
