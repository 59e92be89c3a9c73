// Damaged bytes on disk. Every read verifies the record before using it, so a damaged record is a Corruption
// that names the column family and the key (never a crash, never a garbage value), and it does not hide the
// records around it.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "controlplane/names.h"
#include "engine/batch.h"
#include "schema/codec.h"
#include "tests/datastore_fixture.h"
#include "tests/invariants.h"

namespace sagadb::testing {
namespace {

class CorruptionTest : public DatastoreTest {
 protected:
  // Replaces the stored value under `key` of the table named `table` behind the datastore's back.
  void Overwrite(std::string_view table, std::string_view key, std::string_view value) {
    Batch batch;
    batch.Put(Table(table), key, value);
    ASSERT_EQ(store_->Write(batch), Status::OK());
  }
  std::string Stored(std::string_view table, std::string_view key) { return Must(store_->Get(Table(table), key)); }
};

// One way of damaging a valid encoded record, and the reason Decode gives for it.
struct Damage {
  const char* label;
  std::string (*apply)(std::string bytes);
  const char* why_disk;  // after "disks/<id>: "
};

const Damage kDamages[] = {
    {"garbage", [](std::string) { return std::string("this is not a flatbuffer at all"); },
     "not a SDBD record (wrong size or file identifier)"},
    {"empty", [](std::string) { return std::string(); }, "not a SDBD record (wrong size or file identifier)"},
    {"flipped_identifier",
     [](std::string b) {
       for (int i = 4; i < 8; ++i) b[i] = static_cast<char>(b[i] ^ 0xff);
       return b;
     },
     "not a SDBD record (wrong size or file identifier)"},
    {"root_offset_out_of_range",
     [](std::string b) {
       for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(0x7f);
       return b;
     },
     "record failed FlatBuffers verification"},
    {"truncated", [](std::string b) { return b.substr(0, b.size() / 2); }, "record failed FlatBuffers verification"},
};

class DamagedDiskTest : public CorruptionTest, public ::testing::WithParamInterface<Damage> {};

TEST_P(DamagedDiskTest, ReadingItIsCorruptionNamingTheColumnFamilyAndKeyAndOtherDisksStillRead) {
  Disk a = NewDisk("a");
  Disk bad = NewDisk("bad");
  Disk c = NewDisk("c");
  Overwrite("disks", bad.id.AsBytes(), GetParam().apply(Stored("disks", bad.id.AsBytes())));
  const Status want = Status::Corruption("disks/" + bad.id.ToString() + ": " + GetParam().why_disk);

  EXPECT_EQ(ds_->GetDisk(bad.id).status(), want);
  EXPECT_EQ(Reread(a), a);
  EXPECT_EQ(Reread(c), c);
  Listing<Disk> listing = ds_->ListDisks();
  std::vector<Disk> good = {a, c};
  std::sort(good.begin(), good.end(), [](const Disk& x, const Disk& y) { return x.id < y.id; });
  EXPECT_EQ(listing.records, good);
  EXPECT_EQ(listing.errors, std::vector<Status>{want});
}

INSTANTIATE_TEST_SUITE_P(Damages, DamagedDiskTest, ::testing::ValuesIn(kDamages),
                         [](const auto& info) { return std::string(info.param.label); });

TEST_F(CorruptionTest, AValidBufferWithAnUnknownStateIsCorruption) {
  Disk disk = NewDisk("data");
  Instance vm = NewInstance("vm");
  Disk bad_disk = disk;
  bad_disk.state = static_cast<DiskState>(200);
  Instance bad_vm = vm;
  bad_vm.state = static_cast<InstanceState>(7);
  Overwrite("disks", disk.id.AsBytes(), Encode(bad_disk));
  Overwrite("instances", vm.id.AsBytes(), Encode(bad_vm));

  EXPECT_EQ(ds_->GetDisk(disk.id).status(),
            Status::Corruption("disks/" + disk.id.ToString() + ": state has unknown value 200"));
  EXPECT_EQ(ds_->GetInstance(vm.id).status(),
            Status::Corruption("instances/" + vm.id.ToString() + ": state has unknown value 7"));
}

TEST_F(CorruptionTest, ADamagedInstanceIsCorruptionAndOtherInstancesStillRead) {
  Instance good = NewInstance("good");
  Instance bad = NewInstance("bad");
  Overwrite("instances", bad.id.AsBytes(), "\x01\x02\x03");
  const Status want =
      Status::Corruption("instances/" + bad.id.ToString() + ": not a SDBI record (wrong size or file identifier)");

  EXPECT_EQ(ds_->GetInstance(bad.id).status(), want);
  EXPECT_EQ(Reread(good), good);
  Listing<Instance> listing = ds_->ListInstances();
  EXPECT_EQ(listing.records, std::vector<Instance>{good});
  EXPECT_EQ(listing.errors, std::vector<Status>{want});
}

TEST_F(CorruptionTest, AMutationThatReadsADamagedRecordFailsAndWritesNothing) {
  Instance vm = NewInstance("vm");
  Disk disk = NewDisk("data");
  Instance other = NewInstance("other");
  Disk other_disk = NewDisk("other-data");
  Overwrite("disks", disk.id.AsBytes(), "garbage");
  Overwrite("instances", other.id.AsBytes(), "garbage");
  const auto before = RawContents(*store_);

  EXPECT_EQ(ds_->AttachDisk(disk.id, vm.id).status().code(), Code::kCorruption);
  EXPECT_EQ(ds_->AttachDisk(other_disk.id, other.id).status().code(), Code::kCorruption);
  EXPECT_EQ(ds_->DeleteDisk(disk.id).status().code(), Code::kCorruption);
  EXPECT_EQ(ds_->DeleteInstance(other.id).status().code(), Code::kCorruption);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_F(CorruptionTest, TheInvariantCheckReportsAnUnreadableRecord) {
  Disk disk = NewDisk("data");
  Overwrite("disks", disk.id.AsBytes(), "garbage");

  EXPECT_EQ(CheckAttachments(*ds_),
            std::vector<std::string>{"unreadable disk record: Corruption: disks/" + disk.id.ToString() +
                                     ": not a SDBD record (wrong size or file identifier)"});
}

TEST_F(CorruptionTest, ADamagedNameEntryIsCorruption) {
  NewDisk("data");
  Overwrite("names", NameKey(kProject, NameKind::kDisk, "data"), "short");

  EXPECT_EQ(ds_->LookupDisk(kProject, "data").status(), Status::Corruption("names: entry is not a 16-byte id"));
}

TEST_F(CorruptionTest, ADamagedSchemaVersionRefusesTheOpen) {
  Overwrite("meta", "schema_version", "x");
  Close();

  EXPECT_EQ(Store::Open(Config()).status(), Status::Corruption("meta/schema_version is not a 4-byte integer"));
}

}  // namespace
}  // namespace sagadb::testing
