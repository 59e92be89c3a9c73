#include "controlplane/overload.h"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "controlplane/check.h"
#include "controlplane/datastore.h"
#include "controlplane/names.h"
#include "db/database_impl.h"
#include "engine/fault_injector.h"
#include "sagas/fault_plan.h"

namespace sagadb {
namespace {

// Installs the injector for the scenario's duration; removal cannot be skipped by an early return.
class InstalledHooks {
 public:
  InstalledHooks(Store* store, StoreHooks* hooks) : store_(store) { store_->SetHooks(hooks); }
  ~InstalledHooks() { Remove(); }
  InstalledHooks(const InstalledHooks&) = delete;
  InstalledHooks& operator=(const InstalledHooks&) = delete;
  void Remove() {
    if (store_ != nullptr) store_->SetHooks(nullptr);
    store_ = nullptr;
  }

 private:
  Store* store_;
};

// Gives the executor the plan of permanent faults for the scenario's duration, when there is one.
class InstalledPlan {
 public:
  InstalledPlan(SagaExecutor* executor, std::shared_ptr<FaultPlan> plan) : executor_(plan ? executor : nullptr) {
    if (executor_ != nullptr) executor_->SetFaultPlan(std::move(plan));
  }
  ~InstalledPlan() { Remove(); }
  InstalledPlan(const InstalledPlan&) = delete;
  InstalledPlan& operator=(const InstalledPlan&) = delete;
  void Remove() {
    if (executor_ != nullptr) executor_->SetFaultPlan(nullptr);
    executor_ = nullptr;
  }

 private:
  SagaExecutor* executor_;
};

Status ValidateOptions(const OverloadOptions& o) {
  if (o.instances <= 0) return Status::InvalidRequest("the scenario needs at least one instance");
  if (o.disks_per_instance < 0 || o.disks_per_instance > kMaxDisksPerInstance) {
    return Status::InvalidRequest(fmt::format("disks per instance must be 0-{}", kMaxDisksPerInstance));
  }
  if (o.fail_rate < 0 || o.fail_rate >= 1) return Status::InvalidRequest("fail_rate must be in [0, 1)");
  if (o.permanent_rate < 0 || o.permanent_rate >= 1) return Status::InvalidRequest("permanent_rate must be in [0, 1)");
  if (o.concurrency <= 0) return Status::InvalidRequest("concurrency must be at least 1");
  if (o.disk_size_bytes == 0) return Status::InvalidRequest("disk size must be greater than zero");
  // The longest name the scenario makes must be valid too.
  return ValidateName(fmt::format("{}-{}-d{}", o.name_prefix, o.instances, o.disks_per_instance), "name prefix");
}

InstanceCreateRequest RequestFor(const OverloadOptions& o, int i) {
  InstanceCreateRequest r;
  r.project = "overload";
  r.name = fmt::format("{}-{}", o.name_prefix, i);
  r.cpus = 2;
  r.memory_bytes = 1ull << 30;
  for (int j = 0; j < o.disks_per_instance; ++j) {
    r.disks.push_back(DiskRequest{fmt::format("{}-{}-d{}", o.name_prefix, i, j), o.disk_size_bytes});
  }
  return r;
}

}  // namespace

ExecutorStats StatsSince(const ExecutorStats& now, const ExecutorStats& before) {
  // Every counter, by name: a counter added to ExecutorStats must be added here too (its size says so).
  static_assert(sizeof(ExecutorStats) == 14 * sizeof(uint64_t), "StatsSince must subtract every counter");
  ExecutorStats d;
  d.started = now.started - before.started;
  d.resumed = now.resumed - before.resumed;
  d.succeeded = now.succeeded - before.succeeded;
  d.failed = now.failed - before.failed;
  d.stuck = now.stuck - before.stuck;
  d.paused = now.paused - before.paused;
  d.cancelled = now.cancelled - before.cancelled;
  d.halted = now.halted - before.halted;
  d.rejected = now.rejected - before.rejected;
  d.action_retries = now.action_retries - before.action_retries;
  d.undo_retries = now.undo_retries - before.undo_retries;
  d.log_retries = now.log_retries - before.log_retries;
  d.lock_conflict_retries = now.lock_conflict_retries - before.lock_conflict_retries;
  d.rounds = now.rounds - before.rounds;
  return d;
}

Result<OverloadReport> RunOverloadScenario(ControlPlane& cp, const OverloadOptions& options) {
  SAGADB_RETURN_IF_ERROR(ValidateOptions(options));
  Store* store = cp.datastore().store();
  Database& db = cp.database();
  OverloadReport report;
  const ExecutorStats stats_before = db.stats();

  FaultInjector faults;
  faults.SetTransientRate(options.fail_rate, options.seed);
  InstalledHooks installed(store, &faults);
  std::shared_ptr<FaultPlan> permanent;
  if (options.permanent_rate > 0) {
    permanent = std::make_shared<FaultPlan>();
    // Its own stream of the seed: the store's faults and these do not draw from one sequence.
    permanent->FailActionsAtRate(options.permanent_rate, Status::InvalidRequest(kPermanentFault),
                                 options.seed ^ 0x9e3779b97f4a7c15ull);
  }
  InstalledPlan installed_plan(&db.impl().executor(), permanent);

  std::mutex mu;  // guards report counters, problems and progress calls
  OverloadProgress progress;
  progress.total = options.instances;
  auto record = [&](SagaState state, std::string problem, bool by_permanent_fault = false) {
    std::lock_guard lock(mu);
    switch (state) {
      case SagaState::kSucceeded: report.succeeded++; break;
      case SagaState::kFailed:
        report.failed++;
        if (by_permanent_fault) report.failed_permanent++;
        break;
      case SagaState::kStuck: report.stuck++; break;
      default: report.unfinished++; break;
    }
    if (!problem.empty()) {
      (state == SagaState::kFailed ? report.failures : report.problems).push_back(std::move(problem));
    }
    progress.done++;
    progress.succeeded = report.succeeded;
    progress.failed = report.failed;
    progress.stuck = report.stuck;
    if (options.progress) options.progress(progress);
  };

  auto run_one = [&](int i) {
    const InstanceCreateRequest request = RequestFor(options, i);
    StartOptions start;
    start.admission_wait = std::chrono::seconds(60);
    // Starting writes the saga record, which the injector may refuse too; nothing is written then, so retry.
    Result<SagaHandle> handle = Status::Internal("not started");
    for (int attempt = 1; attempt <= 10; ++attempt) {
      handle = cp.CreateInstance(request, start);
      if (handle.ok() || !handle.status().IsRetryable()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt));
    }
    if (!handle.ok()) {
      return record(SagaState::kRunning, fmt::format("{}: not started: {}", request.name, handle.status().ToString()));
    }
    auto result = handle->Wait();
    if (!result.ok()) {
      return record(SagaState::kRunning, fmt::format("{}: halted: {}", request.name, result.status().ToString()));
    }
    std::string problem;
    if (result->state == SagaState::kStuck || result->state == SagaState::kFailed) {
      problem = fmt::format("{}: saga {} {} at {}: {}", request.name, result->id.ToString(), ToString(result->state),
                            result->error_node, result->error.ToString());
    }
    record(result->state, std::move(problem), result->error.message().starts_with(kPermanentFault));
  };

  const auto began = std::chrono::steady_clock::now();
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < std::min(options.concurrency, options.instances); ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < options.instances; i = next++) run_one(i);
    });
  }
  for (auto& t : workers) t.join();
  report.elapsed = std::chrono::steady_clock::now() - began;

  installed.Remove();
  installed_plan.Remove();
  db.WaitIdle();
  report.injected_faults = faults.injected_failures();
  report.permanent_faults = permanent ? permanent->rate_faults() : 0;
  report.executor = StatsSince(db.stats(), stats_before);
  report.sagas_per_second = report.elapsed.count() > 0 ? options.instances / report.elapsed.count() : 0;
  CheckOptions check;
  check.quiescent = true;
  report.check = Check(*store, cp.volumes_dir(), check);
  return report;
}

std::string Summarize(const OverloadReport& r) {
  return fmt::format(
      "{} sagas in {:.2f} s ({:.1f}/s): {} succeeded, {} failed ({} by permanent faults), {} stuck, {} unfinished; "
      "{} transient and {} permanent faults injected, {} action / {} undo / {} log / {} lock-conflict retries; "
      "check: {}",
      r.succeeded + r.failed + r.stuck + r.unfinished, r.elapsed.count(), r.sagas_per_second, r.succeeded, r.failed,
      r.failed_permanent, r.stuck, r.unfinished, r.injected_faults, r.permanent_faults, r.executor.action_retries,
      r.executor.undo_retries, r.executor.log_retries, r.executor.lock_conflict_retries,
      r.check.ok() ? "ok" : fmt::format("{} violation(s)", r.check.violations.size()));
}

}  // namespace sagadb
