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
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/datastore.h"
#include "engine/store.h"
#include "sagadb/action.h"
#include "sagadb/dag.h"
#include "sagadb/domain.h"
#include "sagas/executor.h"

namespace sagadb::testing {

struct TestApp {
  std::string files_dir;  // where external actions create their files
  std::atomic<int> active{0};      // sagas between their first and last node
  std::atomic<int> max_active{0};
  // Called with the node's qualified name as test.disk, test.file and test.lookup begin (may block). Set it
  // before any saga runs.
  std::function<void(const std::string& node)> on_action;
};

// Registers test.disk (local), test.file (external), test.lookup (local), test.enter / test.leave (local, count
// active sagas). The actions keep `app`, which must outlive them. The local ones stage the control plane's
// records through ctx.txn(), so the database needs its tables (TestTables()).
void RegisterTestActions(ActionRegistry* registry, TestApp* app);

// The tables the test actions write: the control plane's.
std::vector<std::string> TestTables();
// A domain with the test actions (on `app`) and the tables they write, for Database::Open.
std::shared_ptr<BasicDomain> TestDomain(TestApp* app);

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
