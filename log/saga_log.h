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
// the events and stages them here (StageRecord, StageEvent); recovery's stuck mark and the operator actions on
// a saga that is not executing (cancel, resume, abandon: log/operator_log.cc) are the one-shot writes below.
// Each is one synced batch. Retention (log/prune.h) removes finished sagas whole.
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

// Operator actions (log/operator_log.cc). A request names who asks (not empty) and why, within these sizes.
inline constexpr size_t kMaxOperatorActor = 256;
inline constexpr size_t kMaxOperatorReason = 4096;
Status CheckOperatorRequest(const OperatorRequest& request);
// The event an operator action writes to the saga's log.
SagaEvent OperatorEvent(OperatorOp op, const OperatorRequest& request, AbandonKind kind = AbandonKind::kOperator);
// A running saga's record as a cancel leaves it: unwinding, with the cancel as its error.
void MarkCancelled(SagaRecord* record, const OperatorRequest& request);

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
  // Operator actions on a saga that nothing is executing (the caller makes sure: the executor, or the tool that
  // holds the database without running sagas). Each writes the operator event and the record in one synced
  // batch, or nothing. NotFound for no such saga; InvalidRequest (naming the state) for one it does not apply to.
  //
  // Cancel: a running saga becomes unwinding (the next open, or Resume below, unwinds it); one that is unwinding,
  // paused or stuck already is returned as it is, with nothing written (cancelling twice is harmless).
  Result<SagaRecord> Cancel(const Uuid& id, const OperatorRequest& request) const;
  // Resume: a paused or stuck saga whose undo failed becomes unwinding again, its failed undos to be retried;
  // returns the record and its replayed history, ready for SagaExecutor::Resume. Refused (nothing written) if
  // its log cannot be replayed or no undo failed (a saga recovery marked stuck for a damaged log).
  struct Resumed {
    SagaRecord record;
    SagaHistory history;
  };
  Result<Resumed> Resume(const Uuid& id, const OperatorRequest& request) const;
  // Abandon: an operator gives up on a saga that has not finished; it becomes `abandoned`.
  Result<SagaRecord> Abandon(const Uuid& id, AbandonKind kind, const OperatorRequest& request) const;

  Store* store() const { return store_; }

 private:
  // Writes `event` after the saga's last event, with `record`, in one synced batch.
  Status AppendOperatorEvent(const SagaRecord& record, const SagaEvent& event, uint64_t seq) const;
  Result<uint64_t> NextSeq(const Uuid& id) const;
  // A saga record's bytes; NotFound names the saga.
  Result<std::string> ReadRecordBytes(const Uuid& id, const Snapshot* snapshot) const;

  Store* store_;
};

}  // namespace sagadb
