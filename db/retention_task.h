// RetentionTask: the engine's retention in the background. A timed task on its own one-thread pool runs a pass
// every RetentionOptions::interval: it removes the finished sagas the policy lets go (log/prune.h), at most
// batches_per_pass batches of sagas_per_batch sagas, and when that left more it runs again at once. No thread
// sleeps: between passes the task waits as a timed task (ThreadPool::SubmitAfter).
//
//   RetentionTask task(&store, &prune_mu, options.retention, logger);
//   task.Start();     // the first pass after one interval
//   ...
//   task.Stop();      // before the store closes: waits for a pass under way
//
// A pass holds `prune_mu` (shared with Database::Prune, so that two prunes never run at once), never a lock of
// the executor or of a saga; its writes are small synced batches that group-commit with the sagas' own. A pass
// that fails (the store refuses writes, say) tells the logger and is tried again after the interval.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "base/mutex.h"
#include "base/thread_pool.h"
#include "engine/store.h"
#include "sagadb/logger.h"
#include "sagadb/options.h"

namespace sagadb {

class RetentionTask {
 public:
  // `store` and `prune_mu` must outlive the task; `logger` may be null.
  RetentionTask(Store* store, Mutex* prune_mu, RetentionOptions options, Logger* logger);
  ~RetentionTask();
  RetentionTask(const RetentionTask&) = delete;
  RetentionTask& operator=(const RetentionTask&) = delete;

  void Start() EXCLUDES(mu_);
  // No pass starts after it returns, and none is under way. Idempotent.
  void Stop() EXCLUDES(mu_);

  // Sagas removed and passes run so far.
  uint64_t removed() const { return removed_.load(std::memory_order_relaxed); }
  uint64_t passes() const { return passes_.load(std::memory_order_relaxed); }

 private:
  void Pass() EXCLUDES(mu_);
  void Schedule(ThreadPool::Clock::duration delay) REQUIRES(mu_);

  Store* const store_;
  Mutex* const prune_mu_;
  const RetentionOptions options_;
  Logger* const logger_;
  Mutex mu_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::unique_ptr<ThreadPool> pool_ GUARDED_BY(mu_);
  std::atomic<uint64_t> removed_{0};
  std::atomic<uint64_t> passes_{0};
};

}  // namespace sagadb
