// The open's own metadata write takes the store's one write path: hooks see it (as write number 0), it is
// synced, and a fault there fails the open having written nothing.
#include <gtest/gtest.h>

#include <string>

#include "engine/fault_injector.h"
#include "engine/store.h"
#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

TEST(StoreOpenWriteTest, HooksSeeTheMetadataWriteOfAnOpenAsWriteNumberZero) {
  ScratchDir dir;
  FaultInjector faults;
  faults.FailWrite(0, Status::IOError("injected at the metadata write"));
  StoreConfig config = ConfigAt(dir.Sub("db"));
  config.hooks = &faults;

  EXPECT_EQ(Store::Open(config).status(), Status::IOError("injected at the metadata write"));
  EXPECT_EQ(faults.injected_failures(), 1u);

  config.hooks = nullptr;
  auto store = Store::Open(config);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->open_generation(), 1u);  // the refused open wrote nothing
  EXPECT_EQ((*store)->write_attempts(), 0u);   // the store's own writes are numbered from 1
  EXPECT_EQ((*store)->synced_writes(), 1u);
}

// Crash points are off until set: write number 0 (every read-write open's) is no crash point by default.
TEST(StoreOpenWriteTest, AFaultInjectorInstalledAtOpenLetsTheOpenWrite) {
  ScratchDir dir;
  FaultInjector faults;
  faults.CrashAfterWrite(5);
  StoreConfig config = ConfigAt(dir.Sub("db"));
  config.hooks = &faults;
  auto store = Store::Open(config);  // would have ended the process at its write 0
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(faults.injected_failures(), 0u);
}

TEST(StoreOpenWriteTest, TheMetadataWriteIsSyncedEvenWhenWritesAreNot) {
  ScratchDir dir;
  StoreConfig config = ConfigAt(dir.Sub("db"));
  config.options.sync = false;
  auto store = Store::Open(config);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->synced_writes(), 1u);
  EXPECT_EQ((*store)->Write(OneWrite("a")), Status::OK());
  EXPECT_EQ((*store)->synced_writes(), 1u);
}

}  // namespace
}  // namespace sagadb::testing
