#include "log/saga_log_walk.h"

#include <fmt/format.h>

#include "engine/keys.h"
#include "log/saga_index.h"
#include "log/saga_log.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

std::string Printable(std::string_view key) {
  if (auto id = Uuid::FromBytes(key)) return id->ToString();
  std::string hex;
  for (unsigned char c : key) hex += fmt::format("{:02x}", c);
  return hex;
}

std::optional<Uuid> EventSaga(std::string_view key) {
  return key.size() == kSagaEventKeySize ? Uuid::FromBytes(key.substr(0, 16)) : std::nullopt;
}

class Walk {
 public:
  Walk(Store& store, const Snapshot* snap, bool with_index, SagaLogVisitor* v)
      : store_(store),
        snap_(snap),
        with_index_(with_index),
        v_(v),
        events_(store.NewCursor(kSagaEventsTable, snap)),
        active_(store, IndexCursor::kActive, snap) {
    events_->SeekToFirst();
    if (with_index_) active_.SeekToFirst();
  }

  void Run() {
    auto records = store_.NewCursor(kSagasTable, snap_);
    for (records->SeekToFirst(); records->Valid(); records->Next()) {
      const std::string_view key = records->key();
      auto id = Uuid::FromBytes(key);
      if (!id) {
        v_->UnreadableRecord(std::nullopt, fmt::format("sagas/{}: the key is not a 16-byte id", Printable(key)));
        continue;
      }
      Orphans(*id);
      WalkedSaga s;
      std::string why;
      if (!Decode(records->value(), &s.record, &why) || s.record.id != *id) {
        if (why.empty()) why = fmt::format("the record says it is saga {}", s.record.id.ToString());
        v_->UnreadableRecord(*id, fmt::format("sagas/{}: {}", id->ToString(), why));
        SkipEvents(*id);
        if (with_index_ && active_.Valid() && active_.id() == *id) active_.Next();
        continue;
      }
      ReadEvents(&s);
      if (with_index_) ReadIndex(&s);
      v_->Saga(s);
    }
    if (!records->status().ok()) v_->ReadError(records->status());
    Orphans(std::nullopt);
    if (!events_->status().ok()) v_->ReadError(events_->status());
    if (with_index_) {
      if (!active_.status().ok()) v_->ReadError(active_.status());
      if (active_.malformed() > 0) v_->MalformedKey("saga_index", "", active_.first_malformed());
      FinishedEntries();
    }
  }

 private:
  // Events and in-flight entries of sagas before `id` (all that are left, for nullopt) have no record.
  void Orphans(const std::optional<Uuid>& id) {
    while (events_->Valid()) {
      const std::string_view key = events_->key();
      auto saga = EventSaga(key);
      if (!saga) {
        v_->MalformedKey("saga_events", key, "saga_events: malformed key");
        events_->Next();
        continue;
      }
      if (id && *saga >= *id) break;
      v_->EventsWithoutRecord(*saga);
      SkipEvents(*saga);
    }
    while (with_index_ && active_.Valid() && (!id || active_.id() < *id)) {
      v_->InFlightEntryWithoutRecord(active_.id(), active_.entry());
      active_.Next();
    }
  }

  void SkipEvents(const Uuid& saga) {
    const std::string last = SagaEventKey(saga, ~uint64_t{0});
    events_->Seek(last);
    if (events_->Valid() && events_->key() == last) events_->Next();
  }

  void ReadEvents(WalkedSaga* s) {
    const std::string sid = s->record.id.ToString();
    const std::string_view prefix = s->record.id.AsBytes();
    for (; events_->Valid() && events_->key().starts_with(prefix); events_->Next()) {
      if (!s->events_error.empty()) continue;
      if (events_->key().size() != kSagaEventKeySize) {
        s->events_error = fmt::format("saga_events: key of saga {} has {} bytes", sid, events_->key().size());
        continue;
      }
      LoggedEvent e;
      e.seq = DecodeBigEndian64(events_->key().substr(16));
      std::string why;
      if (!Decode(events_->value(), &e.event, &why)) {
        s->events_error = fmt::format("saga_events/{}#{}: {}", sid, e.seq, why);
        continue;
      }
      s->events.push_back(std::move(e));
    }
  }

  void ReadIndex(WalkedSaga* s) {
    if (active_.Valid() && active_.id() == s->record.id) {
      s->in_flight_entry = active_.entry();
      active_.Next();
    }
    if (!IsFinished(s->record.state)) return;
    auto bytes = store_.Get(kSagaIndexTable, FinishedIndexKey(FinishTime(s->record), s->record.id), snap_);
    if (!bytes.ok()) {
      if (!bytes.status().IsNotFound()) v_->ReadError(bytes.status());
      return;
    }
    SagaIndexEntry e;
    std::string why;
    if (!Decode(*bytes, &e, &why)) {
      s->finished_entry_error = fmt::format("saga_index entry of finished saga {}: {}", s->record.id.ToString(), why);
      return;
    }
    s->finished_entry = e;
    finished_found_++;
  }

  // Counted first: when the count matches the entries the records found, none is stale; only otherwise is each
  // one looked up.
  void FinishedEntries() {
    uint64_t entries = 0;
    {
      IndexCursor c(store_, IndexCursor::kFinished, snap_);
      for (c.SeekToFirst(); c.Valid(); c.Next()) entries++;
      if (!c.status().ok()) v_->ReadError(c.status());
      if (c.malformed() > 0) v_->MalformedKey("saga_index", "", c.first_malformed());
    }
    if (entries == finished_found_) return;
    IndexCursor c(store_, IndexCursor::kFinished, snap_);
    for (c.SeekToFirst(); c.Valid(); c.Next()) {
      auto bytes = store_.Get(kSagasTable, c.id().AsBytes(), snap_);
      SagaHeader h;
      std::string why;
      if (!bytes.ok()) {
        if (bytes.status().IsNotFound()) {
          v_->StaleFinishedEntry(c.id(), c.finished_ns(), nullptr);
        } else {
          v_->ReadError(bytes.status());
        }
      } else if (!DecodeHeader(*bytes, &h, &why) || h.id != c.id()) {
        // Unreadable: already handed over.
      } else if (!IsFinished(h.state) || FinishTime(h) != c.finished_ns()) {
        v_->StaleFinishedEntry(c.id(), c.finished_ns(), &h);
      }
    }
  }

  Store& store_;
  const Snapshot* snap_;
  const bool with_index_;
  SagaLogVisitor* v_;
  std::unique_ptr<Cursor> events_;
  IndexCursor active_;
  uint64_t finished_found_ = 0;
};

}  // namespace

void WalkSagaLog(Store& store, const Snapshot* snapshot, bool with_index, SagaLogVisitor* visitor) {
  Walk(store, snapshot, with_index, visitor).Run();
}

}  // namespace sagadb
