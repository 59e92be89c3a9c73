// The power-loss Env keeps exactly what was made durable, and the Store loses nothing it acknowledged as
// durable when the power goes off.
#include "testing/power_loss_env.h"

#include <fmt/format.h>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/store.h"
#include "tests/test_util.h"

// Works for sagadb and RocksDB statuses alike, and says what went wrong.
#define ASSERT_OK(expr)                              \
  do {                                               \
    const auto _status = (expr);                     \
    ASSERT_TRUE(_status.ok()) << _status.ToString(); \
  } while (0)

namespace sagadb {
namespace {

using testing::Must;
using testing::PowerLossEnv;

// The file's content, or "<missing>".
std::string Contents(const std::string& path) {
  std::string data;
  if (!rocksdb::Env::Default()->FileExists(path).ok()) return "<missing>";
  EXPECT_TRUE(rocksdb::ReadFileToString(rocksdb::Env::Default(), path, &data).ok());
  return data;
}

// Writes a file around the power-loss Env: it is durable from the start.
void WriteDurably(const std::string& path, const std::string& data) {
  ASSERT_OK(rocksdb::WriteStringToFile(rocksdb::Env::Default(), data, path, /*should_sync=*/true));
}

class PowerLossEnvTest : public ::testing::Test {
 protected:
  std::unique_ptr<rocksdb::WritableFile> Create(const std::string& name) {
    std::unique_ptr<rocksdb::WritableFile> file;
    EXPECT_TRUE(env()->NewWritableFile(dir_.Sub(name), &file, rocksdb::EnvOptions()).ok());
    return file;
  }
  void SyncDir() {
    std::unique_ptr<rocksdb::Directory> d;
    ASSERT_OK(env()->NewDirectory(dir_.path(), &d));
    ASSERT_OK(d->Fsync());
  }
  rocksdb::Env* env() { return power_.env(); }

  testing::ScratchDir dir_;
  PowerLossEnv power_;
};

TEST_F(PowerLossEnvTest, FileKeepsOnlyTheBytesSyncedBeforeThePowerLoss) {
  auto file = Create("f");
  SyncDir();
  ASSERT_OK(file->Append("kept"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Append("-lost"));
  ASSERT_OK(file->Flush());
  ASSERT_OK(file->Close());  // closing is not syncing
  file.reset();

  ASSERT_OK(power_.DropUnsyncedData());
  EXPECT_EQ(Contents(dir_.Sub("f")), "kept");
}

TEST_F(PowerLossEnvTest, FileCreatedSinceItsDirectoryWasLastSyncedDisappears) {
  auto file = Create("f");
  ASSERT_OK(file->Append("synced data, but no directory entry"));
  ASSERT_OK(file->Sync());
  file.reset();

  ASSERT_OK(power_.DropUnsyncedData());
  EXPECT_EQ(Contents(dir_.Sub("f")), "<missing>");
}

TEST_F(PowerLossEnvTest, UnsyncedRenameIsUndoneAndTheReplacedFileComesBack) {
  WriteDurably(dir_.Sub("CURRENT"), "old");
  auto tmp = Create("CURRENT.tmp");
  ASSERT_OK(tmp->Append("new"));
  ASSERT_OK(tmp->Sync());
  tmp.reset();
  SyncDir();
  ASSERT_OK(env()->RenameFile(dir_.Sub("CURRENT.tmp"), dir_.Sub("CURRENT")));

  ASSERT_OK(power_.DropUnsyncedData());
  EXPECT_EQ(Contents(dir_.Sub("CURRENT")), "old");
  EXPECT_EQ(Contents(dir_.Sub("CURRENT.tmp")), "new");
}

TEST_F(PowerLossEnvTest, RenameFollowedByADirectorySyncSurvives) {
  WriteDurably(dir_.Sub("CURRENT"), "old");
  auto tmp = Create("CURRENT.tmp");
  ASSERT_OK(tmp->Append("new"));
  ASSERT_OK(tmp->Sync());
  tmp.reset();
  ASSERT_OK(env()->RenameFile(dir_.Sub("CURRENT.tmp"), dir_.Sub("CURRENT")));
  SyncDir();

  ASSERT_OK(power_.DropUnsyncedData());
  EXPECT_EQ(Contents(dir_.Sub("CURRENT")), "new");
  EXPECT_EQ(Contents(dir_.Sub("CURRENT.tmp")), "<missing>");
}

TEST_F(PowerLossEnvTest, UnsyncedDeleteIsUndone) {
  WriteDurably(dir_.Sub("f"), "content");
  ASSERT_OK(env()->DeleteFile(dir_.Sub("f")));
  ASSERT_EQ(Contents(dir_.Sub("f")), "<missing>");

  ASSERT_OK(power_.DropUnsyncedData());
  EXPECT_EQ(Contents(dir_.Sub("f")), "content");
}

TEST_F(PowerLossEnvTest, NothingDoneAfterTheCrashSurvives) {
  WriteDurably(dir_.Sub("old"), "old");
  auto file = Create("f");
  SyncDir();
  ASSERT_OK(file->Append("before"));
  ASSERT_OK(file->Sync());

  power_.Crash();
  // Everything still appears to work, so that the engine can shut down.
  ASSERT_OK(file->Append("-after"));
  ASSERT_OK(file->Sync());
  file.reset();
  auto late = Create("late");
  ASSERT_OK(late->Append("x"));
  ASSERT_OK(late->Sync());
  late.reset();
  ASSERT_OK(env()->DeleteFile(dir_.Sub("old")));
  SyncDir();
  EXPECT_EQ(Contents(dir_.Sub("f")), "before-after");

  ASSERT_OK(power_.DropUnsyncedData());
  EXPECT_EQ(Contents(dir_.Sub("f")), "before");
  EXPECT_EQ(Contents(dir_.Sub("late")), "<missing>");
  EXPECT_EQ(Contents(dir_.Sub("old")), "old");
  EXPECT_FALSE(power_.crashed());
}

TEST_F(PowerLossEnvTest, AfterTheCrashDestroyingDurableBytesIsRefused) {
  WriteDurably(dir_.Sub("f"), "durable");
  power_.Crash();
  std::unique_ptr<rocksdb::WritableFile> file;
  EXPECT_FALSE(env()->NewWritableFile(dir_.Sub("f"), &file, rocksdb::EnvOptions()).ok());
  ASSERT_OK(env()->ReopenWritableFile(dir_.Sub("f"), &file, rocksdb::EnvOptions()));
  EXPECT_FALSE(file->Truncate(3).ok());
  ASSERT_OK(file->Append("-and-more"));
  file.reset();

  ASSERT_OK(power_.DropUnsyncedData());
  EXPECT_EQ(Contents(dir_.Sub("f")), "durable");
}

TEST_F(PowerLossEnvTest, RefusesToDropWhileAFileIsStillOpenForWriting) {
  auto file = Create("f");
  SyncDir();
  ASSERT_OK(file->Append("unsynced"));

  Status s = power_.DropUnsyncedData();
  EXPECT_EQ(s.code(), Code::kInvalidRequest) << s.ToString();
  EXPECT_EQ(Contents(dir_.Sub("f")), "unsynced");

  file.reset();
  ASSERT_OK(power_.DropUnsyncedData());
  EXPECT_EQ(Contents(dir_.Sub("f")), "");
}

TEST_F(PowerLossEnvTest, ResetTakesEverythingOnDiskAsDurable) {
  auto file = Create("f");
  ASSERT_OK(file->Append("written"));
  file.reset();
  power_.Reset();

  ASSERT_OK(power_.DropUnsyncedData());
  EXPECT_EQ(Contents(dir_.Sub("f")), "written");
}

// --- The Store on the power-loss Env.

std::string Key(int round, int i) { return fmt::format("round{}-{:04d}", round, i); }

// The records of these tests live in one domain table.
constexpr char kTable[] = "instances";

Status PutRecord(Store& store, const std::string& key) {
  auto table = store.FindTable(kTable);
  if (!table.ok()) return table.status();
  Batch batch;
  batch.Put(*table, key, "value of " + key);
  return store.Write(batch);
}

// The database's table files.
int TableFiles(const std::string& path) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(path)) n += e.path().extension() == ".sst";
  return n;
}

// Cuts the power right after write number `n` is acknowledged, as a crash test would.
class CrashAfterWrite : public StoreHooks {
 public:
  CrashAfterWrite(PowerLossEnv* power, uint64_t n) : power_(power), n_(n) {}
  Status BeforeWrite(uint64_t) override { return Status::OK(); }
  void AfterWrite(uint64_t n) override {
    if (n == n_) power_->Crash();
  }

 private:
  PowerLossEnv* power_;
  const uint64_t n_;
};

class StorePowerLossTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> Open(bool sync) {
    StoreConfig config;
    config.path = dir_.Sub("db");
    config.env = power_.env();
    config.options.sync = sync;
    config.tables = {kTable};
    auto store = Store::Open(config);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  // The records of one round that survived, in key order.
  std::vector<std::string> Surviving(Store& store, int round) {
    std::vector<std::string> keys;
    auto it = store.NewCursor(Must(store.FindTable(kTable)));
    const std::string prefix = fmt::format("round{}-", round);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      EXPECT_EQ(std::string(it->value()), "value of " + std::string(it->key()));
      keys.push_back(std::string(it->key()));
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return keys;
  }
  static std::vector<std::string> Keys(int round, int from, int to) {
    std::vector<std::string> keys;
    for (int i = from; i < to; ++i) keys.push_back(Key(round, i));
    return keys;
  }

  testing::ScratchDir dir_;
  PowerLossEnv power_;
};

TEST_F(StorePowerLossTest, EveryAcknowledgedSyncedWriteSurvives) {
  constexpr int kN = 200;
  auto store = Open(/*sync=*/true);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < kN; ++i) ASSERT_OK(PutRecord(*store, Key(0, i)));
  store.reset();

  ASSERT_OK(power_.DropUnsyncedData());
  store = Open(/*sync=*/true);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Surviving(*store, 0), Keys(0, 0, kN));
}

// A flush adds table files, appends to the MANIFEST and deletes the old WAL: every step must be durable in
// the right order for the records to survive. The Store has no flush of its own to call; the open after a
// clean close flushes what the WAL holds into table files (RocksDB's recovery), which is such a flush.
TEST_F(StorePowerLossTest, AcknowledgedWritesSurviveAMemtableFlush) {
  auto store = Open(/*sync=*/true);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 100; ++i) ASSERT_OK(PutRecord(*store, Key(0, i)));
  store.reset();
  ASSERT_EQ(TableFiles(dir_.Sub("db")), 0);
  store = Open(/*sync=*/true);
  ASSERT_NE(store, nullptr);
  ASSERT_GT(TableFiles(dir_.Sub("db")), 0);  // the records of the first 100 writes were flushed
  for (int i = 100; i < 200; ++i) ASSERT_OK(PutRecord(*store, Key(0, i)));
  power_.Crash();
  store.reset();

  ASSERT_OK(power_.DropUnsyncedData());
  store = Open(/*sync=*/true);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Surviving(*store, 0), Keys(0, 0, 200));
}

TEST_F(StorePowerLossTest, UnsyncedWritesAreLostAndTheDatabaseStillOpens) {
  auto store = Open(/*sync=*/false);
  ASSERT_NE(store, nullptr);
  const Uuid id = store->database_id();  // written with a synced batch at open
  for (int i = 0; i < 100; ++i) ASSERT_OK(PutRecord(*store, Key(0, i)));
  ASSERT_EQ(Surviving(*store, 0).size(), 100u);
  power_.Crash();
  store.reset();

  ASSERT_OK(power_.DropUnsyncedData());
  store = Open(/*sync=*/false);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->database_id(), id);
  EXPECT_EQ(store->open_generation(), 2u);
  EXPECT_EQ(Surviving(*store, 0), std::vector<std::string>{});
}

// The Store never syncs the WAL on its own when sync is off, and exposes no sync: the writes and the WAL sync
// go through plain RocksDB on the same database and Env, and the Store reads back what survived.
TEST_F(StorePowerLossTest, UnsyncedWritesSurviveUpToTheLastWalSync) {
  auto store = Open(/*sync=*/false);
  ASSERT_NE(store, nullptr);
  store.reset();
  {
    rocksdb::DBOptions options;
    options.env = power_.env();
    std::vector<std::string> names;
    ASSERT_OK(rocksdb::DB::ListColumnFamilies(options, dir_.Sub("db"), &names));
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_OK(rocksdb::DB::Open(options, dir_.Sub("db"), cfs, &handles, &raw));
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* table = nullptr;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == kTable) table = handles[i];
    }
    ASSERT_NE(table, nullptr);
    rocksdb::WriteOptions unsynced;
    unsynced.sync = false;
    for (int i = 0; i < 50; ++i) ASSERT_OK(db->Put(unsynced, table, Key(0, i), "value of " + Key(0, i)));
    ASSERT_OK(db->SyncWAL());
    for (int i = 50; i < 100; ++i) ASSERT_OK(db->Put(unsynced, table, Key(0, i), "value of " + Key(0, i)));
    power_.Crash();
    for (auto* h : handles) ASSERT_OK(db->DestroyColumnFamilyHandle(h));
    ASSERT_OK(db->Close());
  }

  ASSERT_OK(power_.DropUnsyncedData());
  store = Open(/*sync=*/false);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Surviving(*store, 0), Keys(0, 0, 50));
}

// The shape of a crash test: the power goes off right after the Nth acknowledged write while the workload
// goes on; the engine is torn down, the disk rewound, the database reopened. Several rounds on one database.
TEST_F(StorePowerLossTest, ExactlyTheWritesAcknowledgedBeforeTheCrashSurviveEachRound) {
  constexpr int kRounds = 3;
  constexpr int kCrashAfter = 40;
  for (int round = 0; round < kRounds; ++round) {
    auto store = Open(/*sync=*/true);
    ASSERT_NE(store, nullptr);
    CrashAfterWrite hooks(&power_, kCrashAfter);
    store->SetHooks(&hooks);
    for (int i = 0; i < 2 * kCrashAfter; ++i) ASSERT_OK(PutRecord(*store, Key(round, i)));
    ASSERT_TRUE(power_.crashed());
    store.reset();
    ASSERT_OK(power_.DropUnsyncedData());

    store = Open(/*sync=*/true);
    ASSERT_NE(store, nullptr);
    for (int r = 0; r <= round; ++r) EXPECT_EQ(Surviving(*store, r), Keys(r, 0, kCrashAfter)) << "round " << r;
    store.reset();
    power_.Reset();
  }
}

}  // namespace
}  // namespace sagadb
