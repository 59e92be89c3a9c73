#include "log/saga_census.h"

#include <fmt/format.h>

#include "log/saga_index.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

void Count(SagaCensus* c, const Uuid& id, SagaState state, const std::string& kind, int64_t created_ns) {
  const std::string name = StateName(state);
  c->sagas++;
  if (IsFinished(state)) c->finished++;
  c->by_state[name]++;
  auto k = c->by_kind.find(kind);
  if (k == c->by_kind.end()) {
    k = c->by_kind.size() < SagaCensus::kMaxKinds ? c->by_kind.try_emplace(kind).first
                                                   : c->by_kind.try_emplace("(other)").first;
  }
  k->second[name]++;
  if ((state == SagaState::kRunning || state == SagaState::kUnwinding) &&
      (!c->oldest_in_flight || created_ns < c->oldest_in_flight->created_ns)) {
    c->oldest_in_flight = SagaCensus::Saga{id, kind, state, created_ns};
  }
}

Status FromIndex(const Store& store, SagaCensus* c) {
  // Both parts from one view, so that a saga finishing meanwhile is counted once.
  const std::shared_ptr<const Snapshot> view = store.NewSnapshot();
  for (IndexCursor::Part part : {IndexCursor::kActive, IndexCursor::kFinished}) {
    IndexCursor cursor(store, part, view.get());
    for (cursor.SeekToFirst(); cursor.Valid(); cursor.Next()) {
      const SagaIndexEntry& e = cursor.entry();
      Count(c, cursor.id(), e.state, e.kind, e.created_ns);
    }
    SAGADB_RETURN_IF_ERROR(cursor.status());
    if (cursor.malformed() > 0) c->unreadable.push_back(cursor.first_malformed());
  }
  return Status::OK();
}

Status FromRecords(const Store& store, SagaCensus* c) {
  c->from_index = false;
  auto it = store.NewCursor(kSagasTable);
  SagaHeader h;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string why;
    const auto id = Uuid::FromBytes(it->key());
    if (id && DecodeHeader(it->value(), &h, &why) && h.id == *id) {
      Count(c, h.id, h.state, h.kind, h.created_ns);
      continue;
    }
    if (id && why.empty()) why = fmt::format("the record says it is saga {}", h.id.ToString());
    c->unreadable.push_back(fmt::format("sagas/{}: {}", id ? id->ToString() : "(a key that is not an id)",
                                        id ? why : "the key is not a 16-byte id"));
  }
  return it->status();
}

}  // namespace

Status TakeSagaCensus(const Store& store, SagaCensus* census) {
  if (store.HasTable(kSagaIndexTable) && store.schema_version() >= 2) return FromIndex(store, census);
  return FromRecords(store, census);
}

}  // namespace sagadb
