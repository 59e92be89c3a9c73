// SagaExecutor: runs sagas, durably, with undo on failure.
//
//   SagaExecutor executor(&store, &locks, &registry, ExecutorOptions{});
//   Result<SagaHandle> h = executor.Start(dag, params);       // Overloaded at once if too many are in flight
//   Result<SagaResult> r = h->Wait();
//   // r->state: kSucceeded (r->output), kFailed (fully unwound; r->error_node, r->error),
//   //           kStuck (an undo failed for good; r->error_node, r->error)
//
// The log (docs/DESIGN.md section 3): a saga advances in rounds (sagas/round.h), each one synced batch: the
// saga's record when it changed (its creation rides the first round, its final state the last), the staged
// writes of every local step that was ready with their `succeeded` events, the outcomes its external steps
// reported, and the `started` of the external steps that run next. A local step that fails commits nothing and
// is recorded as `failed`. An external step's `started` is durable before it runs and its `succeeded` before
// any child's effect is. Undo works the same way with `undo_started` / `undo_finished`. A chain of local steps
// costs one synced write; an instance-create with eleven disks, a handful.
//
// The parts: the scheduler (sagas/scheduler.h) says which nodes are ready; the driver (sagas/round.h) builds,
// writes and applies rounds and runs external steps; this class admits sagas, keeps the runs and completes
// them.
//
// Failures: a forward action failing transiently is retried (ExecutorOptions::forward_retry) before the saga
// unwinds; an undo failing transiently is retried with exponential backoff (undo_retry). When those retries run
// out the saga is `paused`, durably, naming the node and the error (the next open and an operator's resume retry
// it); a permanent undo error makes it `stuck`. A write of the log itself
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
#include "sagas/round.h"

namespace sagadb {

class SagaExecutor : private DriverHost {
 public:
  // `store`, `locks` and `registry` must outlive the executor. `logger` may be null.
  SagaExecutor(Store* store, KeyLocks* locks, const ActionRegistry* registry, ExecutorOptions options,
               Logger* logger = nullptr);
  // Shutdown().
  ~SagaExecutor() override;
  SagaExecutor(const SagaExecutor&) = delete;
  SagaExecutor& operator=(const SagaExecutor&) = delete;

  // Admits the saga and runs its first round on the calling thread: when Start returns, the saga is durable
  // (its record, with whatever local steps were ready at once). Overloaded (nothing written) when max_in_flight
  // sagas are executing and no admission_wait was given or it ran out; InvalidRequest if the DAG names an action
  // the registry lacks; the store's error if the first round could not be written (nothing was).
  Result<SagaHandle> Start(const SagaDag& dag, Json params, const StartOptions& options = {}) EXCLUDES(mu_);
  // Start, then Wait.
  Result<SagaResult> Run(const SagaDag& dag, Json params, const StartOptions& options = {});

  // Recovery: continues a saga from its replayed log (forward if no node failed, otherwise unwinding). Not
  // subject to the admission limit, but counted in it. REQUIRES: history came from ReplaySagaLog(record, ...)
  // and every action of the DAG is registered. PrepareResume, then Launch.
  Result<SagaHandle> Resume(SagaRecord record, const SagaHistory& history) EXCLUDES(mu_);
  // Resume in two halves, so that recovery hears every refusal before any saga runs. PrepareResume builds the
  // run and changes nothing (Corruption when the record or an output in its log is damaged: that saga cannot
  // be resumed by any program); Launch schedules it (refused only while the executor shuts down).
  Result<std::shared_ptr<SagaRun>> PrepareResume(SagaRecord record, const SagaHistory& history);
  Result<SagaHandle> Launch(const std::shared_ptr<SagaRun>& run) EXCLUDES(mu_);

  // Operator controls (sagas/operator_controls.cc). Each is logged as an operator event of the saga, with the
  // request's actor and reason; a refused request writes nothing.
  //
  // Cancel: a running saga unwinds from where it is (steps in flight finish, then are undone). Returns once the
  // cancel is durable: a crash after that still ends in a complete unwind. Returns the state it leaves the saga
  // in: unwinding; for a saga unwinding, paused or stuck already, that state, with nothing written.
  // InvalidRequest for a saga that has ended; NotFound for none.
  Result<SagaState> Cancel(const Uuid& id, const OperatorRequest& request) EXCLUDES(mu_, start_ids_mu_);
  // Resume: a paused or stuck saga retries its failed undos and goes on unwinding; its handle says how that
  // ends. A saga resumed already gives the same handle. Refused if it is in another state, its log cannot be
  // replayed, or it names an action this program does not know.
  Result<SagaHandle> ResumeSaga(const Uuid& id, const OperatorRequest& request) EXCLUDES(mu_, start_ids_mu_);
  // Abandon: an operator gives up on a saga that has not ended and that this executor is not running (paused,
  // stuck, or halted); it becomes `abandoned` and nothing more is done for it.
  Result<SagaState> Abandon(const Uuid& id, AbandonKind kind, const OperatorRequest& request)
      EXCLUDES(mu_, start_ids_mu_);

  // Test seam: whether a cancel of the saga was accepted and waits for (or is in) its next round.
  bool CancelRequested(const Uuid& id) const EXCLUDES(mu_);

  // Blocks until no saga is executing.
  void WaitIdle() EXCLUDES(mu_);
  size_t in_flight() const EXCLUDES(mu_);
  ExecutorStats stats() const;
  // The counters behind stats(), with the figures by kind, outcome and action (sagadb/metrics.h).
  const ExecutorCounters& counters() const { return counters_; }

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
  // The run of a saga this executor is executing, or null.
  std::shared_ptr<SagaRun> Executing(const Uuid& id) const EXCLUDES(mu_);
  Status Admit(const StartOptions& options) EXCLUDES(mu_);
  void Release() EXCLUDES(mu_);
  enum class Tracked { kYes, kShuttingDown, kTaken };
  // Registers a run that is about to be scheduled. kTaken: a run of the same id is registered already (given in
  // `*existing`), and nothing was registered.
  Tracked Track(const std::shared_ptr<SagaRun>& run, bool resumed, std::shared_ptr<SagaRun>* existing = nullptr)
      EXCLUDES(mu_);
  // Unregisters a run that Track registered and that never ran.
  void Untrack(const std::shared_ptr<SagaRun>& run) EXCLUDES(mu_);
  // Start with a caller's id that a saga already has (in flight here, or in the log): that saga's handle when
  // `run` is the same saga (kind and params), Conflict otherwise. REQUIRES: neither run's lock is held.
  Result<SagaHandle> StartedBefore(const std::shared_ptr<SagaRun>& run, const std::shared_ptr<SagaRun>& existing);
  Result<SagaHandle> StartedBefore(const std::shared_ptr<SagaRun>& run, const SagaRecord& existing);

  // DriverHost.
  void Complete(const std::shared_ptr<SagaRun>& run, std::optional<SagaResult> result) override REQUIRES(run->mu);
  bool stopping() const override { return stop_.load(std::memory_order_acquire); }
  std::shared_ptr<FaultPlan> faults() const override EXCLUDES(mu_);

  Store* const store_;
  const ActionRegistry* const registry_;
  const ExecutorOptions options_;
  SagaLog log_;
  ExecutorCounters counters_;

  mutable Mutex mu_;
  // Held by a Start with a caller's id from its claim in runs_ to its look in the log (taken before mu_).
  Mutex start_ids_mu_ ACQUIRED_BEFORE(mu_);
  CondVar admission_cv_{&mu_};
  CondVar idle_cv_{&mu_};
  size_t in_flight_ GUARDED_BY(mu_) = 0;
  bool shutting_down_ GUARDED_BY(mu_) = false;
  std::unordered_map<Uuid, std::shared_ptr<SagaRun>> runs_ GUARDED_BY(mu_);
  std::shared_ptr<FaultPlan> faults_ GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};  // mirrors shutting_down_ for lock-free checks in steps

  SagaDriver driver_;
  ThreadPool pool_;  // declared last: destroyed (its threads joined) first
};

}  // namespace sagadb
