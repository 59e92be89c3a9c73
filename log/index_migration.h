// Building the saga index of a database written before it existed (schema version 1), once, at its first
// read-write open by a build that has it, before recovery reads the index.
//
//   if (store->schema_version() < 2) SAGADB_RETURN_IF_ERROR(BuildSagaIndex(store, {}, &report));
//
// The records are read in id order and their index entries written in synced batches of `sagas_per_batch`
// sagas; each batch also records how far the build got (in the metadata), and the last one moves the schema
// version to 2. A crash at any point leaves version 1 and a partial index that the next open completes from
// where the last durable batch ended: every entry is a pure function of its record, so writing one twice is
// harmless (idempotent). Nothing else writes in the meantime: the open runs it before anything else, and an
// older sagadb refuses the database once the index table exists.
//
// A record that cannot be decoded gets no entry (it is counted; `check` reports it as corruption).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/store.h"
#include "sagadb/status.h"

namespace sagadb {

struct IndexBuildOptions {
  size_t sagas_per_batch = 1000;
};

struct IndexBuildReport {
  uint64_t sagas = 0;        // records indexed by this run
  uint64_t unreadable = 0;   // records left without an entry
  uint64_t batches = 0;      // writes made
  bool resumed = false;      // an earlier, interrupted build had got part of the way
};

// REQUIRES: a read-write store at schema version 1 that nothing else is writing.
Status BuildSagaIndex(Store* store, const IndexBuildOptions& options, IndexBuildReport* report);

}  // namespace sagadb
