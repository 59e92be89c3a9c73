// The scheduler: which nodes of a saga can run (or be undone) now, decided from the nodes' states alone. A round
// (sagas/round.h) asks it again after every step it runs, so a chain of local steps runs in one round.
//
//   MutexLock lock(&run.mu);
//   ResolvePseudoNodes(run);
//   for (uint32_t node : ReadyToRun(run)) ... run it into the round
//
// Forward: a node may run once every dependency has succeeded or is staged in the open round (both commit
// together or neither does: a local step may build on its parent's writes before they are durable). Constant
// and subsaga nodes resolve as soon as their dependencies have. The saga is done once every node has.
// Unwinding: a node's undo may run once every child of it has nothing left to undo (never run, failed, or
// undone, durably or in the open round), so undos run children first; a node whose `started` is durable but
// whose outcome is not is run to its end first, then undone. The saga has unwound once nothing it did remains
// and nothing is in flight.
#pragma once

#include <vector>

#include "sagas/saga_run.h"

namespace sagadb {

// Resolves every constant and subsaga node whose dependencies have succeeded or are staged: its output, and for
// a subsaga's start node the scope's params. Their status follows their dependencies': staged while any is.
void ResolvePseudoNodes(SagaRun& run) REQUIRES(run.mu);
// After a round was written or dropped: a staged constant or subsaga node becomes succeeded once all its
// dependencies are, or pending again if one of them is no longer staged. REQUIRES: in DAG order, so call it
// once the action nodes are settled.
void SettlePseudoNodes(SagaRun& run) REQUIRES(run.mu);

// Pending action nodes whose dependencies have succeeded or are staged, in DAG order.
std::vector<uint32_t> ReadyToRun(const SagaRun& run) REQUIRES(run.mu);
// Every node has succeeded or is staged.
bool AllRan(const SagaRun& run) REQUIRES(run.mu);

// Succeeded nodes whose children have nothing left to undo, in reverse DAG order. Constant and subsaga nodes are
// included (they are undone without a step of their own).
std::vector<uint32_t> ReadyToUndo(const SagaRun& run) REQUIRES(run.mu);
// Pending external nodes whose `started` is durable: they run to their end before the unwind goes past them.
std::vector<uint32_t> StartedButUnfinished(const SagaRun& run) REQUIRES(run.mu);
// Nothing the saga did remains to be undone, and no step of it is in flight or waiting.
bool Unwound(const SagaRun& run) REQUIRES(run.mu);

// Whether the node's outcome, in or out of the log, counts as done for its dependants (succeeded or staged).
bool Ran(NodeStatus status);
// Whether a child in this state still holds something its parent's undo must wait for.
bool UndoBlocks(const NodeRt& child);

}  // namespace sagadb
