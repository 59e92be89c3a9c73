// Reading the saga history a page at a time (sagadb/history.h has the query and what a page holds), for
// Database::ListSagas and the `sagadb` tool, which reads a store directly.
//
//   SagaListing listing;
//   SAGADB_RETURN_IF_ERROR(ListSagaRecords(store, query, [&](const SagaRecord& r) { print(r); }, &listing));
//   if (listing.next) say("more: --after " + listing.next->ToString());
//
// Memory is one record at a time (plus what the caller keeps), whatever the size of the history. Time: a query
// whose states are all in flight (running, unwinding, stuck, ...) reads the index's in-flight entries alone,
// O(sagas in flight); any other query walks the saga records in id order from `after`, reading each record's
// header (schema/codec.h DecodeHeader) and decoding the whole record only for those it returns. A database that
// has no index yet (schema version 1, seen by an inspection open) is always walked.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/store.h"
#include "sagadb/history.h"
#include "sagadb/status.h"
#include "schema/records.h"

namespace sagadb {

struct SagaListing {
  std::optional<Uuid> next;             // as SagaPage::next
  std::vector<std::string> unreadable;  // as SagaPage::unreadable
};

// Calls `fn` with each saga matching `query`, in id order, at most query.limit of them (0: all). A read error
// ends the listing with that status; a record that cannot be decoded is skipped and named in
// `listing->unreadable`.
Status ListSagaRecords(Store& store, const SagaQuery& query, const std::function<void(const SagaRecord&)>& fn,
                       SagaListing* listing);

// Whether the query needs the in-flight entries of the index alone.
bool OnlyInFlight(const SagaQuery& query);

SagaSummary SummaryOf(const SagaRecord& record);

// Sagas running or unwinding whose last event (or creation, if they have none) is at least `quiet` before
// `now_ns` (0: the clock), the longest quiet first. Reads the in-flight index entries, and the last event of
// each (one reverse seek); records only for those it returns. (Without an index: a walk of the records.)
Result<StalledReport> ListStalledSagas(Store& store, std::chrono::nanoseconds quiet, int64_t now_ns = 0);

}  // namespace sagadb
