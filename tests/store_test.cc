#include "engine/store.h"

#include <gtest/gtest.h>

#include "engine/datastore.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

TEST(StoreTest, CreatesDatabaseAndKeepsItsIdAcrossReopen) {
  testing::ScratchDir dir;
  StoreOptions opts;
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

}  // namespace
}  // namespace sagadb
