// Retention: removing finished sagas (succeeded, failed, abandoned) from the saga log, each whole: its record,
// every one of its events (one range of keys) and its index entries go in one batch (with other sagas'), so a crash leaves every
// saga either whole or gone, never a record without events or events without a record. Sagas in flight,
// stuck or paused are never touched; neither is anything outside the saga log (instances, disks, volumes).
//
//   PruneOptions o;
//   o.policy.max_finished = 10'000;            // keep the newest 10,000 finished sagas...
//   o.policy.max_age = std::chrono::hours(24 * 7);   // ...and none older than a week
//   PruneReport report;
//   bool more = false;
//   SAGADB_RETURN_IF_ERROR(PruneFinishedSagas(store, o, &report, &more));
//
// What goes is read from the index's finished entries, oldest first (log/saga_index.h): the entries beyond the
// newest max_finished, and those finished before now - max_age. Each is verified against its record before
// anything is removed: the record must say it finished, at the time the entry says. An entry whose record is
// missing, or says the saga is in flight or finished at another time, is stale: it alone is removed (the index
// repaired; the record, if any, keeps its own entry). One whose record cannot be read is left for `check`. The cost of a pass is the sagas it removes plus max_finished index entries read to
// find where the newest ones start: never the whole history.
//
// Thread safety: runs beside sagas in flight (finished sagas are never written again). Two prunes at once do
// no harm (their removals are idempotent) but waste work: Database serializes its own.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/store.h"
#include "sagadb/history.h"
#include "sagadb/options.h"
#include "sagadb/status.h"

namespace sagadb {

struct PruneOptions {
  RetentionPolicy policy;
  bool dry_run = false;
  // "Now", for the age limit, in ns since the epoch. 0: the clock.
  int64_t now_ns = 0;
  // Sagas per synced batch.
  size_t sagas_per_batch = 64;
  // Stop once this many sagas were removed (a background pass's share); 0: no limit.
  uint64_t max_sagas = 0;
  // How many ids the report lists.
  size_t max_listed = 1000;
};

// Removes (or with dry_run counts) what the policy says may go. `*more` (if given) is set when it stopped at
// max_sagas with more to remove. InvalidRequest if the database has no saga index yet (schema version 1, read
// by an inspection open); an error of a read or write otherwise (the batches written before it stay written:
// each is whole).
Status PruneFinishedSagas(Store* store, const PruneOptions& options, PruneReport* report, bool* more = nullptr);

}  // namespace sagadb
