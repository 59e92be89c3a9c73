#include "log/prune.h"

#include <fmt/format.h>

#include <optional>
#include <string>

#include "base/clock.h"
#include "engine/batch.h"
#include "log/saga_index.h"
#include "log/saga_log.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

// The finished entries the policy lets go form a prefix of the finished part of the index (it is ordered by
// finish time): those at or before `through` (the newest beyond the max_finished kept), and those before
// `before` (the age limit).
struct Bounds {
  std::optional<std::string> through;
  std::optional<std::string> before;

  bool Covers(std::string_view key) const {
    return (through && key <= *through) || (before && key < *before);
  }
  bool Empty() const { return !through && !before; }
};

Result<Bounds> FindBounds(const Store& store, const PruneOptions& o) {
  Bounds b;
  if (o.policy.max_finished) {
    IndexCursor newest(store, IndexCursor::kFinished);
    newest.SeekToLast();
    for (uint64_t kept = 0; newest.Valid() && kept < *o.policy.max_finished; ++kept) newest.Prev();
    SAGADB_RETURN_IF_ERROR(newest.status());
    if (newest.Valid()) b.through = std::string(newest.raw_key());
  }
  if (o.policy.max_age) {
    const int64_t now = o.now_ns != 0 ? o.now_ns : NowNs();
    const int64_t age = std::chrono::duration_cast<std::chrono::nanoseconds>(*o.policy.max_age).count();
    if (now > age) b.before = FinishedIndexBound(now - age);
  }
  return b;
}

// One saga's removal, staged: its record, its events, its index entries.
struct Staged {
  uint64_t events = 0;
};

// Past every event key of `id` (the id, then an 8-byte sequence number) and before any other saga's.
std::string EventsEnd(const Uuid& id) {
  std::string end(id.AsBytes());
  end.append(kSagaEventKeySize - end.size() + 1, '\xff');
  return end;
}

// The events go as one range deletion: a saga's events are contiguous, and one entry instead of one per event
// (some fifty for an instance-create) is that much less to write, log, insert and compact. A range costs reads
// of the same table a lookup among the ranges until compaction drops them; no saga reads a finished saga's
// events, and the reads that walk the table (recovery's, check's) are rare. They are still read here, to count
// them for the report. The record and the index entries are single keys, deleted exactly.
Result<Staged> StageRemoval(Cursor* events, const Uuid& id, int64_t finish_time, Batch* batch) {
  Staged s;
  const std::string_view prefix = id.AsBytes();
  for (events->Seek(prefix); events->Valid() && events->key().starts_with(prefix); events->Next()) s.events++;
  SAGADB_RETURN_IF_ERROR(events->status());
  if (s.events > 0) batch->DeleteRange(kSagaEventsTable, prefix, EventsEnd(id));
  batch->Delete(kSagasTable, id.AsBytes());
  StageUnindex(batch, id, finish_time);
  return s;
}

void Count(PruneReport* r, const Uuid& id, SagaState state, int64_t finished_ns, uint64_t events, size_t listed) {
  r->sagas++;
  r->events += events;
  if (state == SagaState::kSucceeded) r->succeeded++;
  if (state == SagaState::kFailed) r->failed++;
  if (state == SagaState::kAbandoned) r->abandoned++;
  if (r->oldest_finished_ns == 0) r->oldest_finished_ns = finished_ns;
  r->newest_finished_ns = finished_ns;
  if (r->ids.size() < listed) {
    r->ids.push_back(id);
  } else {
    r->ids_truncated = true;
  }
}

}  // namespace

Status PruneFinishedSagas(Store* store, const PruneOptions& o, PruneReport* report, bool* more) {
  report->dry_run = o.dry_run;
  if (more != nullptr) *more = false;
  if (!store->HasTable(kSagaIndexTable) || store->schema_version() < 2) {
    return Status::InvalidRequest(fmt::format(
        "database {} (schema version {}) has no saga index yet: one read-write open by this sagadb builds it",
        store->path(), store->schema_version()));
  }
  SAGADB_ASSIGN_OR_RETURN(Bounds bounds, FindBounds(*store, o));
  if (bounds.Empty()) return Status::OK();
  const size_t per_batch = o.sagas_per_batch == 0 ? 1 : o.sagas_per_batch;

  // Each batch reads from a fresh cursor that starts after the last entry the previous batch handled: the
  // entries it removed are behind it, and no cursor pins what the writes made obsolete.
  std::optional<std::string> after;
  uint64_t removed = 0;
  for (;;) {
    IndexCursor finished(*store, IndexCursor::kFinished);
    if (after) {
      finished.SeekPast(*after);
    } else {
      finished.SeekToFirst();
    }
    auto events = store->NewCursor(kSagaEventsTable);
    Batch batch;
    size_t in_batch = 0;
    for (; finished.Valid() && in_batch < per_batch; finished.Next()) {
      const std::string_view key = finished.raw_key();
      if (!bounds.Covers(key)) break;
      if (o.max_sagas != 0 && removed >= o.max_sagas) {
        if (more != nullptr) *more = true;
        break;
      }
      after = std::string(key);
      const Uuid id = finished.id();
      auto bytes = store->Get(kSagasTable, id.AsBytes());
      if (!bytes.ok() && !bytes.status().IsNotFound()) return bytes.status();
      SagaHeader header;
      std::string why;
      if (!bytes.ok()) {
        report->stale_entries++;
        if (!o.dry_run) batch.Delete(kSagaIndexTable, key);
        continue;
      }
      if (!DecodeHeader(*bytes, &header, &why) || header.id != id) {
        report->unreadable++;
        continue;
      }
      if (!IsFinished(header.state) || FinishTime(header) != finished.finished_ns()) {
        // The record went on (or finished at another time) and has its own entry: this one is stale.
        report->stale_entries++;
        if (!o.dry_run) batch.Delete(kSagaIndexTable, key);
        continue;
      }
      Batch scratch;
      SAGADB_ASSIGN_OR_RETURN(Staged staged, StageRemoval(events.get(), id, finished.finished_ns(), &scratch));
      if (!o.dry_run) batch.Append(scratch);
      Count(report, id, header.state, finished.finished_ns(), staged.events, o.max_listed);
      removed++;
      in_batch++;
    }
    SAGADB_RETURN_IF_ERROR(finished.status());
    const bool done = in_batch < per_batch;
    if (!batch.empty()) {
      SAGADB_RETURN_IF_ERROR(store->Write(batch));
      report->batches++;
    }
    if (done || (more != nullptr && *more)) break;
  }
  return Status::OK();
}

}  // namespace sagadb
