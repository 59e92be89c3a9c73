// SagaDriver: moves sagas forward in rounds. A round is everything a saga can do now without waiting for
// anything outside the database, committed as ONE synced batch:
//   - the outcomes its external steps reported since the last round (their `succeeded`, `failed`,
//     `undo_finished`, `undo_failed`);
//   - every local step that is ready, run one after the other into one txn (each behind a savepoint, so a step
//     that fails takes back only its own writes), with its `succeeded` (an undo's `undo_finished`); a local step
//     whose parents ran in this very round builds on their staged writes, and both commit together or neither;
//   - the `started` (`undo_started`) of every external step that is ready, which runs once the round is durable;
//   - the saga record when it changed: the saga's creation rides its first round, its final state its last.
// A chain of local steps therefore costs one synced write, and an instance-create with its disks a handful.
//
//   driver.Kick(run);   // something changed for the saga (it started, an external step ended, a retry is due)
//
// One round of a saga is built or written at a time: a kick while one is under way makes another follow it. A
// round's batch is all or nothing (the commit queue, log/commit_queue.h): when it fails, its local steps run
// again (a transient failure counts as an attempt of each) and the outcomes it carried go out with the next.
// The log's meaning is the one docs/DESIGN.md section 3 gives it: nothing of a step is visible before its
// outcome is durable, an external step's `started` is durable before it runs and its `succeeded` before any
// child's effect is, and the saga's mode (unwinding, stuck) changes only once the record of the change is
// durable, so no undo is ever logged before the failure that caused it.
//
// Thread safety: all methods may be called concurrently, for any saga.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/thread_pool.h"
#include "engine/key_locks.h"
#include "engine/store.h"
#include "engine/write_txn.h"
#include "sagadb/database.h"
#include "sagadb/options.h"
#include "sagas/fault_plan.h"
#include "sagas/metrics.h"
#include "sagas/saga_run.h"

namespace sagadb {

// The executor's counters, bumped without a lock; `metrics` has the figures by kind, outcome and action.
struct ExecutorCounters {
  std::atomic<uint64_t> started{0}, resumed{0}, succeeded{0}, failed{0}, stuck{0}, halted{0}, rejected{0};
  std::atomic<uint64_t> paused{0}, cancelled{0};
  std::atomic<uint64_t> action_retries{0}, undo_retries{0}, log_retries{0}, lock_conflict_retries{0};
  std::atomic<uint64_t> rounds{0};
  SagaMetrics metrics;
  ExecutorStats Snapshot() const;
};

// What the driver needs from the executor.
class DriverHost {
 public:
  virtual ~DriverHost() = default;
  // The saga has ended (or halted: run->halted says why): the run completes. Called once per run.
  virtual void Complete(const std::shared_ptr<SagaRun>& run, std::optional<SagaResult> result) REQUIRES(run->mu) = 0;
  // The executor is shutting down: nothing new starts, steps stop retrying.
  virtual bool stopping() const = 0;
  virtual std::shared_ptr<FaultPlan> faults() const = 0;
};

class SagaDriver {
 public:
  // Every pointer must outlive the driver.
  SagaDriver(DriverHost* host, Store* store, KeyLocks* locks, const ExecutorOptions* options, ThreadPool* pool,
             ExecutorCounters* counters)
      : host_(host), store_(store), locks_(locks), options_(options), pool_(pool), counters_(counters) {}

  // Builds and writes a round for the saga now, on this thread, unless one is under way (then another follows
  // it). Rounds after this one run on the pool.
  void Kick(const std::shared_ptr<SagaRun>& run) EXCLUDES(run->mu);

 private:
  // What one round writes, and what it changes in the run once written.
  struct Round {
    std::unique_ptr<WriteTxn> txn;  // the local steps' writes, and their record locks
    std::vector<SagaEvent> events;  // in the order they happened
    std::optional<SagaRecord> record;
    bool creates = false;                    // the saga's first record
    std::optional<SagaState> finish;         // `record` is the final one
    SagaResult result;                       // with finish
    std::vector<uint32_t> staged;            // local forward steps run into txn
    std::vector<uint32_t> undone;            // local undos run into txn, and pseudo nodes undone with them
    std::vector<uint32_t> outcomes;          // nodes whose stored outcome event is in `events`
    std::vector<uint32_t> starting;          // external steps whose `started` is in `events`
    std::vector<uint32_t> undo_starting;     // external undos whose `undo_started` is in `events`
    std::vector<uint32_t> launch;            // external steps to run once the round is written (or at once)
    std::vector<uint32_t> launch_undo;
    bool cancel = false;                     // the operator's cancel is in `events`
  };

  // Kicks on the pool (on this thread next, if it is a pool thread).
  void KickLater(const std::shared_ptr<SagaRun>& run);
  // Gathers the round; false if there is nothing to write.
  bool Build(const std::shared_ptr<SagaRun>& run, Round* round) EXCLUDES(run->mu);
  void BuildForward(const std::shared_ptr<SagaRun>& run, Round* round) REQUIRES(run->mu);
  void BuildUnwind(const std::shared_ptr<SagaRun>& run, Round* round) REQUIRES(run->mu);
  // Runs a ready local step into the round's txn. False when the round should stop taking local steps (a
  // record lock was met out of order: the round commits to give its locks back).
  bool RunLocal(const std::shared_ptr<SagaRun>& run, uint32_t node, Round* round) REQUIRES(run->mu);
  bool RunLocalUndo(const std::shared_ptr<SagaRun>& run, uint32_t node, Round* round) REQUIRES(run->mu);
  // The round is written (or failed to be).
  void Written(const std::shared_ptr<SagaRun>& run, Round& round, const Status& st) EXCLUDES(run->mu);
  void Applied(const std::shared_ptr<SagaRun>& run, Round& round) REQUIRES(run->mu);
  void Dropped(const std::shared_ptr<SagaRun>& run, Round& round, const Status& st) REQUIRES(run->mu);
  // Completes the run if nothing more can happen. REQUIRES: no round being built or written.
  void MaybeComplete(const std::shared_ptr<SagaRun>& run) REQUIRES(run->mu);
  // Moves every outcome reported since (an external step's, or a failure) into the round.
  void CollectOutcomes(SagaRun& run, Round* round) REQUIRES(run.mu);
  // The final record of a saga that ends in `state`, and its result.
  void Finish(SagaRun& run, SagaState state, Round* round) REQUIRES(run.mu);

  // External steps, on the pool.
  void RunExternal(std::shared_ptr<SagaRun> run, uint32_t node, uint32_t attempt);
  void RunExternalUndo(std::shared_ptr<SagaRun> run, uint32_t node, uint32_t attempt);

  // The node failed for good: its `failed` joins the next round with the saga record now unwinding.
  void RecordFailure(SagaRun& run, uint32_t node, const Status& error, uint32_t attempts) REQUIRES(run.mu);
  // Its undo failed for good, or (`error` retryable) its retries ran out: `undo_failed` joins the next round
  // with the record now stuck, or paused.
  void RecordUndoFailure(SagaRun& run, uint32_t node, const Status& error, uint32_t attempts) REQUIRES(run.mu);
  // A step that failed transiently runs again after `delay`: the node waits (a task of the run) until then.
  void RetryAfter(const std::shared_ptr<SagaRun>& run, uint32_t node, std::chrono::microseconds delay)
      REQUIRES(run->mu);

  // Whether a local step that met a lock-order conflict should simply run again after a short pause: such a
  // conflict is not the step's failure and does not use up its retries. Bounded, to rule out livelock.
  static constexpr uint32_t kMaxLockConflictRetries = 10'000;
  std::chrono::microseconds LockConflictPause(NodeRt& node);

  DriverHost* const host_;
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
