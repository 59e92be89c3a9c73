// The power-loss Env keeps exactly what was made durable.
#include "tests/power_loss_env.h"

#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/test_util.h"

// Works for sagadb and RocksDB statuses alike, and says what went wrong.
#define ASSERT_OK(expr)                              \
  do {                                               \
    const auto _status = (expr);                     \
    ASSERT_TRUE(_status.ok()) << _status.ToString(); \
  } while (0)

namespace sagadb {
namespace {

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

}  // namespace
}  // namespace sagadb
