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
// `started` external nodes run again, as do `undo_started` undos.
//
// Never destroy what cannot be proved bad (docs/DESIGN.md section 4):
//   - A saga is marked `stuck` with the reason (one synced write) only on proof that it is damaged: its log
//     is impossible (log/replay.h), an event's or its record's bytes fail verification, or the executor finds
//     the record unusable (all Corruption). It never stops the recovery of the others.
//   - A saga whose DAG names actions the registry does not know is left exactly as it is and reported
//     (RecoveryReport::left_unknown): it belongs to another program, which resumes it when it opens the database.
//   - Any other error (a read that failed for I/O, a transient one, an executor that refuses for a reason that
//     is not Corruption) fails the open. Every saga is read and judged before anything is written, so such a
//     failure leaves the database as it was.
// A record that cannot be decoded at all cannot be marked: it is named in RecoveryReport::unreadable.
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

// The sagas in flight in `store` that recovery would leave alone for actions `registry` lacks, read without
// writing (works on an inspection store): what a program asks before it takes a database whose other sagas it
// must not touch. Records that cannot be read are skipped (recovery reports them); a read error is returned.
Result<std::vector<UnknownActionSaga>> FindUnknownActions(Store& store, const ActionRegistry& registry);
// "saga <id> (<kind>) needs a, b; saga ..." (the first few, then a count).
std::string DescribeUnknownActions(const std::vector<UnknownActionSaga>& sagas);

// Waits for the handles RecoverSagas returned and records how each saga ended.
void WaitForRecoveredSagas(const std::vector<SagaHandle>& handles, RecoveryReport* report);

// What every open does: RecoverSagas, then (if `wait`) WaitForRecoveredSagas, then tells `logger` (if any) the
// summary when there was anything to recover.
Status RecoverAtOpen(SagaExecutor& executor, const ActionRegistry& registry, bool wait, bool retry_paused,
                     Logger* logger, RecoveryReport* report);

}  // namespace sagadb
