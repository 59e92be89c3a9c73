// The invariant checks themselves: each kind of inconsistency is reported, so a suite that finds no violation
// has really looked. Records are built by hand here, because the datastore cannot produce these states.
#include "tests/invariants.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/datastore_fixture.h"

namespace sagadb::testing {
namespace {

using Lines = std::vector<std::string>;

Uuid Id(uint8_t n) {
  Uuid id;
  id.bytes[15] = n;
  return id;
}

Instance MakeInstance(uint8_t n, std::vector<AttachedDisk> attached) {
  Instance i;
  i.id = Id(n);
  i.name = "vm" + std::to_string(n);
  i.state = InstanceState::kStopped;
  i.attached = std::move(attached);
  return i;
}

Disk MakeDisk(uint8_t n, std::optional<Uuid> instance = std::nullopt, int slot = -1) {
  Disk d;
  d.id = Id(n);
  d.name = "d" + std::to_string(n);
  d.state = instance ? DiskState::kAttached : DiskState::kDetached;
  d.instance_id = instance;
  d.slot = slot;
  return d;
}

// Instance 1 with disks 11 and 12 at slots 0 and 1; disk 13 detached.
struct Records {
  std::vector<Instance> instances{MakeInstance(1, {{0, Id(11)}, {1, Id(12)}})};
  std::vector<Disk> disks{MakeDisk(11, Id(1), 0), MakeDisk(12, Id(1), 1), MakeDisk(13)};
  Lines Check() const { return CheckAttachments(instances, disks); }
};

TEST(CheckAttachmentsTest, ConsistentRecordsHaveNoViolation) { EXPECT_EQ(Records().Check(), Lines{}); }

TEST(CheckAttachmentsTest, ReportsADiskNamingAMissingInstance) {
  Records r;
  r.disks[2] = MakeDisk(13, Id(2), 0);

  EXPECT_EQ(r.Check(), Lines{"disk 00000000-0000-0000-0000-00000000000d (d13) names instance "
                             "00000000-0000-0000-0000-000000000002, which does not exist"});
}

TEST(CheckAttachmentsTest, ReportsADiskNamingADestroyedInstance) {
  Records r;
  r.instances[0].state = InstanceState::kDestroyed;

  EXPECT_EQ(r.Check(), (Lines{"disk 00000000-0000-0000-0000-00000000000b (d11) names instance "
                              "00000000-0000-0000-0000-000000000001 (vm1), which is destroyed",
                              "disk 00000000-0000-0000-0000-00000000000c (d12) names instance "
                              "00000000-0000-0000-0000-000000000001 (vm1), which is destroyed"}));
}

TEST(CheckAttachmentsTest, ReportsADiskTheInstanceDoesNotListAndTheCountThatNoLongerMatches) {
  Records r;
  r.instances[0].attached.pop_back();

  EXPECT_EQ(r.Check(), (Lines{"disk 00000000-0000-0000-0000-00000000000c (d12) names instance "
                              "00000000-0000-0000-0000-000000000001 (vm1) at slot 1, which does not list it there",
                              "instance 00000000-0000-0000-0000-000000000001 (vm1) lists 1 attached disks but 2 "
                              "disks name it"}));
}

TEST(CheckAttachmentsTest, ReportsAnInstanceListingADetachedDisk) {
  Records r;
  r.instances[0].attached.push_back({2, Id(13)});

  EXPECT_EQ(r.Check(), (Lines{"instance 00000000-0000-0000-0000-000000000001 (vm1) lists disk "
                              "00000000-0000-0000-0000-00000000000d (d13) at slot 2, which does not name it there",
                              "instance 00000000-0000-0000-0000-000000000001 (vm1) lists 3 attached disks but 2 "
                              "disks name it"}));
}

TEST(CheckAttachmentsTest, ReportsADuplicateSlot) {
  Records r;
  r.instances[0].attached[1].slot = 0;
  r.disks[1].slot = 0;

  EXPECT_EQ(r.Check(), Lines{"instance 00000000-0000-0000-0000-000000000001 (vm1) uses slot 0 twice"});
}

TEST(CheckAttachmentsTest, ReportsASlotOutOfRange) {
  Records r;
  r.instances[0].attached[1].slot = 12;
  r.disks[1].slot = 12;

  EXPECT_EQ(r.Check(), (Lines{"disk 00000000-0000-0000-0000-00000000000c (d12) has slot 12, outside 0-11",
                              "instance 00000000-0000-0000-0000-000000000001 (vm1) lists disk "
                              "00000000-0000-0000-0000-00000000000c at slot 12, outside 0-11"}));
}

TEST(CheckAttachmentsTest, ReportsMoreThanTwelveDisks) {
  Records r;
  r.instances[0].attached.clear();
  r.disks.clear();
  for (uint8_t i = 0; i < 13; ++i) {
    r.instances[0].attached.push_back({i, Id(100 + i)});
    r.disks.push_back(MakeDisk(100 + i, Id(1), i));
  }

  Lines got = r.Check();

  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front(), "disk 00000000-0000-0000-0000-000000000070 (d112) has slot 12, outside 0-11");
  EXPECT_NE(std::find(got.begin(), got.end(),
                      "instance 00000000-0000-0000-0000-000000000001 (vm1) has 13 disks attached, more than 12"),
            got.end());
}

TEST(CheckAttachmentsTest, ReportsADiskWhoseStateDisagreesWithItsAttachment) {
  Records r;
  r.disks[0].state = DiskState::kDetached;    // still names vm1
  r.disks[2].state = DiskState::kAttached;    // names nothing

  EXPECT_EQ(r.Check(), (Lines{"disk 00000000-0000-0000-0000-00000000000b (d11) is detached but names instance "
                              "00000000-0000-0000-0000-000000000001",
                              "disk 00000000-0000-0000-0000-00000000000d (d13) is attached but names no instance"}));
}

TEST(CheckAttachmentsTest, ReportsADetachedDiskThatKeptASlot) {
  Records r;
  r.disks[2].slot = 4;

  EXPECT_EQ(r.Check(), Lines{"disk 00000000-0000-0000-0000-00000000000d (d13) is detached but has slot 4"});
}

using CheckDatastoreAttachmentsTest = DatastoreTest;

TEST_F(CheckDatastoreAttachmentsTest, RecordsWrittenByTheDatastoreHaveNoViolation) {
  Instance vm = NewInstance("vm");
  NewAttachedDisk("a", vm);
  Disk b = NewAttachedDisk("b", vm);
  NewAttachedDisk("c", vm);
  Must(ds_->DetachDisk(b.id, vm.id));
  Must(ds_->DeleteDisk(b.id));
  NewDisk("loose");

  EXPECT_EQ(CheckAttachments(*ds_), Lines{});
}

}  // namespace
}  // namespace sagadb::testing
