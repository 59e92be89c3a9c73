// StepRunner: runs one node's action or undo, or a saga's final write, and records the outcome in the saga's
// log. It never waits: a step hands its writes to the saga's CommitQueue and goes on in a callback when they are
// durable, and a retry after a backoff is a timed task on the pool.
//
//   runner.RunForward(run, node);   // scheduled by the executor; the outcome reaches it through StepHost
//
// The log's rules (docs/DESIGN.md section 3), as this class keeps them:
//  - A local step's staged writes and its `succeeded` (or an undo's `undo_finished`) are one batch. If the action
//    fails, its txn is dropped: nothing it staged is written, and the node is `failed` (after its retries).
//  - An external step's `started` (`undo_started`) is durable before it runs, its `succeeded`
//    (`undo_finished`) durable before the scheduler hears of it, so before any child runs.
//  - A failure is recorded (`failed` with the saga record now unwinding, or `undo_failed` with it stuck) before
//    the scheduler acts on it.
//  - A write of the log that fails for good halts the saga (StepHost::Halt); recovery resumes it.
//
// Thread safety: all methods may be called concurrently, for different nodes of a saga and different sagas.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/thread_pool.h"
#include "engine/key_locks.h"
#include "engine/store.h"
#include "sagadb/database.h"
#include "sagadb/options.h"
#include "sagas/fault_plan.h"
#include "sagas/saga_run.h"

namespace sagadb {

// The executor's counters, bumped without a lock.
struct ExecutorCounters {
  std::atomic<uint64_t> started{0}, resumed{0}, succeeded{0}, failed{0}, stuck{0}, halted{0}, rejected{0};
  std::atomic<uint64_t> action_retries{0}, undo_retries{0}, log_retries{0}, lock_conflict_retries{0};
  ExecutorStats Snapshot() const;
};

// What the runner tells the executor.
class StepHost {
 public:
  virtual ~StepHost() = default;
  // A step ended (its node's status says how): one task fewer; schedule what can run now.
  virtual void StepDone(const std::shared_ptr<SagaRun>& run) REQUIRES(run->mu) = 0;
  // The saga's final record is durable (run->mode says which): the run completes with `result`.
  virtual void Finished(const std::shared_ptr<SagaRun>& run, SagaResult result) REQUIRES(run->mu) = 0;
  // The log cannot be written: the step ends and the saga halts (it stays running/unwinding for recovery).
  virtual void Halt(const std::shared_ptr<SagaRun>& run, const Status& error) = 0;
  // The executor is shutting down: steps stop retrying and give their node back.
  virtual bool stopping() const = 0;
  virtual std::shared_ptr<FaultPlan> faults() const = 0;
};

class StepRunner {
 public:
  // Every pointer must outlive the runner.
  StepRunner(StepHost* host, Store* store, KeyLocks* locks, const ExecutorOptions* options, ThreadPool* pool,
             ExecutorCounters* counters)
      : host_(host), store_(store), locks_(locks), options_(options), pool_(pool), counters_(counters) {}

  void RunForward(std::shared_ptr<SagaRun> run, uint32_t node);
  void RunUndo(std::shared_ptr<SagaRun> run, uint32_t node);
  // Writes the saga's final record (succeeded or failed) and completes the run.
  void RunFinish(std::shared_ptr<SagaRun> run, SagaState state);

  // Writes events and the record through the saga's queue; transient failures are retried under
  // ExecutorOptions::log_retry as timed tasks. `then` gets the final outcome, on whichever thread wrote it.
  void CommitLog(std::shared_ptr<SagaRun> run, std::vector<SagaEvent> events, std::optional<SagaRecord> record,
                 std::function<void(Status)> then, uint32_t attempt = 1);

 private:
  // External steps: `then` runs once `started` (or `undo_started`) is durable: at once if the log already has
  // it (a recovered node), otherwise on a pool thread after the write.
  void LogStartThen(std::shared_ptr<SagaRun> run, uint32_t node, EventType type, bool NodeRt::*logged,
                    std::function<void()> then);
  void RunExternalForward(std::shared_ptr<SagaRun> run, uint32_t node, uint32_t attempt);
  void RunLocalForward(std::shared_ptr<SagaRun> run, uint32_t node, uint32_t attempt, uint32_t lock_conflicts);
  void FinishLocalForward(const std::shared_ptr<SagaRun>& run, uint32_t node, uint32_t attempt,
                          uint32_t lock_conflicts, Json output, const Status& commit);
  // A forward step's `succeeded` is durable: records its output and lets the scheduler go on.
  void MarkSucceeded(const std::shared_ptr<SagaRun>& run, uint32_t node, uint32_t attempt, Json output);
  // After attempt `attempt` of a forward step failed with `error` (nothing of it written): true if the step
  // should run again after a backoff; otherwise the node is finished here (back to pending when the executor is
  // stopping, or recorded as failed).
  bool RetryForward(const std::shared_ptr<SagaRun>& run, uint32_t node, const Status& error, uint32_t attempt);
  // Records a node's failure (and the saga's move to unwinding), then lets the scheduler unwind.
  void RecordFailure(const std::shared_ptr<SagaRun>& run, uint32_t node, const Status& error, uint32_t attempts);

  void RunUndoAttempt(std::shared_ptr<SagaRun> run, uint32_t node, uint32_t attempt, uint32_t lock_conflicts);
  void UndoSucceeded(const std::shared_ptr<SagaRun>& run, uint32_t node, uint32_t attempt);
  void UndoAttemptFailed(const std::shared_ptr<SagaRun>& run, uint32_t node, Status error, uint32_t attempt,
                         uint32_t lock_conflicts);
  void RecordUndoFailure(const std::shared_ptr<SagaRun>& run, uint32_t node, const Status& error, uint32_t attempts);

  // Whether a local step that met a lock-order conflict (WriteTxn::lock_conflict) should simply run again after
  // a short pause (*pause): such a conflict is not the step's failure and does not use up its retries. Bounded,
  // to rule out livelock.
  static constexpr uint32_t kMaxLockConflictRetries = 10'000;
  bool RetryLockConflict(uint32_t* conflicts, std::chrono::microseconds* pause);

  StepHost* const host_;
  Store* const store_;
  KeyLocks* const locks_;
  const ExecutorOptions* const options_;
  ThreadPool* const pool_;
  ExecutorCounters* const counters_;
};

// The constructors of log events.
SagaEvent MakeEvent(uint32_t node, EventType type, uint32_t attempts, int64_t start_ns);
SagaEvent ErrorEvent(uint32_t node, EventType type, const Status& error, uint32_t attempts, int64_t start_ns);

}  // namespace sagadb
