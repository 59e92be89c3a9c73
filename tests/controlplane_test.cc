// The control-plane sagas doing what they promise when nothing goes wrong, and refusing what they must.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "controlplane/disk_sagas.h"
#include "controlplane/instance_sagas.h"
#include "controlplane/params.h"
#include "controlplane/volumes.h"
#include "tests/controlplane_test_util.h"

namespace sagadb {
namespace {

using testing::ControlPlaneTest;
using testing::InstanceRequest;
using testing::kDiskSize;
using testing::kProject;

using CreateInstanceTest = ControlPlaneTest;
using DeleteTest = ControlPlaneTest;
using AttachDetachTest = ControlPlaneTest;

TEST_F(CreateInstanceTest, CreatesTheInstanceStoppedWithEveryDiskAttachedAndTheFirstAsBootDisk) {
  auto params = *PlanInstanceCreate(InstanceRequest("web", 3));
  SagaResult r = Wait(CreateInstance(params));
  ASSERT_EQ(r.state, SagaState::kSucceeded) << r.error.ToString();
  EXPECT_EQ(r.output.at("instance_id"), params.instance_id.ToString());

  auto inst = datastore_->GetInstance(params.instance_id);
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(inst->state, InstanceState::kStopped);
  EXPECT_EQ(inst->boot_disk_id, params.disks[0].disk_id);
  EXPECT_EQ(inst->saga_id, r.id);
  ASSERT_EQ(inst->attached.size(), 3u);
  std::set<int> slots;
  for (const auto& d : params.disks) {
    auto disk = datastore_->GetDisk(d.disk_id);
    ASSERT_TRUE(disk.ok());
    EXPECT_EQ(disk->state, DiskState::kAttached);
    EXPECT_EQ(disk->instance_id, params.instance_id);
    EXPECT_EQ(disk->saga_id, r.id);
    slots.insert(disk->slot);
    const std::string volume = VolumePath(cp_->volumes_dir(), d.disk_id);
    ASSERT_TRUE(std::filesystem::exists(volume)) << volume;
    EXPECT_EQ(std::filesystem::file_size(volume), kDiskSize);
  }
  EXPECT_EQ(slots, (std::set<int>{0, 1, 2}));
  ExpectClean();
}

TEST_F(CreateInstanceTest, AnInstanceWithoutDisksIsCreatedStoppedWithNoBootDisk) {
  auto params = *PlanInstanceCreate(InstanceRequest("bare", 0));
  SagaResult r = Wait(CreateInstance(params));
  ASSERT_EQ(r.state, SagaState::kSucceeded) << r.error.ToString();
  auto inst = datastore_->GetInstance(params.instance_id);
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(inst->state, InstanceState::kStopped);
  EXPECT_FALSE(inst->boot_disk_id.has_value());
  EXPECT_TRUE(inst->attached.empty());
  ExpectClean();
}

TEST_F(CreateInstanceTest, TwelveDisksFitAndEveryOneGetsItsOwnSlot) {
  auto params = *PlanInstanceCreate(InstanceRequest("big", 12));
  SagaResult r = Wait(CreateInstance(params));
  ASSERT_EQ(r.state, SagaState::kSucceeded) << r.error.ToString();
  auto inst = datastore_->GetInstance(params.instance_id);
  ASSERT_TRUE(inst.ok());
  ASSERT_EQ(inst->attached.size(), 12u);
  for (int s = 0; s < 12; ++s) EXPECT_EQ(inst->attached[s].slot, s);
  EXPECT_EQ(Now().volumes.size(), 12u);
  ExpectClean();
}

TEST_F(CreateInstanceTest, InvalidRequestsAreRefusedBeforeAnythingIsWritten) {
  struct Case {
    std::string why;
    InstanceCreateRequest request;
  };
  std::vector<Case> cases;
  cases.push_back({"thirteen disks", InstanceRequest("many", 13)});
  cases.push_back({"bad instance name", InstanceRequest("Web_1", 1)});
  cases.push_back({"bad project", InstanceRequest("web", 1)});
  cases.back().request.project = "-p";
  cases.push_back({"bad disk name", InstanceRequest("web", 1)});
  cases.back().request.disks[0].name = "9disk";
  cases.push_back({"zero size", InstanceRequest("web", 2)});
  cases.back().request.disks[1].size_bytes = 0;
  cases.push_back({"duplicate disk names", InstanceRequest("web", 2)});
  cases.back().request.disks[1].name = cases.back().request.disks[0].name;
  cases.push_back({"no cpus", InstanceRequest("web", 1)});
  cases.back().request.cpus = 0;
  cases.push_back({"no memory", InstanceRequest("web", 1)});
  cases.back().request.memory_bytes = 0;

  const uint64_t writes = store_->synced_writes();
  for (const auto& c : cases) {
    auto h = CreateInstance(c.request);
    ASSERT_FALSE(h.ok()) << c.why;
    EXPECT_EQ(h.status().code(), Code::kInvalidRequest) << c.why << ": " << h.status().ToString();
  }
  EXPECT_EQ(store_->synced_writes(), writes);
  EXPECT_EQ(store_->write_attempts(), 0u);
  EXPECT_EQ(Now(), testing::World{});
}

TEST_F(CreateInstanceTest, AnInstanceNameInUseFailsTheSagaAndLeavesTheFirstInstanceAlone) {
  CreateInstanceOk("dup", 1);
  const testing::World before = Now();
  auto second = *PlanInstanceCreate(InstanceRequest("dup", 0));
  second.disks.push_back(DiskCreateParams{Uuid::Generate(), kProject, "other-disk", kDiskSize});
  SagaResult r = Wait(CreateInstance(second));
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_node, "instance");
  EXPECT_EQ(r.error.code(), Code::kConflict);
  EXPECT_EQ(Now(), before);
  ExpectClean();
}

TEST_F(CreateInstanceTest, ADiskNameInUseUnwindsTheOtherDisksAndTheInstance) {
  CreateDiskOk("taken");
  const testing::World before = Now();
  auto params = *PlanInstanceCreate(InstanceRequest("web", 3));
  params.disks[2].name = "taken";
  SagaResult r = Wait(CreateInstance(params));
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_node, "disk_2.record");
  EXPECT_EQ(r.error.code(), Code::kConflict);
  EXPECT_EQ(Now(), before);
  ExpectClean();
}

TEST_F(CreateInstanceTest, TheDagHasOneCreateAndOneAttachPerDiskThenBootAndStop) {
  auto params = *PlanInstanceCreate(InstanceRequest("shape", 2));
  auto dag = InstanceCreateDag(params);
  ASSERT_TRUE(dag.ok());
  EXPECT_EQ(testing::ActionNodes(*dag),
            (std::vector<std::string>{"instance", "disk_0.record", "disk_0.volume", "disk_0.finalize",
                                      "disk_1.record", "disk_1.volume", "disk_1.finalize", "attach_0.attach",
                                      "attach_1.attach", "set_boot", "stop"}));
  auto bare = InstanceCreateDag(*PlanInstanceCreate(InstanceRequest("shape", 0)));
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(testing::ActionNodes(*bare), (std::vector<std::string>{"instance", "stop"}));
}

TEST_F(DeleteTest, DeletingAnInstanceLeavesItsDisksDetachedWithTheirVolumes) {
  auto params = CreateInstanceOk("gone", 2);
  SagaResult r = Wait(cp_->DeleteInstance(params.instance_id));
  ASSERT_EQ(r.state, SagaState::kSucceeded) << r.error_node << ": " << r.error.ToString();
  EXPECT_EQ(datastore_->GetInstance(params.instance_id)->state, InstanceState::kDestroyed);
  EXPECT_FALSE(datastore_->LookupInstance(kProject, "gone").ok());  // the name is free again
  for (const auto& d : params.disks) {
    auto disk = datastore_->GetDisk(d.disk_id);
    EXPECT_EQ(disk->state, DiskState::kDetached);
    EXPECT_FALSE(disk->instance_id.has_value());
  }
  EXPECT_EQ(Now().volumes.size(), 2u);
  ExpectClean();
}

TEST_F(DeleteTest, DeletingADiskDestroysItAndRemovesItsVolume) {
  auto disk = CreateDiskOk("scratch");
  ASSERT_TRUE(std::filesystem::exists(VolumePath(cp_->volumes_dir(), disk.disk_id)));
  SagaResult r = Wait(cp_->DeleteDisk(disk.disk_id));
  ASSERT_EQ(r.state, SagaState::kSucceeded) << r.error.ToString();
  EXPECT_EQ(datastore_->GetDisk(disk.disk_id)->state, DiskState::kDestroyed);
  EXPECT_FALSE(std::filesystem::exists(VolumePath(cp_->volumes_dir(), disk.disk_id)));
  EXPECT_EQ(Now(), testing::World{});
  ExpectClean();
}

TEST_F(DeleteTest, RefusedDeletesWriteNothing) {
  auto params = CreateInstanceOk("busy", 1);
  auto creating = datastore_->CreateInstance(InstanceSpec{Uuid::Generate(), kProject, "half", 1, 1 << 20, {}});
  ASSERT_TRUE(creating.ok());
  const uint64_t writes = store_->synced_writes();

  auto attached = cp_->DeleteDisk(params.disks[0].disk_id);
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.status().message(), "disk cannot be deleted in state \"attached\"");
  auto in_creation = cp_->DeleteInstance(creating->id);
  ASSERT_FALSE(in_creation.ok());
  EXPECT_EQ(in_creation.status().code(), Code::kInvalidRequest);
  EXPECT_EQ(cp_->DeleteInstance(Uuid::Generate()).status().code(), Code::kNotFound);
  EXPECT_EQ(cp_->DeleteDisk(Uuid::Generate()).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->synced_writes(), writes);
}

TEST_F(DeleteTest, TheDeleteSagaChecksTheInstanceStateAgainInItsFirstStep) {
  // ControlPlane::DeleteInstance checks the state before starting, but the instance can change before the saga's
  // first step runs; that step checks again, under the instance's lock, before taking anything apart.
  auto again = CreateInstanceOk("moving", 1);
  ASSERT_TRUE(datastore_->SetInstanceState(again.instance_id, std::vector<InstanceState>{InstanceState::kStopped},
                                           InstanceState::kRunning).ok());
  const testing::World before = Now();
  InstanceDeleteParams p{again.instance_id, {again.disks[0].disk_id}};
  SagaResult r = Wait(executor().Start(*InstanceDeleteDag(p), Json(p)));
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_node, "clear_boot");
  EXPECT_EQ(r.error.message(), "instance cannot be deleted in state \"running\"");
  EXPECT_EQ(Now(), before);
}

TEST_F(AttachDetachTest, ADiskMovesBetweenInstancesByDetachAndAttach) {
  auto a = CreateInstanceOk("a", 2);
  auto b = CreateInstanceOk("b", 1);
  const Uuid disk = a.disks[1].disk_id;

  SagaResult taken = Wait(cp_->AttachDisk(disk, b.instance_id));
  EXPECT_EQ(taken.state, SagaState::kFailed);
  EXPECT_EQ(taken.error.message(), "disk is attached to another instance");

  ASSERT_EQ(Wait(cp_->DetachDisk(disk, a.instance_id)).state, SagaState::kSucceeded);
  EXPECT_EQ(datastore_->GetDisk(disk)->state, DiskState::kDetached);
  ASSERT_EQ(Wait(cp_->AttachDisk(disk, b.instance_id)).state, SagaState::kSucceeded);
  auto moved = datastore_->GetDisk(disk);
  EXPECT_EQ(moved->instance_id, b.instance_id);
  EXPECT_EQ(moved->slot, 1);
  EXPECT_EQ(datastore_->GetInstance(a.instance_id)->attached.size(), 1u);
  EXPECT_EQ(datastore_->GetInstance(b.instance_id)->attached.size(), 2u);
  ExpectClean();
}

TEST_F(AttachDetachTest, TheBootDiskCannotBeDetached) {
  auto a = CreateInstanceOk("a", 2);
  const testing::World before = Now();
  SagaResult r = Wait(cp_->DetachDisk(a.disks[0].disk_id, a.instance_id));
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error.code(), Code::kConflict);
  EXPECT_EQ(r.error.message(), "boot disk cannot be detached");
  EXPECT_EQ(Now(), before);
  ExpectClean();
}

TEST_F(AttachDetachTest, AttachingAndDetachingAreIdempotent) {
  auto a = CreateInstanceOk("a", 2);
  const Uuid disk = a.disks[1].disk_id;
  const testing::World before = Now();
  EXPECT_EQ(Wait(cp_->AttachDisk(disk, a.instance_id)).state, SagaState::kSucceeded);
  EXPECT_EQ(Now(), before);
  EXPECT_EQ(Wait(cp_->DetachDisk(disk, a.instance_id)).state, SagaState::kSucceeded);
  EXPECT_EQ(Wait(cp_->DetachDisk(disk, a.instance_id)).state, SagaState::kSucceeded);
  EXPECT_EQ(datastore_->GetDisk(disk)->state, DiskState::kDetached);
  ExpectClean();
}

// The instance's disks by slot.
std::map<int, Uuid> Slots(const Datastore& ds, const Uuid& instance) {
  std::map<int, Uuid> slots;
  for (const auto& a : testing::Must(ds.GetInstance(instance)).attached) slots[a.slot] = a.disk_id;
  return slots;
}

TEST_F(AttachDetachTest, UndoingADetachPutsTheDiskBackInTheSlotItLeft) {
  auto vm = CreateInstanceOk("vm", 3);
  const std::map<int, Uuid> slots = Slots(*datastore_, vm.instance_id);
  ASSERT_EQ(slots.size(), 3u);
  ASSERT_TRUE(slots.contains(0) && slots.contains(1) && slots.contains(2));
  // The slot-2 disk boots, so that the others may be detached.
  testing::Must(datastore_->SetBootDisk(vm.instance_id, slots.at(2)));
  const testing::World before = Now();

  // Detach the slot-0 disk, then the slot-1 disk, then the boot disk, which is refused: the saga unwinds, undoing
  // the slot-1 disk's detach first. Put back at the lowest free slot, it would take slot 0.
  DagBuilder b("detach-three");
  std::vector<NodeSpec> params;
  for (int slot : {0, 1, 2}) {
    params.push_back(NodeSpec::Constant(fmt::format("p{}", slot), Json(DiskAttachParams{slots.at(slot), vm.instance_id})));
  }
  b.AppendParallel(std::move(params));
  for (int slot : {0, 1, 2}) {
    b.Append(NodeSpec::Subsaga(fmt::format("detach_{}", slot), DiskDetachDag(), fmt::format("p{}", slot)));
  }
  SagaResult r = Wait(cp_->database().Start(testing::Must(b.Build()), Json::object()));
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_node, "detach_2.detach");
  EXPECT_EQ(r.error.message(), "boot disk cannot be detached");

  EXPECT_EQ(Slots(*datastore_, vm.instance_id), slots);
  for (const auto& [slot, disk] : slots) EXPECT_EQ(datastore_->GetDisk(disk)->slot, slot);
  EXPECT_EQ(datastore_->GetInstance(vm.instance_id)->boot_disk_id, slots.at(2));
  EXPECT_EQ(Now(), before);
  ExpectClean();
}

TEST_F(DeleteTest, AnInstanceDeleteThatUnwindsPutsEveryDiskAndTheBootDiskBackWhereTheyWere) {
  auto vm = CreateInstanceOk("vm", 3);
  std::map<int, Uuid> slots = Slots(*datastore_, vm.instance_id);
  ASSERT_EQ(slots.size(), 3u);
  // Slots 0 and 2 taken, 1 free, and the slot-2 disk boots.
  testing::Must(datastore_->SetBootDisk(vm.instance_id, slots.at(2)));
  testing::Must(datastore_->DetachDisk(slots.at(1), vm.instance_id));
  slots.erase(1);
  const testing::World before = Now();

  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("delete", Status::InvalidRequest("injected"));
  executor().SetFaultPlan(plan);
  SagaResult r = Wait(cp_->DeleteInstance(vm.instance_id));
  executor().SetFaultPlan(nullptr);
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_node, "delete");

  // The boot disk is back at slot 2, not at the free slot 1.
  EXPECT_EQ(Slots(*datastore_, vm.instance_id), slots);
  EXPECT_EQ(datastore_->GetInstance(vm.instance_id)->boot_disk_id, slots.at(2));
  EXPECT_EQ(datastore_->GetDisk(slots.at(2))->slot, 2);
  EXPECT_EQ(Now(), before);
  ExpectClean();
}

// disk-delete's undo: the disk comes back with its name, unless someone took the name meanwhile.
TEST_F(DeleteTest, ARestoredDiskTakesItsNameBackUnlessItWasTaken) {
  auto x = CreateDiskOk("x");
  ASSERT_TRUE(datastore_->DeleteDisk(x.disk_id).ok());
  auto restore = [&] {
    WriteTxn txn = NewTxn();
    auto d = datastore_->StageRestoreDisk(txn, x.disk_id, DiskState::kDetached);
    if (d.ok() && !txn.empty()) {
      EXPECT_TRUE(txn.Commit().ok());
    }
    return d;
  };
  auto taker = datastore_->CreateDisk(DiskSpec{Uuid::Generate(), kProject, "x", 1 << 20, {}});
  ASSERT_TRUE(taker.ok());
  auto refused = restore();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kConflict);

  ASSERT_TRUE(
      datastore_->SetDiskState(taker->id, std::vector<DiskState>{DiskState::kCreating}, DiskState::kDetached).ok());
  ASSERT_TRUE(datastore_->DeleteDisk(taker->id).ok());
  auto restored = restore();
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->state, DiskState::kDetached);
  EXPECT_EQ(datastore_->LookupDisk(kProject, "x").value(), x.disk_id);
  EXPECT_TRUE(restore().ok());  // already restored: no write
}

TEST(VolumesTest, AVolumeIsNamedByItsDiskIdAlone) {
  const Uuid id = *Uuid::Parse("0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a10");
  EXPECT_EQ(VolumePath("/v", id), "/v/0b/0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a10.vol");
  EXPECT_EQ(VolumeDiskId("0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a10.vol"), id);
  EXPECT_FALSE(VolumeDiskId("0B6C2A1E-8A7F-4C3E-9D41-5F0E2B7C9A10.vol").has_value());
  EXPECT_FALSE(VolumeDiskId("0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a10").has_value());
  EXPECT_FALSE(VolumeDiskId("notes.txt").has_value());
  EXPECT_EQ(VolumesDirFor("/var/db"), "/var/db/volumes");
}

TEST(VolumesTest, CreateAndRemoveAreIdempotent) {
  testing::ScratchDir dir;
  const std::string vols = dir.Sub("volumes");
  const Uuid id = Uuid::Generate();
  ASSERT_TRUE(CreateVolume(vols, id, 4096).ok());
  ASSERT_TRUE(CreateVolume(vols, id, 4096).ok());
  EXPECT_EQ(std::filesystem::file_size(VolumePath(vols, id)), 4096u);
  auto listing = ListVolumes(vols);
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->volumes.size(), 1u);
  const std::string id_text = id.ToString();
  EXPECT_EQ(listing->volumes.at(id), id_text.substr(0, 2) + "/" + id_text + ".vol");
  EXPECT_TRUE(listing->other_files.empty());
  ASSERT_TRUE(RemoveVolume(vols, id).ok());
  ASSERT_TRUE(RemoveVolume(vols, id).ok());
  EXPECT_FALSE(std::filesystem::exists(VolumePath(vols, id)));
}

// The process remembers which volume directories it made durable; one removed since (the database deleted and
// made again at the same path, or restored from a copy) is made again instead of failing every create after.
TEST(VolumesTest, AVolumesDirectoryRemovedWhileTheProcessLivesIsMadeAgain) {
  testing::ScratchDir dir;
  const std::string vols = dir.Sub("volumes");
  const Uuid id = Uuid::Generate();
  ASSERT_TRUE(CreateVolume(vols, id, 4096).ok());
  std::filesystem::remove_all(vols);
  Status again = CreateVolume(vols, id, 4096);
  ASSERT_TRUE(again.ok()) << again.ToString();
  EXPECT_TRUE(std::filesystem::exists(VolumePath(vols, id)));
}

TEST(VolumesTest, ListingSeesEveryShardAndReportsWhatIsOutOfPlace) {
  testing::ScratchDir dir;
  const std::string vols = dir.Sub("volumes");
  std::vector<Uuid> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(Uuid::Generate());  // spread over many subdirectories
  for (const Uuid& id : ids) ASSERT_TRUE(CreateVolume(vols, id, 1 << 20).ok());
  namespace fs = std::filesystem;
  // A volume-named file in the wrong subdirectory, one at the top level, a stray file, a non-shard directory.
  const Uuid misplaced = *Uuid::Parse("0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a10");
  fs::create_directories(fs::path(vols) / "ff");
  std::ofstream(fs::path(vols) / "ff" / (misplaced.ToString() + ".vol")).put('x');
  std::ofstream(fs::path(vols) / (misplaced.ToString() + ".vol")).put('x');
  std::ofstream(fs::path(vols) / ids[0].ToString().substr(0, 2) / "notes.txt").put('x');
  fs::create_directories(fs::path(vols) / "scratch");

  auto listing = ListVolumes(vols);
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  EXPECT_EQ(listing->volumes.size(), ids.size());
  for (const Uuid& id : ids) EXPECT_EQ(listing->volumes.count(id), 1u) << id.ToString();
  EXPECT_EQ(listing->volumes.count(misplaced), 0u);
  std::vector<std::string> want = {misplaced.ToString() + ".vol", ids[0].ToString().substr(0, 2) + "/notes.txt",
                                   "ff/" + misplaced.ToString() + ".vol", "scratch"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(listing->other_files, want);  // sorted by ListVolumes
}

}  // namespace
}  // namespace sagadb
