// schema/codec.h: every record survives Encode then Decode unchanged, with every field set and with every
// optional field absent; bytes of another record kind are refused.
#include "schema/codec.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/test_util.h"

namespace sagadb {
namespace {

template <typename T>
T RoundTrip(const T& r) {
  T out;
  std::string why;
  if (!Decode(Encode(r), &out, &why)) throw std::runtime_error("decode failed: " + why);
  return out;
}

Instance FullInstance() {
  Instance r;
  r.id = Uuid::Generate();
  r.project = "project";
  r.name = "vm";
  r.state = InstanceState::kStopping;
  r.cpus = 16;
  r.memory_bytes = 64ull << 30;
  r.attached = {{0, Uuid::Generate()}, {3, Uuid::Generate()}, {11, Uuid::Generate()}};
  r.boot_disk_id = r.attached[1].disk_id;
  r.generation = 1ull << 40;
  r.created_ns = 1700000000123456789;
  r.modified_ns = 1700000000987654321;
  r.saga_id = Uuid::Generate();
  return r;
}

Disk FullDisk() {
  Disk r;
  r.id = Uuid::Generate();
  r.project = "project";
  r.name = "data";
  r.state = DiskState::kAttached;
  r.size_bytes = 1ull << 40;
  r.instance_id = Uuid::Generate();
  r.slot = 11;
  r.generation = 42;
  r.created_ns = 1700000000123456789;
  r.modified_ns = 1700000000987654321;
  r.saga_id = Uuid::Generate();
  return r;
}

SagaRecord FullSaga() {
  SagaRecord r;
  r.id = Uuid::Generate();
  r.kind = "instance_create";
  r.nodes = {
      DagNode{"params", NodeKind::kConstant, "", R"({"name":"vm","disks":11})", {}, 0, -1},
      DagNode{"create_instance", NodeKind::kAction, "instance_create_record", "", {0}, 0, -1},
      DagNode{"disk_start", NodeKind::kSubsagaStart, "", "", {1}, 1, 0},
      DagNode{"create_disk", NodeKind::kAction, "disk_create_record", "", {2}, 1, -1},
      DagNode{"disk_end", NodeKind::kSubsagaEnd, "", "", {3}, 1, 3},
      DagNode{"attach", NodeKind::kAction, "disk_attach", "", {1, 4}, 0, -1},
  };
  r.scopes = {DagScope{"instance_create", 0, -1}, DagScope{"disk_create", 0, 2}};
  r.params = R"({"project":"p","name":"vm"})";
  r.state = SagaState::kStuck;
  r.created_ns = 1700000000000000001;
  r.modified_ns = 1700000000000000002;
  r.finished_ns = 1700000000000000003;
  r.output = R"({"instance":"x"})";
  r.error_node = 5;
  r.error_code = static_cast<uint8_t>(Code::kTransient);
  r.error = "disk cannot be deleted in state \"attached\"";
  r.generation = 9;
  return r;
}

SagaEvent FullEvent() {
  SagaEvent e;
  e.node = 5;
  e.type = EventType::kUndoFailed;
  e.output = R"({"slot":3})";
  e.error_code = static_cast<uint8_t>(Code::kConflict);
  e.error = "boot disk cannot be detached";
  e.time_ns = 1700000000000000004;
  e.attempts = 7;
  return e;
}

TEST(CodecTest, AnInstanceWithEveryFieldSetRoundTrips) {
  const Instance r = FullInstance();
  EXPECT_EQ(RoundTrip(r), r);
}

TEST(CodecTest, AnInstanceWithoutOptionalFieldsRoundTrips) {
  Instance r;
  r.id = Uuid::Generate();
  r.name = "vm";
  EXPECT_EQ(RoundTrip(r), r);
  EXPECT_EQ(RoundTrip(r).boot_disk_id, std::nullopt);
  EXPECT_EQ(RoundTrip(r).saga_id, std::nullopt);
}

TEST(CodecTest, ADiskWithEveryFieldSetRoundTrips) {
  const Disk r = FullDisk();
  EXPECT_EQ(RoundTrip(r), r);
}

TEST(CodecTest, ADetachedDiskKeepsSlotMinusOneAndNoInstance) {
  Disk r = FullDisk();
  r.state = DiskState::kDetached;
  r.instance_id.reset();
  r.slot = -1;
  r.saga_id.reset();
  EXPECT_EQ(RoundTrip(r), r);
}

TEST(CodecTest, ASagaWithNodesScopesAndAnErrorRoundTrips) {
  const SagaRecord r = FullSaga();
  EXPECT_EQ(RoundTrip(r), r);
}

TEST(CodecTest, AnEmptySagaRoundTrips) {
  SagaRecord r;
  r.id = Uuid::Generate();
  EXPECT_EQ(RoundTrip(r), r);
}

TEST(CodecTest, EveryEventTypeRoundTrips) {
  for (EventType t : {EventType::kStarted, EventType::kSucceeded, EventType::kFailed, EventType::kUndoStarted,
                      EventType::kUndoFinished, EventType::kUndoFailed}) {
    SagaEvent e = FullEvent();
    e.type = t;
    EXPECT_EQ(RoundTrip(e), e) << ToString(t);
  }
}

TEST(CodecTest, EveryStateRoundTrips) {
  for (int s = 0; s <= static_cast<int>(InstanceState::kDestroyed); ++s) {
    Instance r = FullInstance();
    r.state = static_cast<InstanceState>(s);
    EXPECT_EQ(RoundTrip(r), r);
  }
  for (int s = 0; s <= static_cast<int>(DiskState::kDestroyed); ++s) {
    Disk r = FullDisk();
    r.state = static_cast<DiskState>(s);
    EXPECT_EQ(RoundTrip(r), r);
  }
  for (int s = 0; s <= static_cast<int>(SagaState::kAbandoned); ++s) {
    SagaRecord r = FullSaga();
    r.state = static_cast<SagaState>(s);
    EXPECT_EQ(RoundTrip(r), r);
  }
}

TEST(CodecTest, ASagaHeaderIsTheRecordWithoutItsDagParamsAndOutput) {
  const SagaRecord r = FullSaga();
  SagaHeader h;
  std::string why;
  ASSERT_TRUE(DecodeHeader(Encode(r), &h, &why)) << why;
  EXPECT_EQ(h, (SagaHeader{r.id, r.kind, r.state, r.created_ns, r.modified_ns, r.finished_ns, r.generation}));
  EXPECT_FALSE(DecodeHeader(Encode(FullEvent()), &h, &why));
  EXPECT_FALSE(DecodeHeader(Encode(r).substr(0, 40), &h, &why));
}

TEST(CodecTest, AnIndexEntryRoundTripsAnyStateEvenOneAddedLater) {
  for (int s = 0; s <= 9; ++s) {
    SagaIndexEntry e{static_cast<SagaState>(s), "instance-create", 123, s % 2 ? 456 : 0};
    SagaIndexEntry out;
    std::string why;
    ASSERT_TRUE(Decode(Encode(e), &out, &why)) << why;
    EXPECT_EQ(out, e);
  }
  SagaIndexEntry out;
  std::string why;
  EXPECT_FALSE(Decode(Encode(FullSaga()), &out, &why));
  EXPECT_EQ(why, "not a SDBX record (wrong size or file identifier)");
}

TEST(CodecTest, BytesOfAnotherRecordKindAreRefused) {
  std::string why;
  Instance instance;
  Disk disk;
  SagaRecord saga;
  SagaEvent event;

  EXPECT_FALSE(Decode(Encode(FullDisk()), &instance, &why));
  EXPECT_EQ(why, "not a SDBI record (wrong size or file identifier)");
  EXPECT_FALSE(Decode(Encode(FullInstance()), &disk, &why));
  EXPECT_EQ(why, "not a SDBD record (wrong size or file identifier)");
  EXPECT_FALSE(Decode(Encode(FullEvent()), &saga, &why));
  EXPECT_EQ(why, "not a SDBS record (wrong size or file identifier)");
  EXPECT_FALSE(Decode(Encode(FullSaga()), &event, &why));
  EXPECT_EQ(why, "not a SDBE record (wrong size or file identifier)");
  EXPECT_FALSE(Decode(Encode(SagaIndexEntry{}), &instance, &why));
  EXPECT_EQ(why, "not a SDBI record (wrong size or file identifier)");
}

TEST(CodecTest, UnknownEnumValuesInSagasAndEventsAreRefused) {
  std::string why;
  SagaRecord saga = FullSaga();
  saga.nodes[2].kind = static_cast<NodeKind>(9);
  SagaRecord saga_out;
  EXPECT_FALSE(Decode(Encode(saga), &saga_out, &why));
  EXPECT_EQ(why, "node kind has unknown value 9");

  SagaEvent event = FullEvent();
  event.type = static_cast<EventType>(7);
  SagaEvent event_out;
  EXPECT_FALSE(Decode(Encode(event), &event_out, &why));
  EXPECT_EQ(why, "event type has unknown value 7");

  SagaEvent op = FullEvent();
  op.type = EventType::kOperator;
  op.op = static_cast<OperatorOp>(4);
  EXPECT_FALSE(Decode(Encode(op), &event_out, &why));
  EXPECT_EQ(why, "operator action has unknown value 4");

  saga = FullSaga();
  saga.state = static_cast<SagaState>(7);
  EXPECT_FALSE(Decode(Encode(saga), &saga_out, &why));
  EXPECT_EQ(why, "state has unknown value 7");
}

// An operator event keeps who asked, why and what; a node event carries none of that.
TEST(CodecTest, OperatorEventsKeepTheirActionActorAndReason) {
  SagaEvent op;
  op.type = EventType::kOperator;
  op.op = OperatorOp::kAbandon;
  op.actor = "alice";
  op.reason = "the host is gone";
  op.abandon_kind = static_cast<uint8_t>(AbandonKind::kOrphaned);
  op.time_ns = 42;
  SagaEvent out;
  std::string why;
  ASSERT_TRUE(Decode(Encode(op), &out, &why)) << why;
  EXPECT_EQ(out, op);
  SagaEvent node = FullEvent();
  node.actor = "ignored";
  ASSERT_TRUE(Decode(Encode(node), &out, &why)) << why;
  EXPECT_EQ(out.actor, "");
}

}  // namespace
}  // namespace sagadb
