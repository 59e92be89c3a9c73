// A sample saga and test actions for the executor and recovery suites.
//
// The sample DAG (kind "sample"), with params {"tag": "..."}:
//   a                       local: creates disk "<tag>-a"
//   b | c | sub             b: local disk; c: external file; sub: a subsaga with params from a's output:
//                             sub.x (local disk "<tag>-sub-x"), then sub.y (external file)
//   d                       local: creates disk "<tag>-d" after reading b's and sub's outputs
// Every action is idempotent and every undo removes exactly what its action made, so after a failed saga the
// store must hold no live disk of the saga and the directory no file.
#pragma once

#include <atomic>
#include <string>

#include "engine/datastore.h"
#include "engine/store.h"
#include "sagas/action.h"
#include "sagas/dag.h"
#include "sagas/executor.h"

namespace sagadb::testing {

struct TestApp {
  std::string files_dir;  // where external actions create their files
  std::atomic<int> active{0};      // sagas between their first and last node
  std::atomic<int> max_active{0};
};

// Registers test.disk (local), test.file (external), test.enter / test.leave (local, count active sagas).
void RegisterTestActions(ActionRegistry* registry);

SagaDag SampleDag();
// A chain of n local disk-creating nodes: n0 -> n1 -> ... (for write counting).
SagaDag ChainDag(int n);
// enter -> work -> leave, counting concurrently active sagas in TestApp.
SagaDag CountingDag();

// The action node names of SampleDag, qualified.
std::vector<std::string> SampleActionNodes();

// Live (not destroyed) disks whose name starts with `tag`.
int LiveDisksWithTag(const Datastore& ds, const std::string& tag);
// Files in the directory.
int FileCount(const std::string& dir);

}  // namespace sagadb::testing
