#include "tools/admin_commands.h"

#include <iostream>

#include "engine/clock.h"
#include "schema/codec.h"
#include "tools/records_json.h"

namespace sagadb::tool {

namespace {

// The saga, if it may be abandoned: NotFound, or InvalidRequest naming its state.
Result<SagaRecord> AbandonableSaga(const Store& store, const Uuid& id) {
  auto bytes = store.Get(Cf::kSagas, id.AsBytes());
  if (!bytes.ok()) {
    return bytes.status().IsNotFound() ? Status::NotFound(fmt::format("no saga {}", id.ToString())) : bytes.status();
  }
  SagaRecord r;
  std::string why;
  if (!Decode(*bytes, &r, &why)) return Status::Corruption(fmt::format("sagas/{}: {}", id.ToString(), why));
  if (r.state != SagaState::kStuck && r.state != SagaState::kRunning && r.state != SagaState::kUnwinding) {
    return Status::InvalidRequest(
        fmt::format("saga {} is {}; only a stuck or running saga can be abandoned", id.ToString(), ToString(r.state)));
  }
  return r;
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
    return Fail(r.status());
  }
  StoreOptions so;
  so.path = g.db;
  so.create_if_missing = false;
  auto store = Store::Open(so);
  if (!store.ok()) return Fail(store.status());
  auto saga = AbandonableSaga(**store, *id);
  if (!saga.ok()) return Fail(saga.status());
  SagaRecord& r = *saga;
  const std::string previous = r.error.empty() ? std::string(ToString(r.state)) : r.error;
  r.state = SagaState::kAbandoned;
  r.error = fmt::format("abandoned by an operator: {} (was: {})", reason, previous);
  r.modified_ns = r.finished_ns = NowNs();
  r.generation++;
  rocksdb::WriteBatch batch;
  batch.Put((*store)->handle(Cf::kSagas), r.id.AsBytes(), Encode(r));
  Status st = (*store)->Write(&batch);
  if (!st.ok()) return Fail(st);
  if (g.json) {
    PrintJson(SagaJson(r, nullptr));
  } else {
    std::cout << "saga " << r.id.ToString() << " abandoned\n";
  }
  return kExitOk;
}

}  // namespace sagadb::tool
