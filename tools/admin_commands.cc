#include "tools/admin_commands.h"

#include <fmt/format.h>

#include <iostream>

#include "log/saga_log.h"
#include "tools/records_json.h"

namespace sagadb::tool {
namespace {

// The saga, if it may be abandoned: refused requests are refused before the database is taken.
Status AbandonableSaga(Store& store, const Uuid& id) {
  SAGADB_ASSIGN_OR_RETURN(SagaRecord r, SagaLog(&store).ReadRecord(id));
  if (r.state != SagaState::kStuck && r.state != SagaState::kRunning && r.state != SagaState::kUnwinding) {
    return Status::InvalidRequest(
        fmt::format("saga {} is {}; only a stuck or running saga can be abandoned", id.ToString(), ToString(r.state)));
  }
  return Status::OK();
}

}  // namespace

int SagaAbandon(const GlobalOptions& g, const std::string& id_text, const std::string& reason) {
  auto id = ParseSagaId(id_text);
  if (!id.ok()) return UsageError(id.status().message());
  if (reason.empty()) return UsageError("--reason must say why the saga is abandoned");
  // Refused requests are refused on a secondary, before the database is taken (opening it for writing writes).
  if (auto preflight = PrepareToOwn(g, false); !preflight.ok()) {
    return Fail(preflight.status());
  } else if (auto r = AbandonableSaga(**preflight, *id); !r.ok()) {
    return Fail(r);
  }
  StoreConfig config;
  config.path = g.db;
  config.create_if_missing = false;
  auto store = Store::Open(config);
  if (!store.ok()) return Fail(store.status());
  auto abandoned = SagaLog(store->get()).Abandon(*id, reason);
  if (!abandoned.ok()) return Fail(abandoned.status());
  const SagaRecord& r = *abandoned;
  if (g.json) {
    PrintJson(SagaJson(r, nullptr));
  } else {
    std::cout << "saga " << r.id.ToString() << " abandoned\n";
  }
  return kExitOk;
}

}  // namespace sagadb::tool
