// Uuid's text form: the canonical 8-4-4-4-12 hex, parsed and printed by hand, agreeing with libuuid's.
#include "sagadb/uuid.h"

#include <gtest/gtest.h>
#include <uuid/uuid.h>

#include <string>

namespace sagadb {
namespace {

TEST(UuidTest, PrintsAndParsesAsLibuuidDoes) {
  for (int i = 0; i < 1000; ++i) {
    const Uuid id = Uuid::Generate();
    char theirs[37];
    uuid_unparse_lower(id.bytes.data(), theirs);
    EXPECT_EQ(id.ToString(), std::string(theirs));
    auto back = Uuid::Parse(theirs);
    ASSERT_TRUE(back.has_value()) << theirs;
    EXPECT_EQ(*back, id);
  }
}

TEST(UuidTest, ParsesEitherCase) {
  auto lower = Uuid::Parse("0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a10");
  auto upper = Uuid::Parse("0B6C2A1E-8A7F-4C3E-9D41-5F0E2B7C9A10");
  ASSERT_TRUE(lower.has_value());
  ASSERT_TRUE(upper.has_value());
  EXPECT_EQ(*lower, *upper);
  EXPECT_EQ(lower->ToString(), "0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a10");
  EXPECT_EQ(lower->bytes[0], 0x0b);
  EXPECT_EQ(lower->bytes[15], 0x10);
}

TEST(UuidTest, RefusesAnythingButTheCanonicalForm) {
  for (const char* bad : {"", "0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a1", "0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a100",
                          "0b6c2a1e8a7f-4c3e-9d41-5f0e2b7c9a10-", "0b6c2a1e-8a7f-4c3e-9d41_5f0e2b7c9a10",
                          "0b6c2a1g-8a7f-4c3e-9d41-5f0e2b7c9a10", "0b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a1 ",
                          "{b6c2a1e-8a7f-4c3e-9d41-5f0e2b7c9a10", "0b6c2a1e-8a7f-4c3e-9d4-15f0e2b7c9a10"}) {
    EXPECT_FALSE(Uuid::Parse(bad).has_value()) << "\"" << bad << "\"";
  }
}

}  // namespace
}  // namespace sagadb
