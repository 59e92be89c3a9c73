// The saga history as a program reads it: pages of saga summaries, the sagas that have stalled, and what
// retention removed. Database (sagadb/database.h) answers these; the `sagadb` tool prints them.
//
//   sagadb::SagaQuery q;
//   q.states = {sagadb::SagaState::kFailed};
//   q.limit = 100;
//   for (;;) {
//     sagadb::Result<sagadb::SagaPage> page = db->ListSagas(q);
//     if (!page.ok()) return page.status();
//     for (const sagadb::SagaSummary& s : page->sagas) show(s);
//     if (!page->next) break;
//     q.after = page->next;                          // the next page starts after the last id of this one
//   }
//
// Every listing reads in saga id order and holds one page in memory, whatever the size of the history. Times are
// nanoseconds since the Unix epoch, as the records store them; 0 means "not yet" (or "no bound").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sagadb/saga.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace sagadb {

// One saga as a listing shows it.
struct SagaSummary {
  Uuid id;
  std::string kind;
  SagaState state = SagaState::kRunning;
  int64_t created_ns = 0;
  int64_t modified_ns = 0;
  int64_t finished_ns = 0;  // when it reached succeeded, failed, stuck or abandoned; 0 before
  size_t nodes = 0;         // of its DAG, constants and subsaga boundaries included
  // Failed: the node whose failure began the unwind; stuck: the node whose undo failed; abandoned: the node it
  // was stopped at. Empty otherwise.
  std::string error_node;
  Status error;  // why it failed, is stuck or was abandoned; OK otherwise
};

// Which sagas a listing returns: those matching every field given.
struct SagaQuery {
  std::vector<SagaState> states;  // any of these; empty: every state
  std::string kind;               // exactly this kind; empty: every kind
  int64_t created_since_ns = 0;   // created at or after; 0: no bound
  int64_t created_until_ns = 0;   // created before; 0: no bound
  // The page starts after this id: SagaPage::next of the page before. nullopt: the first page.
  std::optional<Uuid> after;
  // At most this many sagas per page; 0: no limit (the page then holds every match: use with care).
  size_t limit = 100;
};

struct SagaPage {
  std::vector<SagaSummary> sagas;  // in id order
  // Set when the page is full: the query's `after` for the next page (which may turn out empty). nullopt: the
  // listing is complete.
  std::optional<Uuid> next;
  // Records met on the way that could not be read ("sagas/<id>: <why>"): the page is incomplete by these.
  std::vector<std::string> unreadable;
};

// A saga in flight (running or unwinding) that has written nothing for a while: its last event, or its
// creation if it has none.
struct StalledSaga {
  SagaSummary saga;
  int64_t last_event_ns = 0;  // the last event's time, or the saga's creation
  std::string last_node;      // the last event's node (qualified name); empty if it has no event
  std::string last_event;     // "started", "succeeded", ... "undo_failed"; empty if it has no event
};

struct StalledReport {
  std::vector<StalledSaga> sagas;       // the longest quiet first
  std::vector<std::string> unreadable;  // as SagaPage::unreadable
};

// What a prune removed (or, in a dry run, would remove): finished sagas, each with all its events and its
// index entries, in one batch with others; never a saga in flight, stuck or paused, never an instance, disk
// or volume.
struct PruneReport {
  bool dry_run = false;
  uint64_t sagas = 0;
  uint64_t succeeded = 0, failed = 0, abandoned = 0;  // sagas, by how they ended
  uint64_t events = 0;
  uint64_t batches = 0;              // synced writes made (0 in a dry run)
  int64_t oldest_finished_ns = 0;    // finish times of the oldest and newest saga removed; 0 if none
  int64_t newest_finished_ns = 0;
  std::vector<Uuid> ids;             // the sagas removed, oldest first: the first 1,000
  bool ids_truncated = false;        // more were removed than `ids` lists
  uint64_t unreadable = 0;           // finished index entries whose record could not be verified: left alone
  uint64_t stale_entries = 0;        // finished index entries with no record at all: removed
};

}  // namespace sagadb
