// Batch: its entries read back exactly as staged, and a Store applies each kind, a range deletion removing
// exactly the keys of its range in its table, atomically with the rest of the batch and for good.
#include "engine/batch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/fault_injector.h"
#include "engine/store.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::Must;

struct Staged {
  Batch::Op op;
  TableId table;
  std::string key, value;
  bool operator==(const Staged&) const = default;
};

std::vector<Staged> Entries(const Batch& b) {
  std::vector<Staged> out;
  Batch::Reader r(b);
  Batch::Entry e;
  while (r.Next(&e)) out.push_back({e.op, e.table, std::string(e.key), std::string(e.value)});
  return out;
}

TEST(BatchTest, EveryKindOfEntryReadsBackInOrderWithItsTableAndBytes) {
  Batch b;
  b.Put(kSagasTable, "k1", "v1");
  b.DeleteRange(kSagaEventsTable, std::string("a\0b", 3), "a\xff");
  b.Delete(kSagaIndexTable, "k2");
  Batch tail;
  tail.DeleteRange(7, "", "");
  b.Append(tail);
  EXPECT_EQ(b.count(), 4u);
  EXPECT_EQ(b.payload_bytes(), 4u + 5u + 2u);
  EXPECT_EQ(Entries(b), (std::vector<Staged>{{Batch::Op::kPut, kSagasTable, "k1", "v1"},
                                             {Batch::Op::kDeleteRange, kSagaEventsTable, std::string("a\0b", 3), "a\xff"},
                                             {Batch::Op::kDelete, kSagaIndexTable, "k2", ""},
                                             {Batch::Op::kDeleteRange, 7, "", ""}}));
  b.Clear();
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(Entries(b).empty());
}

class StoreDeleteRangeTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> OpenStore() { return Must(Store::Open(testing::ConfigAt(path_))); }
  static std::vector<std::string> Keys(const Store& store, TableId table) {
    std::vector<std::string> out;
    auto it = store.NewCursor(table);
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key());
    Must(it->status());
    return out;
  }

  testing::ScratchDir dir_;
  const std::string path_ = dir_.Sub("db");
};

TEST_F(StoreDeleteRangeTest, ARangeDeletionRemovesExactlyTheKeysFromItsBeginToBeforeItsEndInItsTableOnly) {
  auto store = OpenStore();
  const std::vector<std::string> keys = {"a", "b", "b\x01", "bz", "c", std::string("c\0", 2), "d"};
  Batch fill;
  for (const std::string& k : keys) {
    fill.Put(kSagaEventsTable, k, "x");
    fill.Put(kSagasTable, k, "y");
  }
  Must(store->Write(fill));
  const auto sagas_before = Keys(*store, kSagasTable);

  Batch b;
  b.DeleteRange(kSagaEventsTable, "b", "c");
  b.Put(kSagaEventsTable, "e", "new");
  Must(store->Write(b));
  const std::vector<std::string> want = {"a", "c", std::string("c\0", 2), "d", "e"};
  EXPECT_EQ(Keys(*store, kSagaEventsTable), want);
  EXPECT_EQ(Keys(*store, kSagasTable), sagas_before);
  EXPECT_TRUE(store->Get(kSagaEventsTable, "bz").status().IsNotFound());
  EXPECT_EQ(Must(store->Get(kSagaEventsTable, "c")), "x");

  // A key written into the range after the deletion is there; the deletion holds across a reopen.
  Must(store->Write([] {
    Batch again;
    again.Put(kSagaEventsTable, "bb", "later");
    return again;
  }()));
  store.reset();
  store = OpenStore();
  const std::vector<std::string> after_reopen = {"a", "bb", "c", std::string("c\0", 2), "d", "e"};
  EXPECT_EQ(Keys(*store, kSagaEventsTable), after_reopen);
  EXPECT_EQ(Must(store->Get(kSagaEventsTable, "bb")), "later");
}

TEST_F(StoreDeleteRangeTest, ABatchWithARangeDeletionRefusedByTheHooksChangesNothing) {
  auto store = OpenStore();
  Batch fill;
  fill.Put(kSagaEventsTable, "k", "v");
  Must(store->Write(fill));
  const auto before = testing::RawContents(*store);
  FaultInjector refuse;
  refuse.FailWritesFrom(store->write_attempts() + 1, Status::IOError("injected"));
  store->SetHooks(&refuse);
  Batch b;
  b.DeleteRange(kSagaEventsTable, "a", "z");
  b.Put(kSagasTable, "r", "v");
  EXPECT_FALSE(store->Write(b).ok());
  store->SetHooks(nullptr);
  EXPECT_EQ(testing::RawContents(*store), before);
}

}  // namespace
}  // namespace sagadb
