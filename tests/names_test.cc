// Names (docs/DESIGN.md section 1): 1-63 characters, lowercase letters, digits and '-', starting with a letter; unique
// among the live records of one kind in one project. A destroyed record frees its name.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>

#include "tests/datastore_fixture.h"

namespace sagadb::testing {
namespace {

struct BadName {
  const char* label;  // the test instance's name
  std::string name;
  std::string rule;   // the end of the error message, after `<what> "<name>"`
};

class InvalidNameTest : public DatastoreTest, public ::testing::WithParamInterface<BadName> {
 protected:
  // The message ValidateName gives for this name when it describes `what`.
  std::string Message(const std::string& what) const {
    const BadName& p = GetParam();
    if (p.name.empty() || p.name.size() > 63) {
      return fmt::format("{} must be 1-63 characters long (got {})", what, p.name.size());
    }
    return fmt::format("{} \"{}\" {}", what, p.name, p.rule);
  }
};

TEST_P(InvalidNameTest, IsRefusedAsADiskNameAndNothingIsWritten) {
  DiskSpec spec{Uuid::Generate(), kProject, GetParam().name, 1 << 20, std::nullopt};
  const auto before = RawContents(*store_);
  const uint64_t attempts = store_->write_attempts();

  EXPECT_EQ(ds_->CreateDisk(spec).status(), Status::InvalidRequest(Message("disk name")));
  EXPECT_EQ(store_->write_attempts(), attempts);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_P(InvalidNameTest, IsRefusedAsAnInstanceNameAndNothingIsWritten) {
  InstanceSpec spec{Uuid::Generate(), kProject, GetParam().name, 1, 1 << 30, std::nullopt};
  const auto before = RawContents(*store_);
  const uint64_t attempts = store_->write_attempts();

  EXPECT_EQ(ds_->CreateInstance(spec).status(), Status::InvalidRequest(Message("instance name")));
  EXPECT_EQ(store_->write_attempts(), attempts);
  EXPECT_EQ(RawContents(*store_), before);
}

TEST_P(InvalidNameTest, IsRefusedAsAProjectNameAndNothingIsWritten) {
  DiskSpec disk{Uuid::Generate(), GetParam().name, "data", 1 << 20, std::nullopt};
  InstanceSpec vm{Uuid::Generate(), GetParam().name, "vm", 1, 1 << 30, std::nullopt};
  const auto before = RawContents(*store_);
  const uint64_t attempts = store_->write_attempts();

  EXPECT_EQ(ds_->CreateDisk(disk).status(), Status::InvalidRequest(Message("project")));
  EXPECT_EQ(ds_->CreateInstance(vm).status(), Status::InvalidRequest(Message("project")));
  EXPECT_EQ(store_->write_attempts(), attempts);
  EXPECT_EQ(RawContents(*store_), before);
}

INSTANTIATE_TEST_SUITE_P(
    Names, InvalidNameTest,
    ::testing::Values(BadName{"empty", "", ""}, BadName{"sixty_four_chars", std::string(64, 'a'), ""},
                      BadName{"uppercase", "Data", "must start with a lowercase letter"},
                      BadName{"uppercase_inside", "daTa", "may contain only lowercase letters, digits and '-'"},
                      BadName{"leading_digit", "1data", "must start with a lowercase letter"},
                      BadName{"leading_dash", "-data", "must start with a lowercase letter"},
                      BadName{"underscore", "my_data", "may contain only lowercase letters, digits and '-'"},
                      BadName{"space", "my data", "may contain only lowercase letters, digits and '-'"}),
    [](const auto& info) { return std::string(info.param.label); });

using NameTest = DatastoreTest;

TEST_F(NameTest, NamesAtTheLimitsOfTheRulesAreAccepted) {
  for (const std::string& name : {std::string("a"), std::string(63, 'z'), std::string("a-1-b2")}) {
    SCOPED_TRACE(name);
    Disk d = NewDisk(name);
    Instance i = NewInstance(name);
    EXPECT_EQ(d.name, name);
    EXPECT_EQ(Must(ds_->LookupDisk(kProject, name)), d.id);
    EXPECT_EQ(Must(ds_->LookupInstance(kProject, name)), i.id);
  }
}

TEST_F(NameTest, ALiveNameIsUniqueWithinItsProjectAndKind) {
  Disk disk = NewDisk("data");
  Instance vm = NewInstance("vm");
  const auto before = RawContents(*store_);

  DiskSpec disk_again{Uuid::Generate(), kProject, "data", 1 << 20, std::nullopt};
  InstanceSpec vm_again{Uuid::Generate(), kProject, "vm", 1, 1 << 30, std::nullopt};
  EXPECT_EQ(ds_->CreateDisk(disk_again).status(),
            Status::Conflict("a disk named \"data\" already exists in project \"project\""));
  EXPECT_EQ(ds_->CreateInstance(vm_again).status(),
            Status::Conflict("an instance named \"vm\" already exists in project \"project\""));
  EXPECT_EQ(RawContents(*store_), before);
  EXPECT_EQ(Must(ds_->LookupDisk(kProject, "data")), disk.id);
  EXPECT_EQ(Must(ds_->LookupInstance(kProject, "vm")), vm.id);
}

TEST_F(NameTest, TheSameNameMayBeUsedInAnotherProject) {
  Disk here = NewDisk("data", DiskState::kDetached, "here");
  Disk there = NewDisk("data", DiskState::kDetached, "there");
  Instance vm_here = NewInstance("vm", InstanceState::kStopped, "here");
  Instance vm_there = NewInstance("vm", InstanceState::kStopped, "there");

  EXPECT_EQ(Must(ds_->LookupDisk("here", "data")), here.id);
  EXPECT_EQ(Must(ds_->LookupDisk("there", "data")), there.id);
  EXPECT_EQ(Must(ds_->LookupInstance("here", "vm")), vm_here.id);
  EXPECT_EQ(Must(ds_->LookupInstance("there", "vm")), vm_there.id);
}

TEST_F(NameTest, ADiskAndAnInstanceMayShareAName) {
  Disk disk = NewDisk("web");
  Instance vm = NewInstance("web");

  EXPECT_EQ(Must(ds_->LookupDisk(kProject, "web")), disk.id);
  EXPECT_EQ(Must(ds_->LookupInstance(kProject, "web")), vm.id);
}

TEST_F(NameTest, ADestroyedDiskFreesItsNameForANewDisk) {
  Disk old = NewDisk("data");
  Disk destroyed = Must(ds_->DeleteDisk(old.id));

  Disk fresh = NewDisk("data");

  EXPECT_NE(fresh.id, old.id);
  EXPECT_EQ(Must(ds_->LookupDisk(kProject, "data")), fresh.id);
  EXPECT_EQ(Reread(old), destroyed);  // the destroyed record keeps its name, but no longer owns it
  EXPECT_EQ(destroyed.name, "data");
}

TEST_F(NameTest, ADestroyedInstanceFreesItsNameForANewInstance) {
  Instance old = NewInstance("vm");
  Instance destroyed = Must(ds_->DeleteInstance(old.id));

  Instance fresh = NewInstance("vm");

  EXPECT_NE(fresh.id, old.id);
  EXPECT_EQ(Must(ds_->LookupInstance(kProject, "vm")), fresh.id);
  EXPECT_EQ(Reread(old), destroyed);
}

}  // namespace
}  // namespace sagadb::testing
