// SagaLog: the one module that reads and writes the saga log: each saga's record (its DAG, params and cached
// state, in the `sagas` table), its node events (in `saga_events`, under the saga's id and a sequence number)
// and the index of sagas in flight and finished (`saga_index`, log/saga_index.h), which every record write
// updates in the same batch. Nothing outside log/ touches those three tables.
//
//   SagaLog log(&store);
//   Result<SagaRecord> r = log.ReadRecord(id);
//   Result<std::vector<LoggedEvent>> events = log.ReadEvents(id);
//   Result<std::optional<LoggedEvent>> last = log.ReadLastEvent(id);
// Walks over many sagas: the index (log/saga_index.h) for those in flight, log/saga_query.h for pages of the
// history, `check` for all of it.
//
// Writers: a running saga's events and record go through its CommitQueue (log/commit_queue.h), which numbers
// the events and stages them here (StageRecord, StageEvent); recovery's stuck mark and an operator's abandon are
// the one-shot writes below. Each is one synced batch. Retention (log/prune.h) removes finished sagas whole.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/batch.h"
#include "engine/store.h"
#include "log/replay.h"
#include "sagadb/status.h"
#include "schema/records.h"

namespace sagadb {

// saga_events key: saga id (16 bytes) + sequence (8 bytes, big-endian), so a saga's events sort in order.
std::string SagaEventKey(const Uuid& saga, uint64_t seq);
inline constexpr size_t kSagaEventKeySize = 24;

class SagaLog {
 public:
  explicit SagaLog(Store* store) : store_(store) {}

  // NotFound ("no saga <id>"), or Corruption naming the key if its bytes fail verification.
  Result<SagaRecord> ReadRecord(const Uuid& id, const Snapshot* snapshot = nullptr) const;
  // The saga's events in sequence order. Corruption (naming the key) if an event's bytes fail verification.
  // With a snapshot, as of that snapshot (so they agree with a record read from it).
  Result<std::vector<LoggedEvent>> ReadEvents(const Uuid& id, const Snapshot* snapshot = nullptr) const;
  // The record's header alone (schema/codec.h DecodeHeader): what a lookup of a saga's state needs. Errors as
  // ReadRecord.
  Result<SagaHeader> ReadHeader(const Uuid& id, const Snapshot* snapshot = nullptr) const;
  // The last event of the saga (a reverse seek: it reads one event), nullopt if it has none. Corruption as
  // ReadEvents.
  Result<std::optional<LoggedEvent>> ReadLastEvent(const Uuid& id, const Snapshot* snapshot = nullptr) const;

  // Staging into a batch that the caller writes (the commit queue). StageRecord stages the record's index
  // entries with it (log/saga_index.h), so a record and the index never disagree; a finished record is written
  // once.
  void StageRecord(Batch* batch, const SagaRecord& record) const;
  void StageEvent(Batch* batch, const Uuid& saga, uint64_t seq, const SagaEvent& event) const;

  // Recovery: the saga cannot be resumed (its log is impossible or its record damaged). It becomes `stuck` with
  // the reason, in one synced write; its log stays as it is, for an operator.
  Status MarkStuck(SagaRecord record, std::string_view reason) const;
  // An operator gives up on a stuck, running or unwinding saga: it becomes `abandoned`, with the reason, in one
  // synced write. NotFound for no such saga; InvalidRequest naming its state for any other.
  Result<SagaRecord> Abandon(const Uuid& id, std::string_view reason) const;

  Store* store() const { return store_; }

 private:
  // A saga record's bytes; NotFound names the saga.
  Result<std::string> ReadRecordBytes(const Uuid& id, const Snapshot* snapshot) const;

  Store* store_;
};

}  // namespace sagadb
