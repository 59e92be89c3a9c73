// Records decode wherever their bytes lie: values read from RocksDB start at any address, and FlatBuffers reads
// scalars in place. (Under UndefinedBehaviorSanitizer a misaligned read is an error.)
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "schema/codec.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

// Decodes `bytes` from a copy placed at each offset 0-7 of an 8-byte aligned buffer.
template <typename T>
void ExpectDecodesAtEveryOffset(const T& record) {
  const std::string bytes = Encode(record);
  alignas(8) char buffer[4096];
  ASSERT_LT(bytes.size() + 8, sizeof(buffer));
  for (size_t offset = 0; offset < 8; ++offset) {
    SCOPED_TRACE(offset);
    std::memcpy(buffer + offset, bytes.data(), bytes.size());
    T out;
    std::string why;
    ASSERT_TRUE(Decode(std::string_view(buffer + offset, bytes.size()), &out, &why)) << why;
    EXPECT_EQ(out, record);
  }
}

TEST(CodecAlignmentTest, EveryRecordDecodesAtAnyAddress) {
  Instance instance;
  instance.id = Uuid::Generate();
  instance.name = "vm";
  instance.memory_bytes = 1ull << 40;
  instance.attached = {{2, Uuid::Generate()}};
  instance.generation = 7;
  ExpectDecodesAtEveryOffset(instance);

  Disk disk;
  disk.id = Uuid::Generate();
  disk.name = "data";
  disk.size_bytes = 10ull << 30;
  disk.instance_id = instance.id;
  disk.slot = 2;
  ExpectDecodesAtEveryOffset(disk);

  SagaRecord saga;
  saga.id = Uuid::Generate();
  saga.kind = "instance-create";
  saga.nodes = {DagNode{"a", NodeKind::kAction, "act", "", {}, 0, -1},
                DagNode{"b", NodeKind::kConstant, "", "{}", {0}, 0, -1}};
  saga.scopes = {DagScope{"saga", 0, -1}};
  saga.created_ns = 1700000000123456789;
  ExpectDecodesAtEveryOffset(saga);

  SagaEvent event;
  event.node = 1;
  event.type = EventType::kSucceeded;
  event.output = R"({"disk_id":"x"})";
  event.time_ns = 1700000000123456789;
  ExpectDecodesAtEveryOffset(event);
}

}  // namespace
}  // namespace sagadb
