#include "db/retention_task.h"

#include <fmt/format.h>

#include <algorithm>

#include "log/prune.h"

namespace sagadb {

RetentionTask::RetentionTask(Store* store, Mutex* prune_mu, RetentionOptions options, Logger* logger)
    : store_(store), prune_mu_(prune_mu), options_(std::move(options)), logger_(logger) {}

RetentionTask::~RetentionTask() { Stop(); }

void RetentionTask::Start() {
  MutexLock lock(&mu_);
  if (stopping_ || pool_ != nullptr) return;
  pool_ = std::make_unique<ThreadPool>(1);
  Schedule(options_.interval);
}

void RetentionTask::Schedule(ThreadPool::Clock::duration delay) { pool_->SubmitAfter(delay, [this] { Pass(); }); }

void RetentionTask::Stop() {
  std::unique_ptr<ThreadPool> pool;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    pool = std::move(pool_);
  }
  // Outside mu_: the pool runs what is pending at once (a pass sees stopping_ and returns) and joins a pass
  // under way, which takes mu_ to schedule the next one.
  if (pool != nullptr) {
    pool->Expedite();
    pool.reset();
  }
}

void RetentionTask::Pass() {
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
  }
  PruneOptions o;
  o.policy = options_.policy;
  o.sagas_per_batch = options_.sagas_per_batch;
  o.max_sagas = static_cast<uint64_t>(options_.sagas_per_batch) * std::max<size_t>(1, options_.batches_per_pass);
  o.max_listed = 0;
  PruneReport report;
  bool more = false;
  Status st;
  {
    MutexLock lock(prune_mu_);
    st = PruneFinishedSagas(store_, o, &report, &more);
  }
  passes_.fetch_add(1, std::memory_order_relaxed);
  removed_.fetch_add(report.sagas, std::memory_order_relaxed);
  if (!st.ok() && logger_ != nullptr) {
    logger_->Log(LogLevel::kWarning, fmt::format("retention: {} (removed {} sagas before it; trying again in {} ms)",
                                                 st.ToString(), report.sagas, options_.interval.count()));
  }
  MutexLock lock(&mu_);
  // Stop took the pool: this pass was its last.
  if (stopping_ || pool_ == nullptr) return;
  Schedule(st.ok() && more ? ThreadPool::Clock::duration::zero() : ThreadPool::Clock::duration(options_.interval));
}

}  // namespace sagadb
