// Checks of the saga log that hold at every moment, a crash's included, and of what a crash or a power loss
// must not take away. The kit runs them on every database a fault left behind.
//
//   std::vector<std::string> violations = CheckLogs(store);          // as the crash left it, or after recovery
//   LogSnapshot at_cut = TakeLogSnapshot(store);                     // when the power goes off
//   ... power loss, reopen, recovery ...
//   violations = CheckLogKept(store, at_cut);
//
// Every check returns the violations it found, one readable line each, instead of failing at the first, so a
// report can show all of them together with the fault that produced them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/store.h"
#include "log/saga_log.h"

namespace sagadb::testing {

// The violations of "every saga's log decodes, replays legally with sequence numbers 1, 2, 3, ... (no event lost
// between two that survived), and its record's state is the one the log implies", in whatever state the sagas
// are.
std::vector<std::string> CheckLogs(Store& store);

// Every saga record's state, by id (records that do not decode are left out; CheckLogs reports them).
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
