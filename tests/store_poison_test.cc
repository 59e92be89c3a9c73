// What the store does when the disk fails it. A failed write, sync or flush poisons the store: every later write
// is refused with the first error (no more writes reach the disk), RocksDB does not resume on its own, and a
// reopen clears it. A full disk is NoSpace. Nothing aborts the process.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "engine/store.h"
#include "tests/fault_file_system.h"
#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

StoreConfig Config(const std::string& path, rocksdb::Env* env = nullptr) {
  StoreConfig config;
  config.path = path;
  config.env = env;
  return config;
}

Batch OneWrite(const std::string& key, size_t value_bytes = 16) {
  Batch batch;
  batch.Put(kSagasTable, key, std::string(value_bytes, 'v'));
  return batch;
}

class StoreFailureTest : public ::testing::Test {
 protected:
  void Open(StoreOptions options = {}) {
    auto config = Config(dir_.Sub("db"), faults_.env());
    config.options = options;
    auto store = Store::Open(config);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  ScratchDir dir_;
  FaultFileSystem faults_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreFailureTest, AFailedSyncPoisonsTheStoreAndEveryLaterWriteFailsWithItWithoutTouchingTheDisk) {
  Open();
  ASSERT_EQ(store_->Write(OneWrite("a")), Status::OK());
  faults_.FailAt(FaultFileSystem::kSyncs, 1, FaultFileSystem::DeviceError(), /*sticky=*/false, ".log");

  const Status first = store_->Write(OneWrite("b"));

  EXPECT_EQ(first.code(), Code::kIOError) << first.ToString();
  EXPECT_EQ(store_->poisoned(), first);
  // The device works again, but nothing is written through a log that failed.
  faults_.CountFrom(FaultFileSystem::kWrites | FaultFileSystem::kSyncs);
  for (const char* key : {"c", "d"}) {
    const Status later = store_->Write(OneWrite(key));
    EXPECT_EQ(later.code(), Code::kIOError);
    EXPECT_TRUE(later.message().starts_with(first.message())) << later.ToString();
  }
  EXPECT_EQ(faults_.counted(), 0u);

  store_.reset();
  Open();
  EXPECT_EQ(store_->poisoned(), Status::OK());
  EXPECT_EQ(store_->Write(OneWrite("e")), Status::OK());
  EXPECT_EQ(Must(store_->Get(kSagasTable, "a")), std::string(16, 'v'));
  EXPECT_TRUE(store_->Get(kSagasTable, "c").status().IsNotFound());
}

TEST_F(StoreFailureTest, AFullDiskIsNoSpaceNamingTheDatabaseAndWhatIsLeft) {
  Open();
  faults_.FailAt(FaultFileSystem::kWrites | FaultFileSystem::kSyncs, 1, FaultFileSystem::NoSpace(), /*sticky=*/true);

  const Status first = store_->Write(OneWrite("a"));

  EXPECT_EQ(first.code(), Code::kNoSpace) << first.ToString();
  EXPECT_TRUE(first.message().starts_with("no space left on " + dir_.Sub("db") + " (")) << first.ToString();
  EXPECT_NE(first.message().find(" free): write: "), std::string::npos) << first.ToString();
  EXPECT_EQ(first.ToString().substr(0, 9), "NoSpace: ");
  const Status later = store_->Write(OneWrite("b"));
  EXPECT_EQ(later.code(), Code::kNoSpace);
  EXPECT_TRUE(later.message().starts_with(first.message())) << later.ToString();
  EXPECT_FALSE(later.IsRetryable());
}

// A flush that cannot write its table poisons the store although no Write failed, and RocksDB does not recover
// on its own (it would flush again as soon as it saw free space, through the writer that failed).
TEST_F(StoreFailureTest, AFailedFlushPoisonsTheStoreAndRocksDbDoesNotResumeOnItsOwn) {
  StoreOptions small;
  small.write_buffer_bytes = 64 << 10;
  Open(small);
  faults_.FailAt(FaultFileSystem::kWrites | FaultFileSystem::kSyncs, 1, FaultFileSystem::NoSpace(), /*sticky=*/false,
                 ".sst");

  Status st;
  for (int i = 0; i < 10'000 && store_->poisoned().ok(); ++i) st = store_->Write(OneWrite(std::to_string(i), 1024));
  ASSERT_NE(store_->poisoned(), Status::OK()) << "no flush happened";
  EXPECT_EQ(faults_.failed(), 1u);

  const uint64_t ops = faults_.counted();
  const Status first = store_->poisoned();
  EXPECT_EQ(first.code(), Code::kNoSpace) << first.ToString();
  EXPECT_NE(first.message().find(": flush: "), std::string::npos) << first.ToString();
  // Space is back; RocksDB's own recovery would flush again once its flush thread has paused a second after the
  // failure (and would then take writes again).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(faults_.counted(), ops);
  faults_.CountFrom(FaultFileSystem::kWrites | FaultFileSystem::kSyncs);
  const Status later = store_->Write(OneWrite("after"));
  EXPECT_EQ(later.code(), Code::kNoSpace);
  EXPECT_TRUE(later.message().starts_with(first.message())) << later.ToString();
  store_.reset();  // closes without flushing again
  EXPECT_EQ(faults_.counted(), 0u);
}

// A retryable I/O error (not NoSpace) in a flush: RocksDB would resume by itself after a second.
TEST_F(StoreFailureTest, ARetryableFlushErrorIsNotRetriedByRocksDb) {
  StoreOptions small;
  small.write_buffer_bytes = 64 << 10;
  Open(small);
  rocksdb::IOStatus retryable = FaultFileSystem::DeviceError();
  retryable.SetRetryable(true);
  faults_.FailAt(FaultFileSystem::kWrites, 1, retryable, /*sticky=*/false, ".sst");

  for (int i = 0; i < 10'000 && store_->poisoned().ok(); ++i) (void)store_->Write(OneWrite(std::to_string(i), 1024));
  ASSERT_NE(store_->poisoned(), Status::OK()) << "no flush happened";
  EXPECT_EQ(store_->poisoned().code(), Code::kIOError) << store_->poisoned().ToString();

  faults_.CountFrom(FaultFileSystem::kWrites | FaultFileSystem::kSyncs);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(faults_.counted(), 0u);
}

// The disk fills while a table is flushed (the write-ahead log still has room in its preallocated blocks), and
// stays full while the store closes. RocksDB's own info log used to be written through the same file system:
// the failed flush is logged as an error, which flushes the info log, which fails; the next line logged then
// tripped an assertion in RocksDB (sync_without_flush_called_) and aborted the process.
TEST_F(StoreFailureTest, ADiskThatFillsUpDuringAFlushNeverAbortsTheProcess) {
  StoreOptions small;
  small.write_buffer_bytes = 64 << 10;
  Open(small);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(store_->Write(OneWrite("before" + std::to_string(i), 1024)), Status::OK());
  faults_.FailAt(FaultFileSystem::kWrites | FaultFileSystem::kSyncs, 1, FaultFileSystem::NoSpace(), /*sticky=*/true,
                 [](std::string_view name) { return !name.ends_with(".log"); });

  Status st;
  for (int i = 0; i < 2000 && st.ok(); ++i) st = store_->Write(OneWrite(std::to_string(i), 1024));
  EXPECT_EQ(st.code(), Code::kNoSpace) << st.ToString();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(store_->Write(OneWrite("more", 1024)).code(), Code::kNoSpace);
  store_.reset();
  faults_.Clear();
  Open();
  EXPECT_EQ(Must(store_->Get(kSagasTable, "before49")), std::string(1024, 'v'));
}

TEST_F(StoreFailureTest, AStorePoisonedByAFullDiskOpensAgainOnceThereIsSpace) {
  Open();
  ASSERT_EQ(store_->Write(OneWrite("kept")), Status::OK());
  faults_.FailAt(FaultFileSystem::kWrites | FaultFileSystem::kSyncs, 1, FaultFileSystem::NoSpace(), /*sticky=*/true);
  EXPECT_EQ(store_->Write(OneWrite("lost")).code(), Code::kNoSpace);
  store_.reset();

  // Still full: the open fails, as NoSpace, and changes nothing.
  auto refused = Store::Open(Config(dir_.Sub("db"), faults_.env()));
  EXPECT_EQ(refused.status().code(), Code::kNoSpace) << refused.status().ToString();

  faults_.Clear();
  Open();
  EXPECT_EQ(Must(store_->Get(kSagasTable, "kept")), std::string(16, 'v'));
  EXPECT_EQ(store_->Write(OneWrite("later")), Status::OK());
}

}  // namespace
}  // namespace sagadb::testing
