// SagaExecutor: runs sagas, durably, with undo on failure.
//
//   SagaExecutor executor(&datastore, &registry, ExecutorOptions{});
//   Result<SagaHandle> h = executor.Start(dag, params);       // Overloaded at once if too many are in flight
//   Result<SagaResult> r = h->Wait();
//   // r->state: kSucceeded (r->output), kFailed (fully unwound; r->error_node, r->error),
//   //           kStuck (an undo failed for good; r->error_node, r->error)
//
// The log (DESIGN section 3): Start writes the saga record (DAG, params, state) in one synced write. A local
// node's staged writes commit with its `succeeded` event in one synced batch; an error commits nothing and is
// recorded as `failed`. An external node's `started` is durable before it runs and its `succeeded` before any
// child runs. Undo works the same way with `undo_started` / `undo_finished`. The saga's final state is one more
// write. Commits of one saga go through a per-saga queue whose leader writes every waiting request in one batch,
// so parallel nodes share synced writes: a saga of N local nodes costs at most N + 2 synced writes.
//
// Failures: a forward action failing transiently is retried (ExecutorOptions::forward_retry) before the saga
// unwinds; an undo failing transiently is retried with exponential backoff (undo_retry); a permanent undo error
// or exhausted retries make the saga `stuck`, durably, naming the node and the error. A write of the log itself
// that keeps failing halts the saga in memory (Wait returns the error); it stays `running`/`unwinding` in the
// database and recovery resumes it at the next open.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <any>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "engine/datastore.h"
#include "engine/status.h"
#include "sagas/action.h"
#include "sagas/dag.h"
#include "sagas/fault_plan.h"
#include "sagas/retry_policy.h"
#include "sagas/saga_log.h"
#include "sagas/thread_pool.h"

namespace sagadb {

class SagaRun;
struct CommitRequest;
struct NodeRt;

struct ExecutorOptions {
  // The pool that runs actions and undos. Its threads mostly wait (on synced writes, on volume files), so it is
  // sized for concurrency, not for cores: with 16, 32 concurrent instance-creates ran at half the rate of 64.
  size_t threads = 64;
  size_t max_in_flight = 64;    // admission limit on sagas executing at once
  RetryPolicy forward_retry{8, std::chrono::microseconds(500), std::chrono::microseconds(20'000)};
  RetryPolicy undo_retry{32, std::chrono::microseconds(500), std::chrono::microseconds(100'000)};
  // Writes of the log itself (events with no effects, the final state).
  RetryPolicy log_retry{64, std::chrono::microseconds(500), std::chrono::microseconds(100'000)};
};

struct StartOptions {
  // Wait this long for room under the in-flight limit instead of failing at once with Overloaded.
  std::optional<std::chrono::milliseconds> admission_wait;
  // Use this id for the saga (default: a new random id). Lets a caller record the id before starting.
  std::optional<Uuid> id;
};

struct SagaResult {
  Uuid id;
  SagaState state = SagaState::kRunning;
  Json output;             // kSucceeded: the output of the saga's last node
  std::string error_node;  // kFailed: the node whose failure began the unwind; kStuck: the node whose undo failed
  Status error;
};

// A started saga. Copyable; keeps the saga's in-memory state alive.
class SagaHandle {
 public:
  explicit SagaHandle(std::shared_ptr<SagaRun> run) : run_(std::move(run)) {}
  const Uuid& id() const;
  // Blocks until the saga ends (succeeded, failed, stuck) or halts (the error that halted it).
  Result<SagaResult> Wait() const;
  bool Done() const;

 private:
  std::shared_ptr<SagaRun> run_;
};

struct ExecutorStats {
  uint64_t started = 0;
  uint64_t resumed = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t stuck = 0;
  uint64_t halted = 0;
  uint64_t rejected = 0;  // Overloaded at admission
  uint64_t action_retries = 0;
  uint64_t undo_retries = 0;
  uint64_t log_retries = 0;
  uint64_t lock_conflict_retries = 0;  // local steps re-run after taking record locks out of order
};

class SagaExecutor {
 public:
  // `datastore` and `registry` must outlive the executor. `app` is handed to actions (ActionContext::app).
  SagaExecutor(Datastore* datastore, const ActionRegistry* registry, ExecutorOptions options, std::any app = {});
  // Shutdown().
  ~SagaExecutor();
  SagaExecutor(const SagaExecutor&) = delete;
  SagaExecutor& operator=(const SagaExecutor&) = delete;

  // Admits the saga, writes its record and starts it. Overloaded (nothing written) when max_in_flight sagas are
  // executing and no admission_wait was given or it ran out; InvalidRequest if the DAG names an action the
  // registry lacks.
  Result<SagaHandle> Start(const SagaDag& dag, Json params, const StartOptions& options = {});
  // Start, then Wait.
  Result<SagaResult> Run(const SagaDag& dag, Json params, const StartOptions& options = {});

  // Recovery: continues a saga from its replayed log (forward if no node failed, otherwise unwinding). Not
  // subject to the admission limit, but counted in it. REQUIRES: history came from ReplaySagaLog(record, ...)
  // and every action of the DAG is registered.
  Result<SagaHandle> Resume(SagaRecord record, const SagaHistory& history);

  // Blocks until no saga is executing.
  void WaitIdle();
  size_t in_flight() const;
  ExecutorStats stats() const;

  // Test seam: faults injected at named nodes. nullptr removes the plan.
  void SetFaultPlan(std::shared_ptr<FaultPlan> plan);

  // Starts nothing new, lets running tasks finish their current step, and waits for them. Sagas that did not
  // end stay `running`/`unwinding` in the database for recovery. Idempotent.
  void Shutdown();

  Datastore* datastore() const { return datastore_; }
  const ActionRegistry* registry() const { return registry_; }

 private:
  Result<std::shared_ptr<SagaRun>> NewRun(SagaRecord record, Json params);
  Status Admit(const StartOptions& options);
  void Release();

  // Schedules what can run now. REQUIRES: run->mu held.
  void Advance(const std::shared_ptr<SagaRun>& run);
  void Submit(const std::shared_ptr<SagaRun>& run, std::function<void()> task);
  void TaskDone(const std::shared_ptr<SagaRun>& run);  // REQUIRES: run->mu held
  void Complete(const std::shared_ptr<SagaRun>& run, std::optional<SagaResult> result);  // REQUIRES: run->mu held
  void ResolvePseudo(SagaRun& run, uint32_t node);  // REQUIRES: run->mu held

  // External steps: `then` runs once `started` (or `undo_started`) is durable: at once if the log already has it
  // (a recovered node), otherwise on a pool thread after the write, which no thread waits for. A write that
  // fails for good halts the saga.
  void LogStartThen(std::shared_ptr<SagaRun> run, uint32_t node, EventType type, bool NodeRt::*logged,
                    std::function<void()> then);
  void RunForward(std::shared_ptr<SagaRun> run, uint32_t node);
  // An external node whose `started` is durable: runs the action, then logs `succeeded` without waiting.
  void RunExternalForward(std::shared_ptr<SagaRun> run, uint32_t node);
  // A local node from `attempt` on: runs the action into a txn and hands the txn to the commit queue without
  // waiting; FinishLocalForward runs once the batch holding it is written.
  void RunLocalForward(std::shared_ptr<SagaRun> run, uint32_t node, uint32_t attempt, uint32_t lock_conflicts);
  void FinishLocalForward(const std::shared_ptr<SagaRun>& run, uint32_t node, uint32_t attempt,
                          uint32_t lock_conflicts, Json output, const Status& commit);
  // A forward step's `succeeded` is durable: records its output and lets the scheduler go on.
  void MarkSucceeded(const std::shared_ptr<SagaRun>& run, uint32_t node, uint32_t attempt, Json output);
  // After attempt `attempt` of a forward step failed with `error` (nothing of it written): true if the step
  // should run again after a backoff; otherwise the node is finished here (back to pending when the executor
  // is stopping, or recorded as failed).
  bool RetryForward(const std::shared_ptr<SagaRun>& run, uint32_t node, const Status& error, uint32_t attempt);
  void RunUndo(std::shared_ptr<SagaRun> run, uint32_t node);
  // The undo itself, its `undo_started` (external steps) being durable.
  void RunUndoSteps(std::shared_ptr<SagaRun> run, uint32_t node);
  void RunFinish(std::shared_ptr<SagaRun> run, SagaState state);
  // Records a node's failure (and the saga's move to unwinding), then lets the scheduler unwind.
  void RecordFailure(const std::shared_ptr<SagaRun>& run, uint32_t node, const Status& error, uint32_t attempts);
  void RecordUndoFailure(const std::shared_ptr<SagaRun>& run, uint32_t node, const Status& error,
                         uint32_t attempts);
  void Halt(const std::shared_ptr<SagaRun>& run, const Status& error);
  // Whether a local step that met a lock-order conflict (WriteTxn::lock_conflict) should simply run again: such
  // a conflict is not the step's failure and does not use up its retries. Bounded, to rule out livelock.
  static constexpr uint32_t kMaxLockConflictRetries = 10'000;
  bool RetryLockConflict(bool conflict, uint32_t* conflicts);

  // Writes the txn (if any), the events and the record in one synced batch via the saga's commit queue, and
  // waits for it.
  Status Commit(SagaRun& run, CommitRequest* request);
  // The same without waiting: request->on_done is called once it is written (or failed).
  void CommitAsync(SagaRun& run, std::unique_ptr<CommitRequest> request);
  // The leader's loop: writes everything queued, batch after batch, until the queue is empty. REQUIRES: `lock`
  // holds run.commit_mu and no other leader is active.
  void DrainCommits(SagaRun& run, std::unique_lock<std::mutex>& lock);
  // CommitLog without waiting: `then` gets the final outcome (transient failures retried under log_retry, the
  // backoff spent on a pool thread). `then` runs on whichever thread finished the write.
  void CommitLogAsync(std::shared_ptr<SagaRun> run, std::vector<SagaEvent> events, uint32_t attempt,
                      std::function<void(Status)> then);
  // Commit, retrying transient failures under log_retry.
  Status CommitLog(SagaRun& run, std::vector<SagaEvent> events, std::optional<SagaRecord> record = std::nullopt);

  std::shared_ptr<FaultPlan> faults() const;

  Datastore* const datastore_;
  Store* const store_;
  const ActionRegistry* const registry_;
  const ExecutorOptions options_;
  const std::any app_;

  mutable std::mutex mu_;
  std::condition_variable admission_cv_;
  std::condition_variable idle_cv_;
  size_t in_flight_ = 0;            // GUARDED_BY(mu_)
  bool shutting_down_ = false;      // GUARDED_BY(mu_)
  std::unordered_map<Uuid, std::shared_ptr<SagaRun>> runs_;  // GUARDED_BY(mu_)
  std::shared_ptr<FaultPlan> faults_;                        // GUARDED_BY(mu_)
  ExecutorStats stats_;                                      // GUARDED_BY(mu_)
  std::atomic<bool> stop_{false};   // mirrors shutting_down_ for lock-free checks in tasks

  ThreadPool pool_;  // last: destroyed (joined) first
};

}  // namespace sagadb
