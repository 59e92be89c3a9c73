// Recovery: finishing every saga that a crash interrupted, before any new saga is accepted.
//
//   RecoveryReport report;
//   SAGADB_RETURN_IF_ERROR(RecoverSagas(store, executor, registry, &report));   // resumes, does not wait
//   executor.WaitIdle();                                                       // all have ended
//
// Every saga whose record says `running` or `unwinding` is loaded, its node states rebuilt from its events
// (sagas/saga_log.h), validated, and resumed on the executor: forward if no node failed, otherwise unwinding.
// `started` external nodes run again, as do `undo_started` undos. A saga whose record or log is impossible or
// corrupt, or whose DAG names an action the registry does not know, is marked `stuck` with the reason (one
// synced write); it never stops the recovery of the others.
//
// Recovery is crash-safe because it writes nothing of its own except the `stuck` marks: everything else is the
// executor's normal, atomic log writes, so a crash during recovery leaves a state that the next recovery
// resumes in the same way.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/store.h"
#include "sagas/action.h"
#include "sagas/executor.h"

namespace sagadb {

struct RecoveryReport {
  size_t scanned = 0;                    // saga records read
  std::vector<Uuid> resumed_forward;     // running, no node failed
  std::vector<Uuid> resumed_unwinding;   // a node had failed
  std::vector<Uuid> marked_stuck;        // impossible log, corrupt record or unknown action
  std::vector<std::string> stuck_reasons;  // parallel to marked_stuck
  std::vector<std::string> unreadable;   // keys whose record could not be decoded at all (left as they are)
  // Filled by WaitForRecoveredSagas: how the resumed sagas ended.
  std::vector<Uuid> finished_succeeded;
  std::vector<Uuid> finished_failed;
  std::vector<Uuid> finished_stuck;
  std::vector<Uuid> halted;
  double load_seconds = 0;    // reading and validating the logs
  double finish_seconds = 0;  // from the start of recovery until every resumed saga ended

  bool empty() const { return resumed_forward.empty() && resumed_unwinding.empty() && marked_stuck.empty(); }
  // One line: "recovery: 3 resumed forward, 1 unwinding, 0 marked stuck; 4 finished (...)".
  std::string Summary() const;
};

// Resumes every interrupted saga on `executor` and returns handles to them in `handles`.
Status RecoverSagas(Store& store, SagaExecutor& executor, const ActionRegistry& registry, RecoveryReport* report,
                    std::vector<SagaHandle>* handles);

// Waits for the handles RecoverSagas returned and records how each saga ended.
void WaitForRecoveredSagas(const std::vector<SagaHandle>& handles, RecoveryReport* report);

// What every open does: RecoverSagas, then (if `wait`) WaitForRecoveredSagas, then hands the summary to `log`
// (or one line on stderr when `log` is empty) if there was anything to recover.
Status RecoverAtOpen(Store& store, SagaExecutor& executor, const ActionRegistry& registry, bool wait,
                     const std::function<void(std::string_view)>& log, RecoveryReport* report);

}  // namespace sagadb
