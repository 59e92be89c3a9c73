// The delete rules of docs/DESIGN.md section 2. A disk is deleted only from the states its caller allows (the API:
// detached or faulted; a disk-create undo: detached, faulted or creating) and never while attached; deleting a
// destroyed disk is Ok. An instance is deleted only when stopped, failed or creating, and with no disk attached.
// A delete marks the record destroyed (it stays readable) and frees its name, in one synced write.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>

#include "engine/write_txn.h"
#include "tests/datastore_fixture.h"

namespace sagadb::testing {
namespace {

class DeleteTest : public DatastoreTest {
 protected:
  // What a disk-create undo does: the staged delete, committed on its own.
  Result<Disk> UndoDeleteDisk(const Uuid& id, std::span<const DiskState> allowed = Datastore::kUndoDeletableDisk) {
    WriteTxn txn = NewTxn();
    auto r = Datastore::StageDeleteDisk(txn, id, allowed);
    if (r.ok() && !txn.empty()) {
      Status s = txn.Commit();
      if (!s.ok()) return s;
    }
    return r;
  }

  Disk AsDestroyed(Disk before, int64_t modified_ns) {
    before.state = DiskState::kDestroyed;
    before.generation++;
    before.modified_ns = modified_ns;
    return before;
  }

  Instance AsDestroyed(Instance before, int64_t modified_ns) {
    before.state = InstanceState::kDestroyed;
    before.generation++;
    before.modified_ns = modified_ns;
    return before;
  }
};

// ------------------------------------------------------------------------------------------------ API delete

class ApiDeleteDiskAllowedTest : public DeleteTest, public ::testing::WithParamInterface<DiskState> {};

TEST_P(ApiDeleteDiskAllowedTest, DestroysTheDiskAndFreesItsNameInOneSyncedWrite) {
  Disk disk = NewDisk("data", GetParam());
  const uint64_t writes = synced_writes();

  auto r = ds_->DeleteDisk(disk.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  EXPECT_EQ(*r, AsDestroyed(disk, r->modified_ns));
  EXPECT_EQ(Reread(disk), *r);
  EXPECT_EQ(ds_->LookupDisk(kProject, "data").status(),
            Status::NotFound("no disk named \"data\" in project \"project\""));
}

INSTANTIATE_TEST_SUITE_P(States, ApiDeleteDiskAllowedTest,
                         ::testing::Values(DiskState::kDetached, DiskState::kFaulted), StateName());

class ApiDeleteDiskRefusedTest : public DeleteTest, public ::testing::WithParamInterface<DiskState> {};

TEST_P(ApiDeleteDiskRefusedTest, IsRefusedNamingTheStateAndWritesNothing) {
  Disk disk = NewDisk("data", GetParam());
  const auto before = RawContents(*store_);

  auto r = ds_->DeleteDisk(disk.id);

  EXPECT_EQ(r.status(),
            Status::InvalidRequest(fmt::format("disk cannot be deleted in state \"{}\"", ToString(GetParam()))));
  EXPECT_EQ(RawContents(*store_), before);
  EXPECT_EQ(ds_->LookupDisk(kProject, "data").status(), Status::OK());
}

INSTANTIATE_TEST_SUITE_P(States, ApiDeleteDiskRefusedTest,
                         ::testing::Values(DiskState::kCreating, DiskState::kMaintenance), StateName());

TEST_F(DeleteTest, ApiDeleteOfAnAttachedDiskIsRefused) {
  Instance vm = NewInstance("vm");
  Disk disk = NewAttachedDisk("data", vm);
  const auto before = RawContents(*store_);

  auto r = ds_->DeleteDisk(disk.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest("disk cannot be deleted in state \"attached\""));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DeleteTest, DeletingADestroyedDiskIsOkReturnsItAndWritesNothing) {
  Disk disk = NewDisk("data");
  Disk destroyed = Must(ds_->DeleteDisk(disk.id));
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();

  auto api = ds_->DeleteDisk(disk.id);
  auto undo = UndoDeleteDisk(disk.id);

  ASSERT_EQ(api.status(), Status::OK());
  ASSERT_EQ(undo.status(), Status::OK());
  EXPECT_EQ(*api, destroyed);
  EXPECT_EQ(*undo, destroyed);
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DeleteTest, DeletingAMissingDiskIsNotFound) {
  const Uuid missing = Uuid::Generate();

  EXPECT_EQ(ds_->DeleteDisk(missing).status(), Status::NotFound("disk " + missing.ToString() + " not found"));
}

// ------------------------------------------------------------------------------------------------ undo delete

class UndoDeleteDiskAllowedTest : public DeleteTest, public ::testing::WithParamInterface<DiskState> {};

TEST_P(UndoDeleteDiskAllowedTest, DestroysTheDiskAndFreesItsNameInOneSyncedWrite) {
  Disk disk = NewDisk("data", GetParam());
  const uint64_t writes = synced_writes();

  auto r = UndoDeleteDisk(disk.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  EXPECT_EQ(*r, AsDestroyed(disk, r->modified_ns));
  EXPECT_EQ(Reread(disk), *r);
  EXPECT_EQ(ds_->LookupDisk(kProject, "data").status(),
            Status::NotFound("no disk named \"data\" in project \"project\""));
}

INSTANTIATE_TEST_SUITE_P(States, UndoDeleteDiskAllowedTest,
                         ::testing::Values(DiskState::kCreating, DiskState::kDetached, DiskState::kFaulted),
                         StateName());

TEST_F(DeleteTest, UndoDeleteOfADiskInMaintenanceIsRefused) {
  Disk disk = NewDisk("data", DiskState::kMaintenance);
  const auto before = RawContents(*store_);

  auto r = UndoDeleteDisk(disk.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest("disk cannot be deleted in state \"maintenance\""));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DeleteTest, UndoDeleteOfAnAttachedDiskIsRefusedWithTheErrorOfTheOriginalIncident) {
  Instance vm = NewInstance("vm", InstanceState::kCreating);
  Disk disk = NewDisk("data", DiskState::kCreating);
  Must(ds_->AttachDisk(disk.id, vm.id));
  const auto before = RawContents(*store_);

  auto r = UndoDeleteDisk(disk.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest("disk cannot be deleted in state \"attached\""));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DeleteTest, AnAttachedDiskIsNeverDeletedEvenIfTheCallerAllowsTheAttachedState) {
  Instance vm = NewInstance("vm");
  Disk disk = NewAttachedDisk("data", vm);
  const DiskState anything[] = {DiskState::kCreating, DiskState::kDetached,  DiskState::kAttached,
                                DiskState::kMaintenance, DiskState::kFaulted};
  const auto before = RawContents(*store_);

  auto r = UndoDeleteDisk(disk.id, anything);

  EXPECT_EQ(r.status(), Status::InvalidRequest("disk cannot be deleted in state \"attached\""));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DeleteTest, AStagedDeleteWritesNothingUntilCommitted) {
  Disk disk = NewDisk("data");
  const auto before = RawContents(*store_);
  {
    WriteTxn txn = NewTxn();
    ASSERT_EQ(Datastore::StageDeleteDisk(txn, disk.id, Datastore::kUndoDeletableDisk).status(), Status::OK());
    EXPECT_FALSE(txn.empty());
  }  // discarded

  EXPECT_EQ(RawContents(*store_), before);
  EXPECT_EQ(Reread(disk), disk);
}

// ------------------------------------------------------------------------------------------------ instances

class DeleteInstanceAllowedTest : public DeleteTest, public ::testing::WithParamInterface<InstanceState> {};

TEST_P(DeleteInstanceAllowedTest, DestroysTheInstanceAndFreesItsNameInOneSyncedWrite) {
  Instance vm = NewInstance("vm", GetParam());
  const uint64_t writes = synced_writes();

  auto r = ds_->DeleteInstance(vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  EXPECT_EQ(*r, AsDestroyed(vm, r->modified_ns));
  EXPECT_EQ(Reread(vm), *r);
  EXPECT_EQ(ds_->LookupInstance(kProject, "vm").status(),
            Status::NotFound("no instance named \"vm\" in project \"project\""));
}

INSTANTIATE_TEST_SUITE_P(States, DeleteInstanceAllowedTest,
                         ::testing::Values(InstanceState::kStopped, InstanceState::kFailed,
                                           InstanceState::kCreating),
                         StateName());

class DeleteInstanceRefusedTest : public DeleteTest, public ::testing::WithParamInterface<InstanceState> {};

TEST_P(DeleteInstanceRefusedTest, IsRefusedNamingTheStateAndWritesNothing) {
  Instance vm = NewInstance("vm", GetParam());
  const auto before = RawContents(*store_);

  auto r = ds_->DeleteInstance(vm.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest(
                            fmt::format("instance cannot be deleted in state \"{}\"", ToString(GetParam()))));
  EXPECT_EQ(RawContents(*store_), before);
}

INSTANTIATE_TEST_SUITE_P(States, DeleteInstanceRefusedTest,
                         ::testing::Values(InstanceState::kStarting, InstanceState::kRunning,
                                           InstanceState::kStopping),
                         StateName());

TEST_F(DeleteTest, AnInstanceWithADiskAttachedIsNotDeleted) {
  Instance vm = NewInstance("vm");
  NewAttachedDisk("a", vm);
  NewAttachedDisk("b", vm);
  const auto before = RawContents(*store_);

  auto r = ds_->DeleteInstance(vm.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest("instance cannot be deleted with 2 disk(s) attached"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DeleteTest, AnInstanceWhoseDisksWereDetachedIsDeleted) {
  Instance vm = NewInstance("vm");
  Disk disk = NewAttachedDisk("data", vm);
  Must(ds_->DetachDisk(disk.id, vm.id));
  const Instance before = Reread(vm);

  auto r = ds_->DeleteInstance(vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(*r, AsDestroyed(before, r->modified_ns));
}

TEST_F(DeleteTest, DeletingADestroyedInstanceIsOkReturnsItAndWritesNothing) {
  Instance vm = NewInstance("vm");
  Instance destroyed = Must(ds_->DeleteInstance(vm.id));
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();

  auto r = ds_->DeleteInstance(vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(*r, destroyed);
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DeleteTest, DeletingAMissingInstanceIsNotFound) {
  const Uuid missing = Uuid::Generate();

  EXPECT_EQ(ds_->DeleteInstance(missing).status(),
            Status::NotFound("instance " + missing.ToString() + " not found"));
}

}  // namespace
}  // namespace sagadb::testing
