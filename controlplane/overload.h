// The overload scenario of docs/DESIGN.md section 6: many concurrent instance-creates, each with many disks, while a
// fraction of every store read and write fails transiently (forward and undo alike), and, if asked, a fraction
// of the forward steps fails for good.
//
//   OverloadOptions options;              // 30 instances x 11 disks, 5% transient faults
//   options.name_prefix = "run-7";        // names must be unique in the database
//   options.permanent_rate = 0.005;       // and 1 forward step in 200 fails for good: its saga unwinds
//   Result<OverloadReport> r = RunOverloadScenario(*control_plane, options);
//   // required: r->stuck == 0 && r->unfinished == 0 && r->check.ok()
//
// Each saga creates its instance, its disks (record, volume, finalize), attaches them, sets the boot disk and
// stops the instance. It must end succeeded, or failed having unwound everything; nothing may be stuck, every
// invariant must hold afterwards (Check, quiescent) and nothing may be leaked. A permanent fault only ever hits
// a forward step (the executor's fault plan, sagas/fault_plan.h), so a saga it fails unwinds under the same
// transient faults as every other, and must leave nothing behind.
//
// It lives beside Check (recovery/) because its verdict is Check's: sagas/ cannot depend on recovery/.
//
// REQUIRES: nothing else uses the control plane's store while the scenario runs: its fault injector is
// installed on the store for the duration (and always removed before returning), and the final check treats the
// database as quiescent.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sagadb/status.h"
#include "sagadb/check.h"
#include "sagadb/control_plane.h"

namespace sagadb {

struct OverloadProgress {
  int done = 0;  // sagas ended (or given up on) so far
  int total = 0;
  int succeeded = 0;
  int failed = 0;
  int stuck = 0;
};

struct OverloadOptions {
  int instances = 30;
  int disks_per_instance = 11;  // 0-12
  double fail_rate = 0.05;      // of store reads and writes, each failing with Transient
  double permanent_rate = 0;    // of forward steps, each failing instead of running, with kPermanentFault
  uint64_t seed = 1;
  int concurrency = 30;         // instance-creates in flight at once
  std::string name_prefix = "overload";  // instance i is "<prefix>-<i>", its disks "<prefix>-<i>-d<j>"
  uint64_t disk_size_bytes = 1ull << 30;  // sparse: costs no space
  // Called after each saga ends, one call at a time, from the scenario's worker threads.
  std::function<void(const OverloadProgress&)> progress;
};

// The message of an injected permanent fault (followed by " at <node>"); a saga it failed has it as its error.
inline constexpr const char* kPermanentFault = "injected permanent fault";

struct OverloadReport {
  int succeeded = 0;
  int failed = 0;      // unwound cleanly (Check says whether that is true)
  int failed_permanent = 0;  // of those, failed by an injected permanent fault (the others: retries ran out)
  int stuck = 0;
  int unfinished = 0;  // could not be started, or halted (still running/unwinding in the database)
  std::vector<std::string> problems;  // what happened to the stuck and unfinished ones
  std::vector<std::string> failures;  // why the failed ones failed (node and error)
  std::chrono::duration<double> elapsed{0};  // first start to last end
  double sagas_per_second = 0;
  uint64_t injected_faults = 0;    // transient, in the store
  uint64_t permanent_faults = 0;   // forward steps failed for good (a saga may meet more than one)
  ExecutorStats executor;  // the executor's counters over the run (retries show the faults being absorbed)
  CheckReport check;

  // The required outcome.
  bool ok() const { return stuck == 0 && unfinished == 0 && check.ok(); }
};

// InvalidRequest for options out of range (counts, prefix that is not a valid name); otherwise the report, with
// whatever went wrong inside it.
Result<OverloadReport> RunOverloadScenario(ControlPlane& control_plane, const OverloadOptions& options);

// "30 sagas in 0.84 s (35.7/s): 25 succeeded, 5 failed (4 by permanent faults), 0 stuck, 0 unfinished; 412
// transient and 4 permanent faults injected, 97 action / 3 undo / 12 log / 2 lock-conflict retries; check: ok".
std::string Summarize(const OverloadReport& report);

// The executor's counters over a run: `now` less `before`, every counter.
ExecutorStats StatsSince(const ExecutorStats& now, const ExecutorStats& before);

}  // namespace sagadb
