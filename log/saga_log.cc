#include "log/saga_log.h"

#include <fmt/format.h>

#include "base/clock.h"
#include "engine/keys.h"
#include "log/saga_index.h"
#include "schema/codec.h"

namespace sagadb {

std::string SagaEventKey(const Uuid& saga, uint64_t seq) {
  std::string key(saga.AsBytes());
  key += BigEndian64(seq);
  return key;
}

Result<std::string> SagaLog::ReadRecordBytes(const Uuid& id, const Snapshot* snapshot) const {
  auto bytes = store_->Get(kSagasTable, id.AsBytes(), snapshot);
  if (!bytes.ok() && bytes.status().IsNotFound()) return Status::NotFound(fmt::format("no saga {}", id.ToString()));
  return bytes;
}

Result<SagaRecord> SagaLog::ReadRecord(const Uuid& id, const Snapshot* snapshot) const {
  SAGADB_ASSIGN_OR_RETURN(std::string bytes, ReadRecordBytes(id, snapshot));
  SagaRecord r;
  std::string why;
  if (!Decode(bytes, &r, &why)) return Status::Corruption(fmt::format("sagas/{}: {}", id.ToString(), why));
  return r;
}

Result<SagaHeader> SagaLog::ReadHeader(const Uuid& id, const Snapshot* snapshot) const {
  SAGADB_ASSIGN_OR_RETURN(std::string bytes, ReadRecordBytes(id, snapshot));
  SagaHeader h;
  std::string why;
  if (!DecodeHeader(bytes, &h, &why)) return Status::Corruption(fmt::format("sagas/{}: {}", id.ToString(), why));
  if (h.id != id) {
    return Status::Corruption(fmt::format("sagas/{}: the record says it is saga {}", id.ToString(), h.id.ToString()));
  }
  return h;
}

namespace {

// The event under a cursor over `saga`'s events, its key and value checked.
Result<LoggedEvent> DecodeEventAt(const Uuid& saga, const Cursor& it) {
  if (it.key().size() != kSagaEventKeySize) {
    return Status::Corruption(fmt::format("saga_events: key of saga {} has {} bytes", saga.ToString(), it.key().size()));
  }
  LoggedEvent e;
  e.seq = DecodeBigEndian64(it.key().substr(16));
  std::string why;
  if (!Decode(it.value(), &e.event, &why)) {
    return Status::Corruption(fmt::format("saga_events/{}#{}: {}", saga.ToString(), e.seq, why));
  }
  return e;
}

}  // namespace

Result<std::vector<LoggedEvent>> SagaLog::ReadEvents(const Uuid& saga, const Snapshot* snapshot) const {
  std::vector<LoggedEvent> out;
  auto it = store_->NewCursor(kSagaEventsTable, snapshot);
  const std::string_view prefix = saga.AsBytes();
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    SAGADB_ASSIGN_OR_RETURN(LoggedEvent e, DecodeEventAt(saga, *it));
    out.push_back(std::move(e));
  }
  SAGADB_RETURN_IF_ERROR(it->status());
  return out;
}

Result<std::optional<LoggedEvent>> SagaLog::ReadLastEvent(const Uuid& saga, const Snapshot* snapshot) const {
  auto it = store_->NewCursor(kSagaEventsTable, snapshot);
  const std::string_view prefix = saga.AsBytes();
  it->SeekForPrev(SagaEventKey(saga, ~uint64_t{0}));
  if (!it->Valid() || !it->key().starts_with(prefix)) {
    SAGADB_RETURN_IF_ERROR(it->status());
    return std::optional<LoggedEvent>();
  }
  SAGADB_ASSIGN_OR_RETURN(LoggedEvent e, DecodeEventAt(saga, *it));
  return std::optional<LoggedEvent>(std::move(e));
}

void SagaLog::StageRecord(Batch* batch, const SagaRecord& record) const {
  batch->Put(kSagasTable, record.id.AsBytes(), Encode(record));
  StageIndex(batch, record);
}

void SagaLog::StageEvent(Batch* batch, const Uuid& saga, uint64_t seq, const SagaEvent& event) const {
  batch->Put(kSagaEventsTable, SagaEventKey(saga, seq), Encode(event));
}

Status SagaLog::MarkStuck(SagaRecord record, std::string_view reason) const {
  record.state = SagaState::kStuck;
  record.error_code = static_cast<uint8_t>(Code::kCorruption);
  record.error = fmt::format("recovery: {}", reason);
  record.modified_ns = record.finished_ns = NowNs();
  record.generation++;
  Batch batch;
  StageRecord(&batch, record);
  return store_->Write(batch);
}

}  // namespace sagadb
