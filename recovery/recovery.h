// Recovery: finishing every saga that a crash interrupted, before any new saga is accepted.
//
//   RecoveryReport report;
//   std::vector<SagaHandle> handles;
//   SAGADB_RETURN_IF_ERROR(RecoverSagas(executor, registry, &report, &handles));   // resumes, does not wait
//   WaitForRecoveredSagas(handles, &report);                                      // all have ended
//
// Every saga that the index lists as in flight (log/saga_index.h) and whose record says `running` or `unwinding`
// is loaded, its node states rebuilt from its events
// (log/replay.h), validated, and resumed on the executor: forward if no node failed, otherwise unwinding.
// `started` external nodes run again, as do `undo_started` undos. A saga whose record or log is impossible or
// corrupt, or whose DAG names an action the registry does not know, is marked `stuck` with the reason (one
// synced write); it never stops the recovery of the others.
//
// Only the index's in-flight entries are read, so an open costs O(sagas in flight), not O(history). The index
// must exist: a database without one (schema version 1) has it built first (log/index_migration.h).
//
// Recovery is crash-safe because it writes nothing of its own except the `stuck` marks: everything else is the
// executor's normal, atomic log writes, so a crash during recovery leaves a state that the next recovery
// resumes in the same way.
#pragma once

#include <vector>

#include "sagadb/database.h"
#include "sagadb/logger.h"
#include "sagadb/status.h"
#include "sagas/executor.h"

namespace sagadb {

// Resumes every interrupted saga on `executor` and returns handles to them in `handles`; with `retry_paused`,
// paused sagas too (SagaExecutor::ResumeSaga, logged as a resume by "sagadb").
Status RecoverSagas(SagaExecutor& executor, const ActionRegistry& registry, RecoveryReport* report,
                    std::vector<SagaHandle>* handles, bool retry_paused = true);

// Waits for the handles RecoverSagas returned and records how each saga ended.
void WaitForRecoveredSagas(const std::vector<SagaHandle>& handles, RecoveryReport* report);

// What every open does: RecoverSagas, then (if `wait`) WaitForRecoveredSagas, then tells `logger` (if any) the
// summary when there was anything to recover.
Status RecoverAtOpen(SagaExecutor& executor, const ActionRegistry& registry, bool wait, bool retry_paused,
                     Logger* logger, RecoveryReport* report);

}  // namespace sagadb
