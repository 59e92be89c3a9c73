// Status codes are stored (a saga event keeps its error's code): each keeps its number, its name reads back.
#include "sagadb/status.h"

#include <gtest/gtest.h>

namespace sagadb {
namespace {

TEST(StatusTest, StoredCodesKeepTheirNumbersAndNames) {
  const std::pair<Code, const char*> codes[] = {
      {Code::kNotFound, "NotFound"},       {Code::kInvalidRequest, "InvalidRequest"}, {Code::kConflict, "Conflict"},
      {Code::kOverloaded, "Overloaded"},   {Code::kTransient, "Transient"},           {Code::kCorruption, "Corruption"},
      {Code::kIOError, "IOError"},         {Code::kInternal, "Internal"},             {Code::kNoSpace, "NoSpace"}, {Code::kCancelled, "Cancelled"},
  };
  uint8_t number = 1;
  for (const auto& [code, name] : codes) {
    EXPECT_EQ(static_cast<uint8_t>(code), number++) << name;
    EXPECT_EQ(ToString(code), name);
    const Status s = Status::FromCode(static_cast<uint8_t>(code), "m");
    EXPECT_EQ(s.code(), code);
    EXPECT_EQ(s.ToString(), std::string(name) + ": m");
  }
  EXPECT_EQ(Status::FromCode(0, "m"), Status::Internal("m"));
  EXPECT_EQ(Status::FromCode(number, "m"), Status::Internal("m"));
}

TEST(StatusTest, NoSpaceIsNotRetryable) {
  const Status s = Status::NoSpace("no space left on /db: write");
  EXPECT_EQ(s.code(), Code::kNoSpace);
  EXPECT_FALSE(s.IsRetryable());
  EXPECT_EQ(s.ToString(), "NoSpace: no space left on /db: write");
}

}  // namespace
}  // namespace sagadb
