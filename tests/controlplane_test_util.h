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

#include "engine/datastore.h"
#include "engine/store.h"
#include "recovery/check.h"
#include "sagas/controlplane/control_plane.h"
#include "sagas/saga_log.h"
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

  // Opens (or reopens) the database in the subdirectory `name` of the scratch directory.
  void Open(const std::string& name, ExecutorOptions options = FastOptions());
  static ExecutorOptions FastOptions();

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
  std::unique_ptr<Store> store_;
  std::unique_ptr<Datastore> datastore_;
  std::unique_ptr<ControlPlane> cp_;
};

inline constexpr char kProject[] = "proj";
inline constexpr uint64_t kDiskSize = 1ull << 30;  // sparse: costs no space

InstanceCreateRequest InstanceRequest(const std::string& name, int disks);

}  // namespace sagadb::testing
