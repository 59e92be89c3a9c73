// Metrics: what an open database says about itself, as one value an embedder exports (docs/DESIGN.md section 9).
//
//   sagadb::Metrics m = db->metrics();
//   if (m.Unfinished("stuck") > 0) alert();                   // sagas an operator must look at
//   uint64_t failed = m.sagas.Ended("failed");
//   std::string text = sagadb::WritePrometheus(m);           // the body of an HTTP /metrics answer
//
// Two kinds of figure:
//   - Counters and histograms since the database was opened, by this process: sagas started, resumed and ended
//     (by outcome and by kind), how long sagas and their steps took, synced writes and their sizes, retries.
//     The executor keeps them with relaxed atomic increments on its own path; taking a snapshot reads them.
//   - Figures about now: sagas executing in this process, and the sagas of the database that have not finished
//     by state (running, unwinding, stuck, paused, ...), read from the index of sagas in flight when the
//     snapshot is taken: its cost follows the sagas that have not finished, never the history.
//
// States are keyed by name (sagadb/saga.h ToString), so a state added later needs no change here. A figure a
// snapshot has no entry for is zero.
//
// Thread safety: a Metrics is a plain value; Database::metrics may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sagadb {

// A histogram with fixed bounds, as Prometheus has them. buckets[i] counts the samples above bounds[i - 1] and
// at most bounds[i]; the last bucket (buckets.size() == bounds.size() + 1) those above every bound.
struct Histogram {
  std::vector<double> bounds;     // ascending
  std::vector<uint64_t> buckets;  // per bucket, not cumulative
  uint64_t count = 0;             // every sample: the sum of the buckets
  double sum = 0;                 // of the samples

  // The bound of the bucket that holds the q-th quantile (0 <= q <= 1), an upper estimate; +infinity if it is
  // in the last bucket, 0 without samples.
  double Quantile(double q) const;
};

// How many sagas of one kind (or of all) this process ran.
struct SagaCounts {
  uint64_t started = 0;  // by Start
  uint64_t resumed = 0;  // by recovery at open
  // Executions that ended, by outcome: the saga's state as it ended ("succeeded", "failed", "stuck", and any
  // state added later), or "halted" (the log could not be written, or the database closed: it stays in flight
  // in the database and the next open resumes it). A saga resumed after it halted, or after a pause, ends again.
  std::map<std::string, uint64_t> ended;

  uint64_t Ended(std::string_view outcome) const;
};

struct Metrics {
  int64_t time_ns = 0;  // when the snapshot was taken (nanoseconds since the Unix epoch)

  // Since the open.
  SagaCounts sagas;                           // every kind
  std::map<std::string, SagaCounts> by_kind;  // by the saga's kind (the DAG's name)
  uint64_t rejected = 0;                      // Start refused with Overloaded at admission

  // Now.
  uint64_t in_flight = 0;  // sagas executing in this process (what the admission limit counts)
  // The database's sagas that have not finished, by state, from the index of sagas in flight: running and
  // unwinding ones (whoever runs them), stuck and paused ones (waiting for an operator or a resume).
  std::map<std::string, uint64_t> unfinished;

  uint64_t Unfinished(std::string_view state) const;

  // Latencies, in seconds, since the open.
  // From a saga's creation to the end of its execution, by outcome as in SagaCounts::ended ("halted" aside). A
  // resumed saga counts from its creation, before the restart.
  std::map<std::string, Histogram> saga_seconds;
  // A forward step that succeeded: from the start of its last attempt until its outcome was durable.
  Histogram node_seconds;
  // The same, by the action the step ran (the registered name).
  std::map<std::string, Histogram> node_seconds_by_action;

  // Writes, since the open.
  uint64_t synced_writes = 0;      // synced batches the store wrote: sagas', retention's, the open's
  Histogram synced_write_entries;  // puts and deletes in each of them
  uint64_t bytes_written = 0;      // keys and values written (before RocksDB's own framing)
  uint64_t rounds = 0;             // saga rounds written (each one synced batch: sagas/round.h)
  Histogram round_events;          // log events in each round

  // Retries, since the open.
  uint64_t action_retries = 0;         // forward steps run again after a transient failure
  uint64_t undo_retries = 0;           // undos run again after a transient failure
  uint64_t log_retries = 0;            // writes of the log itself tried again
  uint64_t lock_conflict_retries = 0;  // local steps run again after meeting a record lock out of order
};

// The snapshot in the Prometheus text exposition format, version 0.0.4 (Content-Type:
// "text/plain; version=0.0.4"). Every family has # HELP and # TYPE lines; names start with `prefix` and a '_'
// ("sagadb_sagas_started_total"); counters end in _total; histograms have cumulative _bucket{le="..."} series
// ending with le="+Inf", then _sum and _count. Label values (kinds, actions) are escaped as the format says.
std::string WritePrometheus(const Metrics& metrics, std::string_view prefix = "sagadb");

}  // namespace sagadb
