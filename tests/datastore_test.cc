// Creating and reading records, and the state rules of instances and disks: what a new record holds, that
// reads name what is missing, and that a state change happens only from the states its caller allows.
#include "controlplane/datastore.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/datastore_fixture.h"

namespace sagadb::testing {
namespace {

using CreateTest = DatastoreTest;

DiskSpec MakeDiskSpec(const std::string& name) {
  DiskSpec spec;
  spec.id = Uuid::Generate();
  spec.project = kProject;
  spec.name = name;
  spec.size_bytes = 1ull << 30;
  return spec;
}

InstanceSpec MakeInstanceSpec(const std::string& name) {
  InstanceSpec spec;
  spec.id = Uuid::Generate();
  spec.project = kProject;
  spec.name = name;
  spec.cpus = 4;
  spec.memory_bytes = 8ull << 30;
  return spec;
}

TEST_F(CreateTest, ANewDiskIsCreatingAtGenerationOneWithItsNameIndexedInOneSyncedWrite) {
  DiskSpec spec = MakeDiskSpec("data");
  spec.saga_id = Uuid::Generate();
  const uint64_t writes = synced_writes();

  auto r = ds_->CreateDisk(spec);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  Disk want;
  want.id = spec.id;
  want.project = kProject;
  want.name = "data";
  want.state = DiskState::kCreating;
  want.size_bytes = 1ull << 30;
  want.instance_id = std::nullopt;
  want.slot = -1;
  want.generation = 1;
  want.created_ns = r->created_ns;
  want.modified_ns = r->created_ns;
  want.saga_id = spec.saga_id;
  EXPECT_EQ(*r, want);
  EXPECT_GT(r->created_ns, 0);
  EXPECT_EQ(Must(ds_->GetDisk(spec.id)), *r);
  EXPECT_EQ(Must(ds_->LookupDisk(kProject, "data")), spec.id);
}

TEST_F(CreateTest, ANewInstanceIsCreatingAtGenerationOneWithItsNameIndexedInOneSyncedWrite) {
  InstanceSpec spec = MakeInstanceSpec("vm");
  const uint64_t writes = synced_writes();

  auto r = ds_->CreateInstance(spec);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  Instance want;
  want.id = spec.id;
  want.project = kProject;
  want.name = "vm";
  want.state = InstanceState::kCreating;
  want.cpus = 4;
  want.memory_bytes = 8ull << 30;
  want.boot_disk_id = std::nullopt;
  want.attached = {};
  want.generation = 1;
  want.created_ns = r->created_ns;
  want.modified_ns = r->created_ns;
  want.saga_id = std::nullopt;
  EXPECT_EQ(*r, want);
  EXPECT_GT(r->created_ns, 0);
  EXPECT_EQ(Must(ds_->GetInstance(spec.id)), *r);
  EXPECT_EQ(Must(ds_->LookupInstance(kProject, "vm")), spec.id);
}

TEST_F(CreateTest, RepeatingACreateReturnsTheCurrentRecordAndWritesNothing) {
  DiskSpec disk_spec = MakeDiskSpec("data");
  InstanceSpec vm_spec = MakeInstanceSpec("vm");
  Must(ds_->CreateDisk(disk_spec));
  Must(ds_->CreateInstance(vm_spec));
  const DiskState creating[] = {DiskState::kCreating};
  Disk disk_now = Must(ds_->SetDiskState(disk_spec.id, creating, DiskState::kDetached));
  const Instance vm_now = Must(ds_->GetInstance(vm_spec.id));
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();

  auto disk_again = ds_->CreateDisk(disk_spec);
  auto vm_again = ds_->CreateInstance(vm_spec);

  ASSERT_EQ(disk_again.status(), Status::OK());
  ASSERT_EQ(vm_again.status(), Status::OK());
  EXPECT_EQ(*disk_again, disk_now);
  EXPECT_EQ(*vm_again, vm_now);
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(CreateTest, ReusingAnIdUnderAnotherNameIsAConflict) {
  DiskSpec disk_spec = MakeDiskSpec("data");
  InstanceSpec vm_spec = MakeInstanceSpec("vm");
  Must(ds_->CreateDisk(disk_spec));
  Must(ds_->CreateInstance(vm_spec));
  const auto before = RawContents(*store_);
  disk_spec.name = "other";
  vm_spec.name = "other";

  EXPECT_EQ(ds_->CreateDisk(disk_spec).status(),
            Status::Conflict("disk id " + disk_spec.id.ToString() + " is already in use"));
  EXPECT_EQ(ds_->CreateInstance(vm_spec).status(),
            Status::Conflict("instance id " + vm_spec.id.ToString() + " is already in use"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(CreateTest, RecreatingADestroyedRecordUnderItsOldIdIsAConflict) {
  DiskSpec disk_spec = MakeDiskSpec("data");
  InstanceSpec vm_spec = MakeInstanceSpec("vm");
  Must(ds_->CreateDisk(disk_spec));
  Must(ds_->CreateInstance(vm_spec));
  const DiskState creating[] = {DiskState::kCreating};
  Must(ds_->SetDiskState(disk_spec.id, creating, DiskState::kDetached));
  Must(ds_->DeleteDisk(disk_spec.id));
  Must(ds_->DeleteInstance(vm_spec.id));
  const auto before = RawContents(*store_);

  EXPECT_EQ(ds_->CreateDisk(disk_spec).status(),
            Status::Conflict("disk " + disk_spec.id.ToString() + " was destroyed; a new disk needs a new id"));
  EXPECT_EQ(ds_->CreateInstance(vm_spec).status(),
            Status::Conflict("instance " + vm_spec.id.ToString() + " was destroyed; a new instance needs a new id"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(CreateTest, ADiskOfSizeZeroIsRefused) {
  DiskSpec spec = MakeDiskSpec("data");
  spec.size_bytes = 0;
  const auto before = RawContents(*store_);

  EXPECT_EQ(ds_->CreateDisk(spec).status(), Status::InvalidRequest("disk size must be greater than zero"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(CreateTest, AnInstanceWithoutCpusOrMemoryIsRefused) {
  InstanceSpec no_cpu = MakeInstanceSpec("vm");
  no_cpu.cpus = 0;
  InstanceSpec no_memory = MakeInstanceSpec("vm");
  no_memory.memory_bytes = 0;
  const auto before = RawContents(*store_);

  EXPECT_EQ(ds_->CreateInstance(no_cpu).status(), Status::InvalidRequest("an instance needs at least 1 cpu"));
  EXPECT_EQ(ds_->CreateInstance(no_memory).status(), Status::InvalidRequest("an instance needs memory"));
  EXPECT_EQ(RawContents(*store_), before);
}

using ReadTest = DatastoreTest;

TEST_F(ReadTest, ReadsOfMissingRecordsAreNotFoundNamingWhatIsMissing) {
  const Uuid id = Uuid::Generate();

  EXPECT_EQ(ds_->GetDisk(id).status(), Status::NotFound("disk " + id.ToString() + " not found"));
  EXPECT_EQ(ds_->GetInstance(id).status(), Status::NotFound("instance " + id.ToString() + " not found"));
  EXPECT_EQ(ds_->LookupDisk(kProject, "data").status(),
            Status::NotFound("no disk named \"data\" in project \"project\""));
  EXPECT_EQ(ds_->LookupInstance(kProject, "vm").status(),
            Status::NotFound("no instance named \"vm\" in project \"project\""));
}

TEST_F(ReadTest, ListingsReturnEveryRecordIncludingDestroyedOnes) {
  Instance vm = NewInstance("vm");
  Disk a = NewDisk("a");
  Disk b = NewDisk("b");
  Disk b_destroyed = Must(ds_->DeleteDisk(b.id));

  Listing<Disk> disks = ds_->ListDisks();
  Listing<Instance> instances = ds_->ListInstances();

  EXPECT_TRUE(disks.errors.empty());
  EXPECT_TRUE(instances.errors.empty());
  std::vector<Disk> want_disks = {a, b_destroyed};
  std::sort(want_disks.begin(), want_disks.end(), [](const Disk& x, const Disk& y) { return x.id < y.id; });
  EXPECT_EQ(disks.records, want_disks);  // in key order
  EXPECT_EQ(instances.records, std::vector<Instance>{vm});
}

// ------------------------------------------------------------------------------------------------ disk states

using DiskStateTest = DatastoreTest;

TEST_F(DiskStateTest, MovesFromAnAllowedStateInOneSyncedWrite) {
  Disk disk = NewDisk("data", DiskState::kDetached);
  const DiskState from[] = {DiskState::kDetached, DiskState::kMaintenance};
  const uint64_t writes = synced_writes();

  auto r = ds_->SetDiskState(disk.id, from, DiskState::kFaulted);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  Disk want = disk;
  want.state = DiskState::kFaulted;
  want.generation++;
  want.modified_ns = r->modified_ns;
  EXPECT_EQ(*r, want);
  EXPECT_EQ(Reread(disk), *r);
}

TEST_F(DiskStateTest, AStateOutsideTheAllowedOnesIsRefusedNamingIt) {
  Disk disk = NewDisk("data", DiskState::kMaintenance);
  const DiskState from[] = {DiskState::kDetached};
  const auto before = RawContents(*store_);

  auto r = ds_->SetDiskState(disk.id, from, DiskState::kFaulted);

  EXPECT_EQ(r.status(), Status::InvalidRequest("disk is in state \"maintenance\""));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DiskStateTest, MovingToTheCurrentStateIsOkAndWritesNothing) {
  Disk disk = NewDisk("data", DiskState::kFaulted);
  const DiskState from[] = {DiskState::kDetached};
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();

  auto r = ds_->SetDiskState(disk.id, from, DiskState::kFaulted);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(*r, disk);
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DiskStateTest, AttachedAndDestroyedAreReachedOnlyThroughTheirOwnOperations) {
  Disk disk = NewDisk("data", DiskState::kDetached);
  const DiskState from[] = {DiskState::kDetached};
  const auto before = RawContents(*store_);

  EXPECT_EQ(ds_->SetDiskState(disk.id, from, DiskState::kAttached).status(),
            Status::InvalidRequest("attach and delete have their own operations"));
  EXPECT_EQ(ds_->SetDiskState(disk.id, from, DiskState::kDestroyed).status(),
            Status::InvalidRequest("attach and delete have their own operations"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DiskStateTest, AnAttachedDiskLeavesTheAttachedStateOnlyByDetach) {
  Instance vm = NewInstance("vm");
  Disk disk = NewAttachedDisk("data", vm);
  const DiskState from[] = {DiskState::kAttached};
  const auto before = RawContents(*store_);

  EXPECT_EQ(ds_->SetDiskState(disk.id, from, DiskState::kFaulted).status(),
            Status::InvalidRequest("disk is attached to an instance; detach it first"));
  EXPECT_EQ(ds_->SetDiskState(disk.id, from, DiskState::kDetached).status(),
            Status::InvalidRequest("disk is attached to an instance; detach it first"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DiskStateTest, ADestroyedOrMissingDiskIsNotFound) {
  Disk disk = NewDisk("data");
  Must(ds_->DeleteDisk(disk.id));
  const Uuid missing = Uuid::Generate();
  const DiskState from[] = {DiskState::kDestroyed, DiskState::kDetached};

  EXPECT_EQ(ds_->SetDiskState(disk.id, from, DiskState::kFaulted).status(),
            Status::NotFound("disk " + disk.id.ToString() + " not found"));
  EXPECT_EQ(ds_->SetDiskState(missing, from, DiskState::kFaulted).status(),
            Status::NotFound("disk " + missing.ToString() + " not found"));
}

// ------------------------------------------------------------------------------------------------ instance states

using InstanceStateTest = DatastoreTest;

TEST_F(InstanceStateTest, MovesFromAnAllowedStateInOneSyncedWrite) {
  Instance vm = NewInstance("vm", InstanceState::kStopped);
  NewAttachedDisk("data", vm);
  const Instance before = Reread(vm);
  const InstanceState from[] = {InstanceState::kStopped};
  const uint64_t writes = synced_writes();

  auto r = ds_->SetInstanceState(vm.id, from, InstanceState::kStarting);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  Instance want = before;
  want.state = InstanceState::kStarting;
  want.generation++;
  want.modified_ns = r->modified_ns;
  EXPECT_EQ(*r, want);
  EXPECT_EQ(Reread(vm), *r);
}

TEST_F(InstanceStateTest, AStateOutsideTheAllowedOnesIsRefusedNamingIt) {
  Instance vm = NewInstance("vm", InstanceState::kRunning);
  const InstanceState from[] = {InstanceState::kStopped, InstanceState::kCreating};
  const auto before = RawContents(*store_);

  auto r = ds_->SetInstanceState(vm.id, from, InstanceState::kStarting);

  EXPECT_EQ(r.status(), Status::InvalidRequest("instance is in state \"running\""));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(InstanceStateTest, MovingToTheCurrentStateIsOkAndWritesNothing) {
  Instance vm = NewInstance("vm", InstanceState::kRunning);
  const InstanceState from[] = {InstanceState::kStarting};
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();

  auto r = ds_->SetInstanceState(vm.id, from, InstanceState::kRunning);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(*r, vm);
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(InstanceStateTest, DestroyedIsReachedOnlyThroughDelete) {
  Instance vm = NewInstance("vm", InstanceState::kStopped);
  const InstanceState from[] = {InstanceState::kStopped};
  const auto before = RawContents(*store_);

  EXPECT_EQ(ds_->SetInstanceState(vm.id, from, InstanceState::kDestroyed).status(),
            Status::InvalidRequest("delete has its own operation"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(InstanceStateTest, ADestroyedOrMissingInstanceIsNotFound) {
  Instance vm = NewInstance("vm");
  Must(ds_->DeleteInstance(vm.id));
  const Uuid missing = Uuid::Generate();
  const InstanceState from[] = {InstanceState::kDestroyed, InstanceState::kStopped};

  EXPECT_EQ(ds_->SetInstanceState(vm.id, from, InstanceState::kStarting).status(),
            Status::NotFound("instance " + vm.id.ToString() + " not found"));
  EXPECT_EQ(ds_->SetInstanceState(missing, from, InstanceState::kStarting).status(),
            Status::NotFound("instance " + missing.ToString() + " not found"));
}

}  // namespace
}  // namespace sagadb::testing
