// The options of a sagadb database: what an embedder may tune, each with the default a small appliance can
// live with.
//
//   sagadb::DatabaseOptions options;
//   options.path = "/var/lib/appliance/sagadb";
//   options.store.block_cache_bytes = 64 << 20;   // shared by every table
//   options.executor.max_in_flight = 128;
//   options.logger = &my_logger;                  // otherwise sagadb says nothing
//
// The one option to think about is `store.sync`: it is what makes a saga step durable when it returns. Turn it
// off only to measure the engine's own cost.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "sagadb/logger.h"

namespace sagadb {

// The storage engine's tunables (RocksDB underneath). Defaults keep the resident size of an embedded engine
// small; the throughput of synced writes is bounded by fsync, not by these.
struct StoreOptions {
  // Sync every write to disk before it is acknowledged. Off: a crash of the machine (not of the process) may
  // lose the last writes, and with them steps that sagas have taken as done.
  bool sync = true;
  // One LRU block cache, shared by every table, for the blocks read from disk.
  size_t block_cache_bytes = 8 << 20;
  // Each table's in-memory write buffer; a full one is flushed to disk in the background.
  size_t write_buffer_bytes = 4 << 20;
  // Threads for background flushes and compactions.
  int max_background_jobs = 2;
  // Once the write-ahead log files together exceed this, the tables whose data holds the oldest one back are
  // flushed, so the log can be removed and recovery at open has less to replay.
  uint64_t max_total_wal_bytes = 64 << 20;
  // How many of RocksDB's own info log files (LOG, LOG.old.*) to keep in the database directory.
  size_t keep_info_log_files = 4;
};

// How many times, and how patiently, the executor retries an operation that failed transiently.
struct RetryPolicy {
  uint32_t max_attempts = 5;  // including the first
  std::chrono::microseconds initial_backoff{500};
  std::chrono::microseconds max_backoff{50'000};

  // The pause before attempt `next_attempt` (2, 3, ...): exponential from initial_backoff, capped.
  std::chrono::microseconds Backoff(uint32_t next_attempt) const {
    const uint32_t doublings = next_attempt > 2 ? (next_attempt - 2 < 30 ? next_attempt - 2 : 30) : 0;
    const auto pause = initial_backoff * (int64_t{1} << doublings);
    return pause < max_backoff ? pause : max_backoff;
  }
};

struct ExecutorOptions {
  // The pool that runs actions and undos. Its threads mostly wait (on synced writes, on the effects of external
  // actions), so it is sized for concurrency, not for cores.
  size_t threads = 64;
  // Admission limit: sagas executing at once. Beyond it, Start fails at once with Overloaded (or waits, if the
  // caller gave StartOptions::admission_wait).
  size_t max_in_flight = 64;
  // A forward action that fails transiently runs again, this often, before the saga unwinds.
  RetryPolicy forward_retry{8, std::chrono::microseconds(500), std::chrono::microseconds(20'000)};
  // An undo that fails transiently runs again, this often, before the saga is marked stuck.
  RetryPolicy undo_retry{32, std::chrono::microseconds(500), std::chrono::microseconds(100'000)};
  // Writes of the log itself (events with no effects, the final state) that fail transiently.
  RetryPolicy log_retry{64, std::chrono::microseconds(500), std::chrono::microseconds(100'000)};
};

// Which finished sagas (succeeded, failed, abandoned) retention removes, each with all its events. A saga is
// removed when it is older than max_age, or when more than max_finished newer ones have finished. Sagas that
// have not finished (running, unwinding, stuck, paused) are never removed, and neither is anything a saga made.
//
// The defaults keep a week of history, but at most the newest 10,000 finished sagas: an appliance that runs
// a thousand operations a day keeps the whole week, a busier one its last 10,000 (an 11-disk instance-create
// costs ~11 KB on disk, so ~110 MB).
struct RetentionPolicy {
  // Keep at most this many finished sagas, the newest. nullopt: no limit by count.
  std::optional<uint64_t> max_finished = 10'000;
  // Remove finished sagas that finished longer ago than this. nullopt: no limit by age.
  std::optional<std::chrono::seconds> max_age = std::chrono::hours(24 * 7);
};

// Retention in the background: the engine enforces `policy` with a timed task that removes finished sagas in
// small batches, beside the sagas in flight.
struct RetentionOptions {
  bool enabled = true;
  RetentionPolicy policy;
  // Between passes once nothing is left to remove. A pass that leaves more is followed by the next at once.
  std::chrono::milliseconds interval{10'000};
  // Sagas removed per write (one synced batch each: with their events, ~50 entries per saga). Small batches
  // keep each write short, so the writes of sagas in flight never wait long behind one.
  size_t sagas_per_batch = 64;
  // Batches per pass; the next pass follows at once while there is more.
  size_t batches_per_pass = 16;
};

struct DatabaseOptions {
  // The database directory. Created (with its parents) if it does not exist and create_if_missing is set.
  std::string path;
  bool create_if_missing = true;
  StoreOptions store;
  ExecutorOptions executor;
  RetentionOptions retention;
  // Open returns only once every saga that recovery resumed has ended (Database::recovery() then says how each
  // ended). False: Open returns once they are resumed, and they finish in the background.
  bool wait_for_recovery = true;
  // Recovery also retries every paused saga's failed undos (logged as a resume by "sagadb"): whatever made them
  // fail may have passed since. False leaves paused sagas for an operator's Database::Resume.
  bool retry_paused_at_open = true;
  // Receives what sagadb has to say. Not owned; must outlive the Database. Null: nothing is said.
  Logger* logger = nullptr;
};

}  // namespace sagadb
