// Opening the database: what survives a reopen, and which directories and concurrent opens are refused.
#include "engine/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <fstream>
#include <memory>
#include <vector>

#include "controlplane/datastore.h"
#include "engine/keys.h"
#include "tests/datastore_fixture.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::DatastoreTest;
using testing::Must;

StoreConfig At(const std::string& path, OpenMode mode = OpenMode::kReadWrite) {
  StoreConfig config;
  config.path = path;
  config.mode = mode;
  config.tables = {kInstancesTable, kDisksTable, kNamesTable};
  return config;
}

// One meta value read with plain RocksDB (read-only), bypassing sagadb's open path entirely.
std::string RawMeta(const std::string& path, const std::string& key) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}}, {"meta", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, cfs, &handles, &raw);
  if (!s.ok()) throw std::runtime_error(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), handles[1], key, &value);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  if (!s.ok()) throw std::runtime_error(s.ToString());
  return value;
}

TEST(StoreTest, CreatesDatabaseAndKeepsItsIdAcrossReopen) {
  testing::ScratchDir dir;
  StoreConfig opts;
  opts.path = dir.Sub("db");
  Uuid id;
  {
    auto store = Store::Open(opts);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    id = (*store)->database_id();
    EXPECT_EQ((*store)->open_generation(), 1u);
  }
  auto store = Store::Open(opts);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->database_id(), id);
  EXPECT_EQ((*store)->open_generation(), 2u);
}

using ReopenTest = DatastoreTest;

TEST_F(ReopenTest, EveryRecordAndNameReadsBackIdenticallyAfterReopen) {
  Instance vm = NewInstance("vm");
  Instance creating = NewInstance("creating", InstanceState::kCreating, "other");
  Disk boot = NewAttachedDisk("boot", vm);
  Disk data = NewAttachedDisk("data", vm);
  Must(ds_->SetBootDisk(vm.id, boot.id));
  Disk loose = NewDisk("loose", DiskState::kFaulted);
  Disk gone = NewDisk("gone");
  Must(ds_->DeleteDisk(gone.id));
  const Listing<Instance> instances = ds_->ListInstances();
  const Listing<Disk> disks = ds_->ListDisks();
  ASSERT_EQ(instances.records.size(), 2u);
  ASSERT_EQ(disks.records.size(), 4u);

  Reopen();

  const Listing<Instance> instances_after = ds_->ListInstances();
  const Listing<Disk> disks_after = ds_->ListDisks();
  EXPECT_TRUE(instances_after.errors.empty());
  EXPECT_TRUE(disks_after.errors.empty());
  EXPECT_EQ(instances_after.records, instances.records);
  EXPECT_EQ(disks_after.records, disks.records);
  EXPECT_EQ(Must(ds_->GetInstance(vm.id)).boot_disk_id, boot.id);
  EXPECT_EQ(Must(ds_->LookupInstance(testing::kProject, "vm")), vm.id);
  EXPECT_EQ(Must(ds_->LookupInstance("other", "creating")), creating.id);
  EXPECT_EQ(Must(ds_->LookupDisk(testing::kProject, "data")), data.id);
  EXPECT_EQ(Must(ds_->LookupDisk(testing::kProject, "loose")), loose.id);
  EXPECT_TRUE(ds_->LookupDisk(testing::kProject, "gone").status().IsNotFound());
}

TEST(StoreOpenTest, ANewerSchemaVersionIsRefusedAndLeavesTheDatabaseUnchanged) {
  testing::ScratchDir dir;
  const std::string path = dir.Sub("db");
  const std::string newer = BigEndian32(kSchemaVersion + 1);
  {
    auto store = Must(Store::Open(At(path)));
    Batch batch;
    batch.Put(kMetaTable, "schema_version", newer);
    ASSERT_EQ(store->Write(batch), Status::OK());
  }

  auto r = Store::Open(At(path));

  EXPECT_EQ(r.status().code(), Code::kInvalidRequest) << r.status().ToString();
  EXPECT_NE(r.status().message().find("newer"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(RawMeta(path, "schema_version"), newer);
  EXPECT_EQ(RawMeta(path, "open_generation"), BigEndian64(1));  // the refused open did not count itself
}

TEST(StoreOpenTest, ANonEmptyDirectoryWithoutADatabaseIsRefused) {
  testing::ScratchDir dir;
  std::ofstream(dir.Sub("notes.txt")) << "not a database\n";

  auto r = Store::Open(At(dir.path()));

  EXPECT_EQ(r.status().code(), Code::kInvalidRequest) << r.status().ToString();
  EXPECT_NE(r.status().message().find("not a sagadb database"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(std::vector<std::filesystem::path>(std::filesystem::directory_iterator(dir.path()), {}),
            std::vector<std::filesystem::path>{dir.Sub("notes.txt")});
}

TEST(StoreOpenTest, ARocksDbDatabaseThatIsNotSagadbIsRefusedAndNotModified) {
  testing::ScratchDir dir;
  const std::string path = dir.Sub("foreign");
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "key", "value").ok());
  }

  auto r = Store::Open(At(path));

  EXPECT_EQ(r.status().code(), Code::kInvalidRequest) << r.status().ToString();
  EXPECT_NE(r.status().message().find("not a sagadb database"), std::string::npos) << r.status().ToString();
  std::vector<std::string> cfs;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &cfs).ok());
  EXPECT_EQ(cfs, std::vector<std::string>{rocksdb::kDefaultColumnFamilyName});
}

TEST(StoreOpenTest, ASecondReadWriteOpenWhileTheFirstIsOpenIsAConflict) {
  testing::ScratchDir dir;
  const std::string path = dir.Sub("db");
  auto first = Must(Store::Open(At(path)));

  auto second = Store::Open(At(path));

  EXPECT_EQ(second.status().code(), Code::kConflict) << second.status().ToString();
  EXPECT_NE(second.status().message().find("already open in this process"), std::string::npos)
      << second.status().ToString();
  first.reset();
  EXPECT_EQ(Store::Open(At(path)).status(), Status::OK());
}

TEST(StoreOpenTest, InspectionModesNeedAnExistingDatabase) {
  testing::ScratchDir dir;
  const std::string path = dir.Sub("db");

  EXPECT_EQ(Store::Open(At(path, OpenMode::kSecondary)).status(),
            Status::NotFound("no sagadb database at " + path));
  EXPECT_EQ(Store::Open(At(path, OpenMode::kReadOnly)).status(), Status::NotFound("no sagadb database at " + path));
  EXPECT_EQ(Store::Open(At("")).status(), Status::InvalidRequest("database path is empty"));
  EXPECT_FALSE(std::filesystem::exists(path));
}

using SecondaryTest = DatastoreTest;

TEST_F(SecondaryTest, ASecondarySeesThePrimarysWritesAfterCatchUpAndCannotWrite) {
  Disk before_open = NewDisk("early");
  auto secondary = Must(Store::Open(At(path_, OpenMode::kSecondary)));
  // Record locks of its own, so that a mutation gets as far as the store's write, which must refuse it.
  KeyLocks reader_locks;
  const std::unique_ptr<Datastore> reader_ds = Must(Datastore::Open(secondary.get(), &reader_locks));
  Datastore& reader = *reader_ds;
  EXPECT_EQ(Must(reader.GetDisk(before_open.id)), before_open);

  Disk later = NewDisk("later");
  Instance vm = NewInstance("vm");
  Disk attached = Must(ds_->AttachDisk(later.id, vm.id));
  EXPECT_TRUE(reader.GetDisk(later.id).status().IsNotFound());  // not caught up yet

  ASSERT_EQ(secondary->CatchUp(), Status::OK());

  EXPECT_EQ(Must(reader.GetDisk(later.id)), attached);
  EXPECT_EQ(Must(reader.GetInstance(vm.id)), Reread(vm));
  EXPECT_EQ(reader.ListDisks().records, ds_->ListDisks().records);
  Batch batch;
  batch.Put(kMetaTable, "k", "v");
  EXPECT_EQ(secondary->Write(batch), Status::InvalidRequest("the database is open for inspection only"));
  EXPECT_EQ(reader.DeleteDisk(before_open.id).status(),
            Status::InvalidRequest("the database is open for inspection only"));
  EXPECT_EQ(Reread(before_open), before_open);
}

TEST_F(SecondaryTest, AReadOnlyOpenOfAClosedDatabaseReadsEverythingAndCannotWrite) {
  Instance vm = NewInstance("vm");
  Disk disk = NewAttachedDisk("data", vm);
  const Instance vm_now = Reread(vm);
  Close();

  auto store = Must(Store::Open(At(path_, OpenMode::kReadOnly)));
  KeyLocks reader_locks;
  const std::unique_ptr<Datastore> reader_ds = Must(Datastore::Open(store.get(), &reader_locks));
  Datastore& reader = *reader_ds;

  EXPECT_EQ(Must(reader.GetDisk(disk.id)), disk);
  EXPECT_EQ(Must(reader.GetInstance(vm.id)), vm_now);
  EXPECT_EQ(reader.DetachDisk(disk.id, vm.id).status(),
            Status::InvalidRequest("the database is open for inspection only"));
  EXPECT_EQ(store->open_generation(), 1u);  // inspection does not count as an open
}

}  // namespace
}  // namespace sagadb

namespace sagadb {
namespace {

TEST(StoreTest, ColumnFamilyFromANewerSagadbIsRefusedAsNewer) {
  testing::ScratchDir dir;
  StoreConfig opts;
  opts.path = dir.Sub("db");
  { ASSERT_TRUE(Store::Open(opts).ok()); }
  {
    // A newer sagadb added a column family.
    rocksdb::Options o;
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, opts.path, &names).ok());
    for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(o, opts.path, cfs, &handles, &raw).ok());
    rocksdb::ColumnFamilyHandle* extra = nullptr;
    ASSERT_TRUE(raw->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "snapshots", &extra).ok());
    handles.push_back(extra);
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  auto store = Store::Open(opts);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kInvalidRequest);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
  EXPECT_NE(store.status().message().find("snapshots"), std::string::npos);
}

}  // namespace
}  // namespace sagadb
