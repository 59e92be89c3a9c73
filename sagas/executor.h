// SagaExecutor: runs sagas, durably, with undo on failure.
//
//   SagaExecutor executor(&store, &locks, &registry, ExecutorOptions{});
//   Result<SagaHandle> h = executor.Start(dag, params);       // Overloaded at once if too many are in flight
//   Result<SagaResult> r = h->Wait();
//   // r->state: kSucceeded (r->output), kFailed (fully unwound; r->error_node, r->error),
//   //           kStuck (an undo failed for good; r->error_node, r->error)
//
// The log (docs/DESIGN.md section 3): Start writes the saga record (DAG, params, state) in one synced write. A
// local node's staged writes commit with its `succeeded` event in one synced batch; an error commits nothing and
// is recorded as `failed`. An external node's `started` is durable before it runs and its `succeeded` before any
// child runs. Undo works the same way with `undo_started` / `undo_finished`. The saga's final state is one more
// write. Every write of a saga goes through its CommitQueue, so parallel nodes share synced writes: a saga of N
// local nodes costs at most N + 2 synced writes.
//
// The parts: the scheduler (sagas/scheduler.h) decides what a saga can do next; the step runner
// (sagas/step_runner.h) runs a node's action or undo and records its outcome; this class admits sagas, keeps the
// runs, hands the scheduler's decisions to the runner and completes the runs.
//
// Failures: a forward action failing transiently is retried (ExecutorOptions::forward_retry) before the saga
// unwinds; an undo failing transiently is retried with exponential backoff (undo_retry); a permanent undo error
// or exhausted retries make the saga `stuck`, durably, naming the node and the error. A write of the log itself
// that keeps failing halts the saga in memory (Wait returns the error); it stays `running`/`unwinding` in the
// database and recovery resumes it at the next open. Every backoff is a timed task: no thread sleeps.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <memory>
#include <unordered_map>

#include "base/mutex.h"
#include "base/thread_pool.h"
#include "engine/key_locks.h"
#include "engine/store.h"
#include "log/replay.h"
#include "log/saga_log.h"
#include "sagadb/action.h"
#include "sagadb/dag.h"
#include "sagadb/database.h"
#include "sagadb/options.h"
#include "sagadb/saga.h"
#include "sagas/fault_plan.h"
#include "sagas/saga_run.h"
#include "sagas/step_runner.h"

namespace sagadb {

class SagaExecutor : private StepHost {
 public:
  // `store`, `locks` and `registry` must outlive the executor. `logger` may be null.
  SagaExecutor(Store* store, KeyLocks* locks, const ActionRegistry* registry, ExecutorOptions options,
               Logger* logger = nullptr);
  // Shutdown().
  ~SagaExecutor() override;
  SagaExecutor(const SagaExecutor&) = delete;
  SagaExecutor& operator=(const SagaExecutor&) = delete;

  // Admits the saga, writes its record and starts it. Overloaded (nothing written) when max_in_flight sagas are
  // executing and no admission_wait was given or it ran out; InvalidRequest if the DAG names an action the
  // registry lacks.
  Result<SagaHandle> Start(const SagaDag& dag, Json params, const StartOptions& options = {}) EXCLUDES(mu_);
  // Start, then Wait.
  Result<SagaResult> Run(const SagaDag& dag, Json params, const StartOptions& options = {});

  // Recovery: continues a saga from its replayed log (forward if no node failed, otherwise unwinding). Not
  // subject to the admission limit, but counted in it. REQUIRES: history came from ReplaySagaLog(record, ...)
  // and every action of the DAG is registered.
  Result<SagaHandle> Resume(SagaRecord record, const SagaHistory& history) EXCLUDES(mu_);

  // Blocks until no saga is executing.
  void WaitIdle() EXCLUDES(mu_);
  size_t in_flight() const EXCLUDES(mu_);
  ExecutorStats stats() const;

  // Test seam: faults injected at named nodes. nullptr removes the plan.
  void SetFaultPlan(std::shared_ptr<FaultPlan> plan) EXCLUDES(mu_);

  // Starts nothing new, lets running steps finish their current attempt (a step waiting out a backoff gives up
  // at once), and waits for them. Sagas that did not end stay `running`/`unwinding` in the database for
  // recovery. Idempotent.
  void Shutdown() EXCLUDES(mu_);

  Store* store() const { return store_; }
  const SagaLog& log() const { return log_; }

 private:
  Result<std::shared_ptr<SagaRun>> NewRun(SagaRecord record, Json params, uint64_t next_seq);
  Status Admit(const StartOptions& options) EXCLUDES(mu_);
  void Release() EXCLUDES(mu_);
  // Registers a run that is about to be scheduled; false when the executor is shutting down.
  bool Track(const std::shared_ptr<SagaRun>& run, bool resumed) EXCLUDES(mu_);

  // Schedules what can run now. REQUIRES: run->mu held.
  void Advance(const std::shared_ptr<SagaRun>& run) REQUIRES(run->mu);
  void Complete(const std::shared_ptr<SagaRun>& run, std::optional<SagaResult> result) REQUIRES(run->mu);

  // StepHost.
  void StepDone(const std::shared_ptr<SagaRun>& run) override REQUIRES(run->mu);
  void Finished(const std::shared_ptr<SagaRun>& run, SagaResult result) override REQUIRES(run->mu);
  void Halt(const std::shared_ptr<SagaRun>& run, const Status& error) override;
  bool stopping() const override { return stop_.load(std::memory_order_acquire); }
  std::shared_ptr<FaultPlan> faults() const override EXCLUDES(mu_);

  Store* const store_;
  const ActionRegistry* const registry_;
  const ExecutorOptions options_;
  SagaLog log_;
  ExecutorCounters counters_;

  mutable Mutex mu_;
  CondVar admission_cv_{&mu_};
  CondVar idle_cv_{&mu_};
  size_t in_flight_ GUARDED_BY(mu_) = 0;
  bool shutting_down_ GUARDED_BY(mu_) = false;
  std::unordered_map<Uuid, std::shared_ptr<SagaRun>> runs_ GUARDED_BY(mu_);
  std::shared_ptr<FaultPlan> faults_ GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};  // mirrors shutting_down_ for lock-free checks in steps

  ThreadPool pool_;     // destroyed (joined) before the runner and everything above
  StepRunner runner_;
};

}  // namespace sagadb
