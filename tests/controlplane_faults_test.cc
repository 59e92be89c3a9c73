// Every control-plane saga through the crash-test kit (sagadb/testing/kit.h): at every action node an error
// instead of the action, an error after it (after a local action staged its writes, after an external one's
// effect), and every read it makes failing; every action and every undo run twice; transient undo failures
// retried through and a permanent one leaving the saga stuck; and the process crashed, or the power cut, at every
// durable write and effect, recovery included. Whatever happens, a saga ends succeeded or failed (stuck only
// when an undo failed for good), a failed saga leaves the world exactly as it found it, and Check (quiescent)
// finds nothing. The sagas and their checks: tests/controlplane_kit.h.
#include <gtest/gtest.h>

#include <algorithm>

#include "controlplane/disk_sagas.h"
#include "controlplane/instance_sagas.h"
#include "sagadb/testing/gtest.h"
#include "tests/controlplane_kit.h"
#include "tests/controlplane_test_util.h"

namespace sagadb {
namespace {

using testing::ControlPlaneTest;
using testing::InstanceRequest;
using testing::World;

class SagaKitTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SagaKitTest, EveryFaultAtEveryNodeAndEveryWriteEndsCleanly) {
  testing::KitOptions o;
  o.local_actions_twice = true;  // the control plane's local actions are idempotent too: creates by planned ids
  testing::KitReport r = testing::RunKitInTest(testing::ControlPlaneSagaUnderTest(GetParam()), o);
  EXPECT_GT(r.CountCases("fail-action"), 0u);
  EXPECT_EQ(r.CountCases("fail-action"), r.CountCases("fail-after"));
  EXPECT_GT(r.CountCases("crash"), 0u);
}

std::string KindName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(EverySaga, SagaKitTest,
                         ::testing::Values(kDiskCreateSaga, kInstanceCreateSaga, kInstanceDeleteSaga, kDiskDeleteSaga,
                                           kDiskAttachSaga, kDiskDetachSaga),
                         KindName);

// The size docs/TESTING.md measures: instance-create with 11 disks, every phase. A measurement, not run by
// default (the 2-disk instance-create above covers the same code):
//   controlplane_faults_test --gtest_also_run_disabled_tests --gtest_filter='SagaKitSizeTest.*' 
TEST(SagaKitSizeTest, DISABLED_InstanceCreateWithElevenDisks) {
  testing::KitOptions o;
  o.local_actions_twice = true;
  testing::KitReport r = testing::RunKitInTest(testing::ControlPlaneSagaUnderTest(kInstanceCreateSaga, 11), o);
  EXPECT_EQ(r.effects, 11u);  // the volumes
}

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
