// Database::metrics: the executor's figures, the store's writes, and the sagas that have not finished, counted
// from the index of sagas in flight (docs/DESIGN.md section 9).
#include "sagadb/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/clock.h"
#include "db/database_impl.h"
#include "log/saga_index.h"
#include "sagadb/database.h"

namespace sagadb {

double Histogram::Quantile(double q) const {
  if (count == 0) return 0;
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count));
  uint64_t seen = 0;
  for (size_t i = 0; i < bounds.size() && i < buckets.size(); ++i) {
    seen += buckets[i];
    if (static_cast<double>(seen) >= rank && seen > 0) return bounds[i];
  }
  return std::numeric_limits<double>::infinity();
}

uint64_t SagaCounts::Ended(std::string_view outcome) const {
  auto it = ended.find(std::string(outcome));
  return it == ended.end() ? 0 : it->second;
}

uint64_t Metrics::Unfinished(std::string_view state) const {
  auto it = unfinished.find(std::string(state));
  return it == unfinished.end() ? 0 : it->second;
}

Result<Metrics> Database::metrics() const {
  Metrics m;
  m.time_ns = NowNs();
  const SagaExecutor& executor = impl_->executor();
  const ExecutorCounters& counters = executor.counters();
  counters.metrics.Fill(&m);
  const ExecutorStats stats = counters.Snapshot();
  m.rejected = stats.rejected;
  m.rounds = stats.rounds;
  m.action_retries = stats.action_retries;
  m.undo_retries = stats.undo_retries;
  m.log_retries = stats.log_retries;
  m.lock_conflict_retries = stats.lock_conflict_retries;
  m.in_flight = executor.in_flight();

  const Store& store = impl_->store();
  m.synced_writes = store.synced_writes();
  m.synced_write_entries = store.synced_write_entries();
  m.bytes_written = store.bytes_written();

  // Every state that keeps a saga in flight is listed, zero or not, so that a series never just disappears.
  for (size_t s = 0; s < SagaMetrics::kStates; ++s) {
    const auto state = static_cast<SagaState>(s);
    if (ParseSagaState(ToString(state)) == state && !IsFinished(state)) m.unfinished[StateName(state)] = 0;
  }
  IndexCursor c(store, IndexCursor::kActive);
  for (c.SeekToFirst(); c.Valid(); c.Next()) m.unfinished[StateName(c.entry().state)]++;
  SAGADB_RETURN_IF_ERROR(c.status());
  return m;
}

}  // namespace sagadb
