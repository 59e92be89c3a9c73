// Shared fixture of the control-plane suites: a database, a ControlPlane on it, and ways to look at the result.
//
// World is the live part of the database as a user sees it (instances and disks that are not destroyed, their
// states and attachments, and the volume files), so a test can say "a failed saga left the world as it found
// it" in one comparison. Attachments are compared as sets: which slot a disk gets depends on the order in which
// parallel attaches ran.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "controlplane/check.h"
#include "controlplane/control_plane.h"
#include "controlplane/datastore.h"
#include "controlplane/requests.h"
#include "db/database_impl.h"
#include "engine/store.h"
#include "log/saga_log.h"
#include "sagadb/control_plane.h"
#include "tests/test_util.h"

namespace sagadb::testing {

struct InstanceView {
  std::string name;
  InstanceState state = InstanceState::kCreating;
  std::optional<Uuid> boot_disk;
  std::set<Uuid> disks;
  bool operator==(const InstanceView&) const = default;
};

struct DiskView {
  std::string name;
  DiskState state = DiskState::kCreating;
  std::optional<Uuid> instance;
  bool operator==(const DiskView&) const = default;
};

struct World {
  std::map<Uuid, InstanceView> instances;
  std::map<Uuid, DiskView> disks;
  std::set<Uuid> volumes;
  bool operator==(const World&) const = default;
};
World ReadWorld(const Datastore& datastore, const std::string& volumes_dir);
void PrintTo(const World& world, std::ostream* os);

// The qualified names of a DAG's action nodes, in DAG order.
std::vector<std::string> ActionNodes(const SagaDag& dag);
// Those whose action is local.
std::vector<std::string> LocalActionNodes(const SagaDag& dag, const ActionRegistry& registry);

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override { Open("db"); }

  // Opens (or reopens) the database in the subdirectory `name` of the scratch directory: a database whose one
  // domain is the control plane (ControlPlane::Open), recovery included.
  void Open(const std::string& name, ExecutorOptions options = FastOptions());
  static ExecutorOptions FastOptions();

  // The database's executor and the actions it runs.
  SagaExecutor& executor() { return cp_->database().impl().executor(); }
  const ActionRegistry& registry() { return cp_->database().impl().registry(); }
  // A txn on the database's store with its record locks, as a local step gets one.
  WriteTxn NewTxn() { return WriteTxn(store_, &cp_->database().impl().locks()); }

  // instance-create and disk-create from a request, or from params planned by the test (which then knows every
  // id in advance).
  Result<SagaHandle> CreateInstance(const InstanceCreateRequest& request, const StartOptions& options = {}) {
    return cp_->CreateInstance(request, options);
  }
  Result<SagaHandle> CreateInstance(const InstanceCreateParams& params, const StartOptions& options = {}) {
    return StartInstanceCreate(*cp_, params, options);
  }
  Result<SagaHandle> CreateDisk(const DiskCreateRequest& request, const StartOptions& options = {}) {
    return cp_->CreateDisk(request, options);
  }
  Result<SagaHandle> CreateDisk(const DiskCreateParams& params, const StartOptions& options = {}) {
    return StartDiskCreate(*cp_, params, options);
  }

  // Waits for the saga; a start or wait error fails the test (and returns a result in state kRunning).
  SagaResult Wait(const Result<SagaHandle>& handle);

  World Now() const { return ReadWorld(*datastore_, cp_->volumes_dir()); }
  CheckReport CheckQuiescent() const;
  // Check with quiescent=true finds nothing.
  void ExpectClean() const;
  // The node's state in the saga's log (replayed), by qualified name.
  LoggedStatus NodeStatus(const Uuid& saga, const std::string& node) const;
  bool HasUndoFailed(const Uuid& saga) const;
  SagaRecord ReadSaga(const Uuid& saga) const;

  // Runs instance-create without faults; the test fails unless it succeeds.
  InstanceCreateParams CreateInstanceOk(const std::string& name, int disks);
  DiskCreateParams CreateDiskOk(const std::string& name);

  ScratchDir dir_;
  std::unique_ptr<ControlPlane> cp_;
  // The open database's store and the control plane's records (both owned by cp_).
  Store* store_ = nullptr;
  Datastore* datastore_ = nullptr;
};

inline constexpr char kProject[] = "proj";
inline constexpr uint64_t kDiskSize = 1ull << 30;  // sparse: costs no space

InstanceCreateRequest InstanceRequest(const std::string& name, int disks);

}  // namespace sagadb::testing
