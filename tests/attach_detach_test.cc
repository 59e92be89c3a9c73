// The attach and detach tables of docs/DESIGN.md section 2, row by row, and the slot and boot-disk rules.
//
// Every mutation is checked for its exact resulting records (the disk's state, instance id, slot and
// generation; the instance's attached list and generation), for costing exactly one synced write, and for
// returning the very record a later read sees. Every refusal is checked for its exact status and for having
// written nothing at all.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <tuple>

#include "tests/datastore_fixture.h"

namespace sagadb::testing {
namespace {

// `before` as attach leaves it. modified_ns is taken from the record actually written (wall clock).
Disk AsAttached(Disk before, const Instance& instance, int slot, int64_t modified_ns) {
  before.state = DiskState::kAttached;
  before.instance_id = instance.id;
  before.slot = slot;
  before.generation++;
  before.modified_ns = modified_ns;
  return before;
}

Disk AsDetached(Disk before, int64_t modified_ns) {
  before.state = DiskState::kDetached;
  before.instance_id.reset();
  before.slot = -1;
  before.generation++;
  before.modified_ns = modified_ns;
  return before;
}

Instance WithAttached(Instance before, std::vector<AttachedDisk> attached, int64_t modified_ns) {
  before.attached = std::move(attached);
  before.generation++;
  before.modified_ns = modified_ns;
  return before;
}

// ------------------------------------------------------------------------------------------------ attach

using AttachTest = DatastoreTest;

TEST_F(AttachTest, AttachesADetachedDiskAtSlotZeroAndReturnsTheRecordItWroteInOneSyncedWrite) {
  Instance vm = NewInstance("vm", InstanceState::kStopped);
  Disk disk = NewDisk("data", DiskState::kDetached);
  const uint64_t writes = synced_writes();

  auto r = ds_->AttachDisk(disk.id, vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  EXPECT_EQ(*r, AsAttached(disk, vm, 0, r->modified_ns));
  EXPECT_EQ(Reread(disk), *r);
  Instance now = Reread(vm);
  EXPECT_EQ(now, WithAttached(vm, {{0, disk.id}}, now.modified_ns));
}

class AttachAllowedStatesTest : public DatastoreTest,
                                public ::testing::WithParamInterface<std::tuple<DiskState, InstanceState>> {};

TEST_P(AttachAllowedStatesTest, AttachesACreatingOrDetachedDiskToACreatingOrStoppedInstance) {
  const auto [disk_state, instance_state] = GetParam();
  Instance vm = NewInstance("vm", instance_state);
  Disk disk = NewDisk("data", disk_state);
  const uint64_t writes = synced_writes();

  auto r = ds_->AttachDisk(disk.id, vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  EXPECT_EQ(*r, AsAttached(disk, vm, 0, r->modified_ns));
  EXPECT_EQ(Reread(disk), *r);
  Instance now = Reread(vm);
  EXPECT_EQ(now, WithAttached(vm, {{0, disk.id}}, now.modified_ns));
}

INSTANTIATE_TEST_SUITE_P(States, AttachAllowedStatesTest,
                         ::testing::Combine(::testing::Values(DiskState::kCreating, DiskState::kDetached),
                                            ::testing::Values(InstanceState::kCreating, InstanceState::kStopped)),
                         [](const auto& info) {
                           return std::string(ToString(std::get<0>(info.param))) + "_disk_" +
                                  std::string(ToString(std::get<1>(info.param))) + "_instance";
                         });

TEST_F(AttachTest, AttachingADiskAlreadyAttachedToTheSameInstanceIsOkAndWritesNothing) {
  Instance vm = NewInstance("vm");
  Disk first = NewAttachedDisk("data", vm);
  const Instance vm_now = Reread(vm);
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();

  auto again = ds_->AttachDisk(first.id, vm.id);

  ASSERT_EQ(again.status(), Status::OK());
  EXPECT_EQ(*again, first);
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);
  EXPECT_EQ(Reread(vm), vm_now);
}

TEST_F(AttachTest, AttachingADiskAttachedToAnotherInstanceIsInvalidAndWritesNothing) {
  Instance vm1 = NewInstance("vm1");
  Instance vm2 = NewInstance("vm2");
  Disk disk = NewAttachedDisk("data", vm1);
  const auto before = RawContents(*store_);

  auto r = ds_->AttachDisk(disk.id, vm2.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest("disk is attached to another instance"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(AttachTest, AttachingToAMissingInstanceIsNotFoundNamingTheInstance) {
  Disk disk = NewDisk("data");
  const Uuid missing = Uuid::Generate();
  const auto before = RawContents(*store_);

  auto r = ds_->AttachDisk(disk.id, missing);

  EXPECT_EQ(r.status(), Status::NotFound("instance " + missing.ToString() + " not found"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(AttachTest, AttachingToADestroyedInstanceIsNotFoundNamingTheInstance) {
  Instance vm = NewInstance("vm");
  Must(ds_->DeleteInstance(vm.id));
  Disk disk = NewDisk("data");
  const auto before = RawContents(*store_);

  auto r = ds_->AttachDisk(disk.id, vm.id);

  EXPECT_EQ(r.status(), Status::NotFound("instance " + vm.id.ToString() + " not found"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(AttachTest, AttachingAMissingDiskIsNotFoundNamingTheDisk) {
  Instance vm = NewInstance("vm");
  const Uuid missing = Uuid::Generate();
  const auto before = RawContents(*store_);

  auto r = ds_->AttachDisk(missing, vm.id);

  EXPECT_EQ(r.status(), Status::NotFound("disk " + missing.ToString() + " not found"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(AttachTest, AttachingADestroyedDiskIsNotFoundNamingTheDisk) {
  Instance vm = NewInstance("vm");
  Disk disk = NewDisk("data");
  Must(ds_->DeleteDisk(disk.id));
  const auto before = RawContents(*store_);

  auto r = ds_->AttachDisk(disk.id, vm.id);

  EXPECT_EQ(r.status(), Status::NotFound("disk " + disk.id.ToString() + " not found"));
  EXPECT_EQ(RawContents(*store_), before);
}

class AttachRefusedDiskStateTest : public DatastoreTest, public ::testing::WithParamInterface<DiskState> {};

TEST_P(AttachRefusedDiskStateTest, AttachingADiskNotCreatingOrDetachedIsInvalidNamingItsState) {
  Instance vm = NewInstance("vm");
  Disk disk = NewDisk("data", GetParam());
  const auto before = RawContents(*store_);

  auto r = ds_->AttachDisk(disk.id, vm.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest(fmt::format("disk is in state \"{}\"", ToString(GetParam()))));
  EXPECT_EQ(RawContents(*store_), before);
}

INSTANTIATE_TEST_SUITE_P(States, AttachRefusedDiskStateTest,
                         ::testing::Values(DiskState::kMaintenance, DiskState::kFaulted), StateName());

class AttachRefusedInstanceStateTest : public DatastoreTest, public ::testing::WithParamInterface<InstanceState> {};

TEST_P(AttachRefusedInstanceStateTest, AttachingToAnInstanceNotCreatingOrStoppedIsInvalidNamingItsState) {
  Instance vm = NewInstance("vm", GetParam());
  Disk disk = NewDisk("data");
  const auto before = RawContents(*store_);

  auto r = ds_->AttachDisk(disk.id, vm.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest(fmt::format("instance is in state \"{}\"", ToString(GetParam()))));
  EXPECT_EQ(RawContents(*store_), before);
}

INSTANTIATE_TEST_SUITE_P(States, AttachRefusedInstanceStateTest,
                         ::testing::Values(InstanceState::kStarting, InstanceState::kRunning,
                                           InstanceState::kStopping, InstanceState::kFailed),
                         StateName());

TEST_F(AttachTest, TwelveDisksTakeSlotsZeroToElevenAndAThirteenthIsRefused) {
  Instance vm = NewInstance("vm");
  std::vector<AttachedDisk> expected;
  for (int i = 0; i < kMaxDisksPerInstance; ++i) {
    Disk d = NewAttachedDisk("d" + std::to_string(i), vm);
    EXPECT_EQ(d.slot, i);
    expected.push_back({i, d.id});
  }
  Disk extra = NewDisk("extra");
  const auto before = RawContents(*store_);

  auto r = ds_->AttachDisk(extra.id, vm.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest("cannot attach more than 12 disks"));
  EXPECT_EQ(RawContents(*store_), before);
  EXPECT_EQ(Reread(vm).attached, expected);
  EXPECT_EQ(Reread(extra), extra);
}

TEST_F(AttachTest, AttachTakesTheLowestFreeSlot) {
  Instance vm = NewInstance("vm");
  Disk a = NewAttachedDisk("a", vm);
  Disk b = NewAttachedDisk("b", vm);
  Disk c = NewAttachedDisk("c", vm);
  ASSERT_EQ(std::make_tuple(a.slot, b.slot, c.slot), std::make_tuple(0, 1, 2));
  Must(ds_->DetachDisk(b.id, vm.id));
  Disk d = NewDisk("d");

  auto r = ds_->AttachDisk(d.id, vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(r->slot, 1);
  EXPECT_EQ(Reread(vm).attached, (std::vector<AttachedDisk>{{0, a.id}, {1, d.id}, {2, c.id}}));
  Disk e = NewAttachedDisk("e", vm);
  EXPECT_EQ(e.slot, 3);
  EXPECT_EQ(Reread(vm).attached, (std::vector<AttachedDisk>{{0, a.id}, {1, d.id}, {2, c.id}, {3, e.id}}));
}

TEST_F(AttachTest, AFreedSlotZeroIsReusedBeforeHigherFreeSlots) {
  Instance vm = NewInstance("vm");
  Disk a = NewAttachedDisk("a", vm);
  Disk b = NewAttachedDisk("b", vm);
  Disk c = NewAttachedDisk("c", vm);
  Must(ds_->DetachDisk(c.id, vm.id));
  Must(ds_->DetachDisk(a.id, vm.id));

  Disk first = Must(ds_->AttachDisk(a.id, vm.id));
  Disk second = Must(ds_->AttachDisk(c.id, vm.id));

  EXPECT_EQ(first.slot, 0);
  EXPECT_EQ(second.slot, 2);
  EXPECT_EQ(Reread(vm).attached, (std::vector<AttachedDisk>{{0, a.id}, {1, b.id}, {2, c.id}}));
}

// ------------------------------------------------------------------------------------------------ reattach
// The undo of a detach: back at exactly the slot the disk left.

class ReattachTest : public DatastoreTest {
 protected:
  // StageReattachDisk in a txn of its own, committed if it staged anything.
  Result<Disk> Reattach(const Disk& disk, const Instance& vm, int slot, bool* changed) {
    WriteTxn txn = NewTxn();
    auto r = Datastore::StageReattachDisk(txn, disk.id, vm.id, slot, changed);
    if (r.ok() && !txn.empty()) Must(txn.Commit());
    return r;
  }
};

TEST_F(ReattachTest, PutsTheDiskBackAtItsSlotAboveALowerFreeOneInOneSyncedWrite) {
  Instance vm = NewInstance("vm");
  Disk a = NewAttachedDisk("a", vm);
  Disk b = NewAttachedDisk("b", vm);
  Disk c = NewAttachedDisk("c", vm);
  Disk freed_b = Must(ds_->DetachDisk(b.id, vm.id));
  Disk freed_c = Must(ds_->DetachDisk(c.id, vm.id));
  const uint64_t writes = synced_writes();

  bool changed = false;
  auto r = Reattach(freed_c, vm, 2, &changed);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_TRUE(changed);
  EXPECT_EQ(*r, AsAttached(freed_c, vm, 2, r->modified_ns));
  EXPECT_EQ(Reread(freed_c), *r);
  EXPECT_EQ(Reread(vm).attached, (std::vector<AttachedDisk>{{0, a.id}, {2, c.id}}));
  EXPECT_EQ(synced_writes() - writes, 1u);
  // The free slot below is still there for the next attach.
  EXPECT_EQ(Must(ds_->AttachDisk(freed_b.id, vm.id)).slot, 1);
  EXPECT_EQ(Reread(vm).attached, (std::vector<AttachedDisk>{{0, a.id}, {1, b.id}, {2, c.id}}));
}

TEST_F(ReattachTest, ASlotAnotherDiskTookIsConflictNamingItAndNothingMoves) {
  Instance vm = NewInstance("vm");
  Disk a = NewAttachedDisk("a", vm);
  Disk freed_a = Must(ds_->DetachDisk(a.id, vm.id));
  Disk other = NewAttachedDisk("other", vm);  // takes slot 0
  ASSERT_EQ(other.slot, 0);
  const auto before = RawContents(*store_);

  bool changed = true;
  auto r = Reattach(freed_a, vm, 0, &changed);

  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_EQ(r.status().message(), fmt::format("slot 0 of instance {} is taken by disk {}; disk {} is left detached "
                                              "rather than attached at another slot",
                                              vm.id.ToString(), other.id.ToString(), a.id.ToString()));
  EXPECT_FALSE(changed);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(ReattachTest, ADiskAttachedThereAlreadyIsOkWithoutAWriteAndElsewhereIsConflict) {
  Instance vm = NewInstance("vm");
  NewAttachedDisk("a", vm);
  Disk b = NewAttachedDisk("b", vm);
  const auto before = RawContents(*store_);

  bool changed = true;
  auto same = Reattach(b, vm, 1, &changed);
  ASSERT_EQ(same.status(), Status::OK());
  EXPECT_FALSE(changed);
  EXPECT_EQ(*same, b);
  auto moved = Reattach(b, vm, 5, &changed);
  EXPECT_EQ(moved.status().code(), Code::kConflict);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(ReattachTest, ASlotOutsideZeroToElevenIsInvalid) {
  Instance vm = NewInstance("vm");
  Disk d = NewDisk("d");
  bool changed = true;
  EXPECT_EQ(Reattach(d, vm, 12, &changed).status().code(), Code::kInvalidRequest);
  EXPECT_EQ(Reattach(d, vm, -1, &changed).status().code(), Code::kInvalidRequest);
  EXPECT_FALSE(changed);
}

// ------------------------------------------------------------------------------------------------ detach

using DetachTest = DatastoreTest;

TEST_F(DetachTest, DetachesAnAttachedDiskClearingItsSlotAndReturnsTheRecordItWroteInOneSyncedWrite) {
  Instance vm = NewInstance("vm");
  Disk a = NewAttachedDisk("a", vm);
  Disk b = NewAttachedDisk("b", vm);
  const Instance vm_before = Reread(vm);
  const uint64_t writes = synced_writes();

  auto r = ds_->DetachDisk(a.id, vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  EXPECT_EQ(*r, AsDetached(a, r->modified_ns));
  EXPECT_EQ(Reread(a), *r);
  Instance now = Reread(vm);
  EXPECT_EQ(now, WithAttached(vm_before, {{1, b.id}}, now.modified_ns));
}

class DetachAllowedInstanceStateTest : public DatastoreTest, public ::testing::WithParamInterface<InstanceState> {};

TEST_P(DetachAllowedInstanceStateTest, DetachesFromACreatingStoppedOrFailedInstance) {
  // Attach while the instance accepts it, then move it to the state under test.
  const InstanceState target = GetParam();
  const InstanceState attach_state =
      target == InstanceState::kCreating ? InstanceState::kCreating : InstanceState::kStopped;
  Instance vm = NewInstance("vm", attach_state);
  Disk disk = NewAttachedDisk("data", vm);
  if (target != attach_state) {
    const InstanceState from[] = {attach_state};
    Must(ds_->SetInstanceState(vm.id, from, target));
  }
  const Instance vm_before = Reread(vm);
  ASSERT_EQ(vm_before.state, target);
  const uint64_t writes = synced_writes();

  auto r = ds_->DetachDisk(disk.id, vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  EXPECT_EQ(*r, AsDetached(disk, r->modified_ns));
  EXPECT_EQ(Reread(disk), *r);
  Instance now = Reread(vm);
  EXPECT_EQ(now, WithAttached(vm_before, {}, now.modified_ns));
}

INSTANTIATE_TEST_SUITE_P(States, DetachAllowedInstanceStateTest,
                         ::testing::Values(InstanceState::kCreating, InstanceState::kStopped,
                                           InstanceState::kFailed),
                         StateName());

class DetachRefusedInstanceStateTest : public DatastoreTest, public ::testing::WithParamInterface<InstanceState> {};

TEST_P(DetachRefusedInstanceStateTest, DetachingFromAnInstanceNotCreatingStoppedOrFailedIsInvalidNamingItsState) {
  Instance vm = NewInstance("vm", InstanceState::kStopped);
  Disk disk = NewAttachedDisk("data", vm);
  const InstanceState from[] = {InstanceState::kStopped};
  Must(ds_->SetInstanceState(vm.id, from, GetParam()));
  const auto before = RawContents(*store_);

  auto r = ds_->DetachDisk(disk.id, vm.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest(fmt::format("instance is in state \"{}\"", ToString(GetParam()))));
  EXPECT_EQ(RawContents(*store_), before);
}

INSTANTIATE_TEST_SUITE_P(States, DetachRefusedInstanceStateTest,
                         ::testing::Values(InstanceState::kStarting, InstanceState::kRunning,
                                           InstanceState::kStopping),
                         StateName());

class DetachUnattachedDiskTest : public DatastoreTest, public ::testing::WithParamInterface<DiskState> {};

TEST_P(DetachUnattachedDiskTest, DetachingADiskAttachedNowhereIsOkReturnsItUnchangedAndWritesNothing) {
  Instance vm = NewInstance("vm");
  Disk disk = NewDisk("data", GetParam());
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();

  auto r = ds_->DetachDisk(disk.id, vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(*r, disk);
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);
}

INSTANTIATE_TEST_SUITE_P(States, DetachUnattachedDiskTest,
                         ::testing::Values(DiskState::kCreating, DiskState::kDetached, DiskState::kMaintenance,
                                           DiskState::kFaulted),
                         StateName());

TEST_F(DetachTest, DetachingTwiceIsOkAndTheSecondWritesNothing) {
  Instance vm = NewInstance("vm");
  Disk disk = NewAttachedDisk("data", vm);
  Disk detached = Must(ds_->DetachDisk(disk.id, vm.id));
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();

  auto again = ds_->DetachDisk(disk.id, vm.id);

  ASSERT_EQ(again.status(), Status::OK());
  EXPECT_EQ(*again, detached);
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DetachTest, DetachingADiskAttachedToAnotherInstanceIsInvalidAndWritesNothing) {
  Instance vm1 = NewInstance("vm1");
  Instance vm2 = NewInstance("vm2");
  Disk disk = NewAttachedDisk("data", vm1);
  const auto before = RawContents(*store_);

  auto r = ds_->DetachDisk(disk.id, vm2.id);

  EXPECT_EQ(r.status(), Status::InvalidRequest("disk is attached to another instance"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DetachTest, DetachingFromAMissingInstanceIsNotFoundNamingTheInstance) {
  Disk disk = NewDisk("data");
  const Uuid missing = Uuid::Generate();
  const auto before = RawContents(*store_);

  auto r = ds_->DetachDisk(disk.id, missing);

  EXPECT_EQ(r.status(), Status::NotFound("instance " + missing.ToString() + " not found"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DetachTest, DetachingFromADestroyedInstanceIsNotFoundNamingTheInstance) {
  Instance vm = NewInstance("vm");
  Must(ds_->DeleteInstance(vm.id));
  Disk disk = NewDisk("data");
  const auto before = RawContents(*store_);

  auto r = ds_->DetachDisk(disk.id, vm.id);

  EXPECT_EQ(r.status(), Status::NotFound("instance " + vm.id.ToString() + " not found"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DetachTest, DetachingAMissingDiskIsNotFoundNamingTheDisk) {
  Instance vm = NewInstance("vm");
  const Uuid missing = Uuid::Generate();
  const auto before = RawContents(*store_);

  auto r = ds_->DetachDisk(missing, vm.id);

  EXPECT_EQ(r.status(), Status::NotFound("disk " + missing.ToString() + " not found"));
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(DetachTest, DetachingADestroyedDiskIsNotFoundNamingTheDisk) {
  Instance vm = NewInstance("vm");
  Disk disk = NewDisk("data");
  Must(ds_->DeleteDisk(disk.id));
  const auto before = RawContents(*store_);

  auto r = ds_->DetachDisk(disk.id, vm.id);

  EXPECT_EQ(r.status(), Status::NotFound("disk " + disk.id.ToString() + " not found"));
  EXPECT_EQ(RawContents(*store_), before);
}

// ------------------------------------------------------------------------------------------------ boot disk

using BootDiskTest = DatastoreTest;

TEST_F(BootDiskTest, TheBootDiskCannotBeDetached) {
  Instance vm = NewInstance("vm");
  Disk boot = NewAttachedDisk("boot", vm);
  Instance with_boot = Must(ds_->SetBootDisk(vm.id, boot.id));
  ASSERT_EQ(with_boot.boot_disk_id, boot.id);
  const auto before = RawContents(*store_);

  auto r = ds_->DetachDisk(boot.id, vm.id);

  EXPECT_EQ(r.status(), Status::Conflict("boot disk cannot be detached"));
  EXPECT_EQ(RawContents(*store_), before);
  EXPECT_EQ(Reread(boot), boot);
  EXPECT_EQ(Reread(vm), with_boot);
}

TEST_F(BootDiskTest, ADiskNoLongerTheBootDiskCanBeDetached) {
  Instance vm = NewInstance("vm");
  Disk boot = NewAttachedDisk("boot", vm);
  Must(ds_->SetBootDisk(vm.id, boot.id));
  Instance cleared = Must(ds_->SetBootDisk(vm.id, std::nullopt));
  EXPECT_EQ(cleared.boot_disk_id, std::nullopt);

  auto r = ds_->DetachDisk(boot.id, vm.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(*r, AsDetached(boot, r->modified_ns));
  EXPECT_TRUE(Reread(vm).attached.empty());
}

TEST_F(BootDiskTest, SettingABootDiskRecordsItInOneSyncedWrite) {
  Instance vm = NewInstance("vm");
  Disk boot = NewAttachedDisk("boot", vm);
  const Instance before = Reread(vm);
  const uint64_t writes = synced_writes();

  auto r = ds_->SetBootDisk(vm.id, boot.id);

  ASSERT_EQ(r.status(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
  Instance want = before;
  want.boot_disk_id = boot.id;
  want.generation++;
  want.modified_ns = r->modified_ns;
  EXPECT_EQ(*r, want);
  EXPECT_EQ(Reread(vm), *r);
}

TEST_F(BootDiskTest, ABootDiskMustBeAttachedToTheInstance) {
  Instance vm = NewInstance("vm");
  Instance other = NewInstance("other");
  Disk loose = NewDisk("loose");
  Disk elsewhere = NewAttachedDisk("elsewhere", other);
  const auto before = RawContents(*store_);

  EXPECT_EQ(ds_->SetBootDisk(vm.id, loose.id).status(),
            Status::InvalidRequest("the boot disk must be attached to the instance"));
  EXPECT_EQ(ds_->SetBootDisk(vm.id, elsewhere.id).status(),
            Status::InvalidRequest("the boot disk must be attached to the instance"));
  EXPECT_EQ(RawContents(*store_), before);
}

}  // namespace
}  // namespace sagadb::testing
