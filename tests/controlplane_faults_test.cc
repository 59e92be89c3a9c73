// Every control-plane saga, attacked at every action node: an error instead of the action, an error after a
// local action staged its writes, every action and every undo run twice, transient undo failures. Whatever
// happens, a saga ends succeeded or failed, a failed saga leaves the world exactly as it found it, and Check
// (quiescent) finds nothing.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <functional>

#include "controlplane/disk_sagas.h"
#include "controlplane/instance_sagas.h"
#include "tests/controlplane_test_util.h"

namespace sagadb {
namespace {

using testing::ControlPlaneTest;
using testing::InstanceRequest;
using testing::kDiskSize;
using testing::kProject;
using testing::World;

// One saga of a given kind with all its params planned (so it can be set up and run again, with the same ids,
// in another database).
struct SagaCase {
  SagaDag dag;                                // for its node names
  std::function<void()> setup;                // what the saga acts on, created without faults
  std::function<Result<SagaHandle>()> start;
};

class SagaFaultTest : public ControlPlaneTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void RunOk(const Result<SagaHandle>& h) {
    SagaResult r = Wait(h);
    ASSERT_EQ(r.state, SagaState::kSucceeded) << r.error_node << ": " << r.error.ToString();
  }

  // Names begin with `tag`, so each case in one database is independent of the others.
  SagaCase PlanCase(const std::string& tag) {
    const std::string& kind = GetParam();
    SagaCase c;
    c.setup = [] {};
    if (kind == kDiskCreateSaga) {
      auto p = *PlanDiskCreate(DiskCreateRequest{kProject, tag + "-d", kDiskSize});
      c.dag = DiskCreateDag();
      c.start = [this, p] { return CreateDisk(p); };
    } else if (kind == kInstanceCreateSaga) {
      auto p = *PlanInstanceCreate(InstanceRequest(tag, 2));
      c.dag = *InstanceCreateDag(p);
      c.start = [this, p] { return CreateInstance(p); };
    } else if (kind == kInstanceDeleteSaga) {
      auto p = *PlanInstanceCreate(InstanceRequest(tag, 2));
      c.dag = *InstanceDeleteDag(InstanceDeleteParams{p.instance_id, {p.disks[0].disk_id, p.disks[1].disk_id}});
      c.setup = [this, p] { RunOk(CreateInstance(p)); };
      c.start = [this, p] { return cp_->DeleteInstance(p.instance_id); };
    } else if (kind == kDiskDeleteSaga) {
      auto p = *PlanDiskCreate(DiskCreateRequest{kProject, tag + "-d", kDiskSize});
      c.dag = DiskDeleteDag();
      c.setup = [this, p] { RunOk(CreateDisk(p)); };
      c.start = [this, p] { return cp_->DeleteDisk(p.disk_id); };
    } else if (kind == kDiskAttachSaga) {
      auto inst = *PlanInstanceCreate(InstanceRequest(tag, 1));
      auto disk = *PlanDiskCreate(DiskCreateRequest{kProject, tag + "-x", kDiskSize});
      c.dag = DiskAttachDag();
      c.setup = [this, inst, disk] {
        RunOk(CreateInstance(inst));
        RunOk(CreateDisk(disk));
      };
      c.start = [this, inst, disk] { return cp_->AttachDisk(disk.disk_id, inst.instance_id); };
    } else if (kind == kDiskDetachSaga) {
      auto inst = *PlanInstanceCreate(InstanceRequest(tag, 2));
      c.dag = DiskDetachDag();
      c.setup = [this, inst] { RunOk(CreateInstance(inst)); };
      c.start = [this, inst] { return cp_->DetachDisk(inst.disks[1].disk_id, inst.instance_id); };
    } else {
      ADD_FAILURE() << "no case for saga kind " << kind;
    }
    return c;
  }

  // The action node that runs last: failing it makes every other node unwind.
  std::string LastNode() { return testing::ActionNodes(PlanCase("probe").dag).back(); }

  // Sets the case up, runs it under `plan`, and asserts it failed at `failing_node` and left nothing behind.
  SagaResult ExpectFailsCleanly(const SagaCase& c, std::shared_ptr<FaultPlan> plan, const std::string& failing_node) {
    executor().SetFaultPlan(nullptr);  // node names repeat across kinds: the setup's sagas run unharmed
    c.setup();
    const World before = Now();
    executor().SetFaultPlan(std::move(plan));
    SagaResult r = Wait(c.start());
    executor().SetFaultPlan(nullptr);
    EXPECT_EQ(r.state, SagaState::kFailed) << r.error_node << ": " << r.error.ToString();
    EXPECT_EQ(r.error_node, failing_node);
    EXPECT_EQ(Now(), before) << "a failed saga left the world changed";
    EXPECT_FALSE(HasUndoFailed(r.id));
    ExpectClean();
    return r;
  }
};

TEST_P(SagaFaultTest, AnErrorInsteadOfAnyActionEndsTheSagaFailedWithNothingLeftBehind) {
  const auto nodes = testing::ActionNodes(PlanCase("probe").dag);
  for (size_t i = 0; i < nodes.size(); ++i) {
    SCOPED_TRACE(nodes[i]);
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAction(nodes[i], Status::InvalidRequest("injected"));
    SagaResult r = ExpectFailsCleanly(PlanCase(fmt::format("n{}", i)), plan, nodes[i]);
    EXPECT_EQ(r.error.message(), "injected");
  }
}

TEST_P(SagaFaultTest, AnErrorAfterALocalActionStagedItsWritesCommitsNoneOfThem) {
  const auto nodes = testing::LocalActionNodes(PlanCase("probe").dag, registry());
  ASSERT_FALSE(nodes.empty());
  for (size_t i = 0; i < nodes.size(); ++i) {
    SCOPED_TRACE(nodes[i]);
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAfterStage(nodes[i], Status::Internal("injected after staging"));
    ExpectFailsCleanly(PlanCase(fmt::format("s{}", i)), plan, nodes[i]);
  }
}

TEST_P(SagaFaultTest, EveryActionRunTwiceReachesTheSameEndStateAsOnce) {
  SagaCase c = PlanCase("twice");
  Open("once");
  c.setup();
  RunOk(c.start());
  const World once = Now();
  ExpectClean();

  Open("twice");
  c.setup();
  auto plan = std::make_shared<FaultPlan>();
  plan->RunActionTwice(FaultPlan::kEveryNode);
  executor().SetFaultPlan(plan);
  RunOk(c.start());
  EXPECT_EQ(Now(), once);
  ExpectClean();

  // And unwinding over actions that each ran twice gives everything back.
  plan->FailAction(LastNode(), Status::InvalidRequest("injected"));
  ExpectFailsCleanly(PlanCase("again"), plan, LastNode());
}

std::string KindName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(EverySaga, SagaFaultTest,
                         ::testing::Values(kDiskCreateSaga, kInstanceCreateSaga, kInstanceDeleteSaga, kDiskDeleteSaga,
                                           kDiskAttachSaga, kDiskDetachSaga),
                         KindName);

// The undo suites, for the sagas that have something to unwind. A one-node saga (disk-attach, disk-detach) never
// undoes anything: its only node failing is all there is. Their undos run where they are embedded as subsagas,
// in instance-create (attach_<i>.attach) and instance-delete (detach_<i>.detach), and are attacked there.
class UnwindTest : public SagaFaultTest {};

TEST_P(UnwindTest, EveryUndoRunTwiceDuringAnUnwindLeavesNothingBehind) {
  auto plan = std::make_shared<FaultPlan>();
  plan->RunUndoTwice(FaultPlan::kEveryNode);
  plan->FailAction(LastNode(), Status::InvalidRequest("injected"));
  ExpectFailsCleanly(PlanCase("undo"), plan, LastNode());
}

TEST_P(UnwindTest, TransientUndoFailuresAreRetriedAndTheUnwindCompletes) {
  const auto nodes = testing::ActionNodes(PlanCase("probe").dag);
  ASSERT_GT(nodes.size(), 1u);
  for (size_t i = 0; i + 1 < nodes.size(); ++i) {  // every node but the last is undone when the last one fails
    SCOPED_TRACE(nodes[i]);
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAction(LastNode(), Status::InvalidRequest("injected"));
    plan->FailUndo(nodes[i], Status::Transient("injected: all claims are used"), 3);
    const uint64_t retries = executor().stats().undo_retries;
    ExpectFailsCleanly(PlanCase(fmt::format("u{}", i)), plan, LastNode());
    EXPECT_EQ(executor().stats().undo_retries - retries, 3u);
  }
}

INSTANTIATE_TEST_SUITE_P(EverySagaWithSteps, UnwindTest,
                         ::testing::Values(kDiskCreateSaga, kInstanceCreateSaga, kInstanceDeleteSaga, kDiskDeleteSaga),
                         KindName);

// The bug that motivated sagadb: a step committed its attach, then failed on one more fallible operation, was
// recorded as failed, so its undo never ran, and the disk stayed attached and blocked the rest of the unwind.
using AttachRegressionTest = ControlPlaneTest;

TEST_F(AttachRegressionTest, AnAttachThatFailsAfterStagingLeavesTheDiskUnattachedAndTheUnwindCompletes) {
  auto params = *PlanInstanceCreate(InstanceRequest("web", 2));
  const World before = Now();
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAfterStage("attach_1.attach", Status::Transient("injected: all claims are used"));
  executor().SetFaultPlan(plan);
  SagaResult r = Wait(CreateInstance(params));
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_node, "attach_1.attach");
  EXPECT_EQ(NodeStatus(r.id, "attach_1.attach"), LoggedStatus::kFailed);
  EXPECT_EQ(NodeStatus(r.id, "attach_0.attach"), LoggedStatus::kUndone);
  for (const auto& d : params.disks) EXPECT_EQ(datastore_->GetDisk(d.disk_id)->state, DiskState::kDestroyed);
  EXPECT_EQ(datastore_->GetInstance(params.instance_id)->state, InstanceState::kDestroyed);
  EXPECT_FALSE(HasUndoFailed(r.id));
  EXPECT_EQ(Now(), before);
  ExpectClean();
}

TEST_F(AttachRegressionTest, AFailureRightAfterAnAttachCommittedUndoesTheAttach) {
  auto params = *PlanInstanceCreate(InstanceRequest("web", 2));
  const World before = Now();
  auto plan = std::make_shared<FaultPlan>();
  // set_boot runs right after the attaches committed; it fails for good.
  plan->FailAction("set_boot", Status::IOError("injected: the connection went away"));
  executor().SetFaultPlan(plan);
  SagaResult r = Wait(CreateInstance(params));
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_node, "set_boot");
  EXPECT_EQ(NodeStatus(r.id, "attach_0.attach"), LoggedStatus::kUndone);
  EXPECT_EQ(NodeStatus(r.id, "attach_1.attach"), LoggedStatus::kUndone);
  EXPECT_EQ(NodeStatus(r.id, "disk_0.record"), LoggedStatus::kUndone);
  EXPECT_EQ(NodeStatus(r.id, "instance"), LoggedStatus::kUndone);
  for (const auto& d : params.disks) {
    auto disk = datastore_->GetDisk(d.disk_id);
    EXPECT_EQ(disk->state, DiskState::kDestroyed);
    EXPECT_FALSE(disk->instance_id.has_value());
  }
  auto inst = datastore_->GetInstance(params.instance_id);
  EXPECT_EQ(inst->state, InstanceState::kDestroyed);
  EXPECT_TRUE(inst->attached.empty());
  EXPECT_FALSE(HasUndoFailed(r.id));
  EXPECT_EQ(Now(), before);
  ExpectClean();
}

}  // namespace
}  // namespace sagadb
