// Checking a database after a crash: the invariants of docs/DESIGN.md section 5 that the sample saga's actions can
// break, and that nothing the crashed process saw as done, or the database acknowledged as durable, was lost.
//
//   auto db = Database::Open(options, {TestDomain(&app)});   // recovery runs
//   db->WaitIdle();
//   EndStateOptions opts{.files_dir = files};
//   std::vector<std::string> violations = CheckEndState(*db, opts, ReadOutcomes(outcomes_path));
//   EXPECT_THAT(violations, IsEmpty());
//
// Every check returns the violations it found, one readable line each, instead of asserting, so a test can
// print all of them together with the crash point that produced them.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "db/database_impl.h"
#include "log/saga_log.h"
#include "tests/crash_outcomes.h"

namespace sagadb::testing {

struct EndStateOptions {
  // Where the sample saga's external actions make their files. Empty: files are not checked (a power loss
  // rewinds the database but not them).
  std::string files_dir;
  // What a succeeded sample saga leaves: disks a, b, sub.x and d; files c and sub.y.
  int disks_per_saga = 4;
  int files_per_saga = 2;
};

// The violations of the end state that recovery must reach once no saga is executing:
//  - every saga ended `succeeded` or `failed` (none stuck, running or unwinding) and its record decodes;
//  - CheckLogs;
//  - a succeeded saga owns exactly disks_per_saga live disks and files_per_saga files, a failed one none;
//    no live disk or file belongs to anything but a succeeded saga;
//  - every saga in `seen` exists and is in the state seen.
std::vector<std::string> CheckEndState(Database& db, const EndStateOptions& options,
                                       std::span<const SeenOutcome> seen);

// The violations of "every saga's log decodes, replays legally with sequence numbers 1, 2, 3, ... (no event lost
// between two that survived), and its record's state is the one the log implies", in whatever state the sagas
// are: this holds at every moment, a crash's included.
std::vector<std::string> CheckLogs(Store& store);

// Every saga record's state, by id (records that do not decode are left out; CheckEndState reports them).
std::map<Uuid, SagaState> SagaStates(Store& store);

// What the database holds of the saga log at one moment: every record's state and every event.
struct LogSnapshot {
  std::map<Uuid, SagaState> states;
  std::map<Uuid, std::vector<LoggedEvent>> events;
};
LogSnapshot TakeLogSnapshot(Store& store);

// The violations of "nothing in `before` was lost": every saga of `before` still exists, one that had ended is
// still in the same state, and each event is still there under its sequence number, unchanged. Recovery may
// have added events and moved unfinished sagas on since.
std::vector<std::string> CheckLogKept(Store& store, const LogSnapshot& before);

}  // namespace sagadb::testing
