// Start with a caller's id: a saga's id names one saga. Starting it again is idempotent (the same kind and
// params give that saga's handle, whether it is in flight here or finished in the log); anything else is
// Conflict; and nothing ever overwrites a saga's record or events.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/history_fixture.h"

namespace sagadb::testing {
namespace {

using StartIdTest = HistoryTest;

// Everything but the metadata, which each open rewrites (its open generation).
std::map<std::string, std::string> Records(std::map<std::string, std::string> all) {
  std::erase_if(all, [](const auto& kv) { return kv.first.starts_with("meta/"); });
  return all;
}

StartOptions WithId(const Uuid& id) {
  StartOptions o;
  o.id = id;
  return o;
}

TEST_F(StartIdTest, StartingAFinishedSagaAgainGivesItsResultAndWritesNothing) {
  auto db = Open();
  const Uuid ok = Uuid::Generate();
  SagaResult first = Must(db->Run(SampleDag(), Json{{"tag", "ok"}}, WithId(ok)));
  ASSERT_EQ(first.state, SagaState::kSucceeded);
  const Uuid failed = Uuid::Generate();
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected"));
  db->impl().executor().SetFaultPlan(plan);
  ASSERT_EQ(Must(db->Run(SampleDag(), Json{{"tag", "bad"}}, WithId(failed))).state, SagaState::kFailed);
  db->impl().executor().SetFaultPlan(nullptr);
  const auto before = RawContents(db->impl().store());

  SagaResult again = Must(db->Run(SampleDag(), Json{{"tag", "ok"}}, WithId(ok)));
  EXPECT_EQ(again.id, ok);
  EXPECT_EQ(again.state, SagaState::kSucceeded);
  EXPECT_EQ(again.output, first.output);
  SagaResult unwound = Must(db->Run(SampleDag(), Json{{"tag", "bad"}}, WithId(failed)));
  EXPECT_EQ(unwound.state, SagaState::kFailed);
  EXPECT_EQ(unwound.error_node, "d");
  EXPECT_EQ(unwound.error.code(), Code::kInvalidRequest);
  EXPECT_EQ(RawContents(db->impl().store()), before);
}

TEST_F(StartIdTest, AnotherSagaUnderAnIdInTheLogIsAConflictAndWritesNothing) {
  auto db = Open();
  const Uuid id = Uuid::Generate();
  ASSERT_EQ(Must(db->Run(SampleDag(), Json{{"tag", "mine"}}, WithId(id))).state, SagaState::kSucceeded);
  const auto before = RawContents(db->impl().store());
  auto other_params = db->Start(SampleDag(), Json{{"tag", "yours"}}, WithId(id));
  ASSERT_FALSE(other_params.ok());
  EXPECT_EQ(other_params.status().code(), Code::kConflict) << other_params.status().ToString();
  EXPECT_NE(other_params.status().message().find(id.ToString()), std::string::npos);
  auto other_kind = db->Start(ChainDag(2), Json{{"tag", "mine"}}, WithId(id));
  ASSERT_FALSE(other_kind.ok());
  EXPECT_EQ(other_kind.status().code(), Code::kConflict) << other_kind.status().ToString();
  EXPECT_EQ(RawContents(db->impl().store()), before);
  // And across a reopen: the log, not this process's memory, is what holds the id.
  db.reset();
  db = Open();
  EXPECT_EQ(db->Start(SampleDag(), Json{{"tag", "yours"}}, WithId(id)).status().code(), Code::kConflict);
  EXPECT_EQ(Records(RawContents(db->impl().store())), Records(before));
}

TEST_F(StartIdTest, StartingASagaInFlightAgainGivesTheSameSagaOnlyOnce) {
  auto db = Open();
  const Uuid id = Uuid::Generate();
  SagaHandle held = Must(db->Start(HoldDag(), Json{{"tag", "held"}}, WithId(id)));
  // Many callers at once: each gets the one saga, none starts another.
  std::vector<std::thread> callers;
  std::vector<Result<SagaHandle>> got(8, Status::Internal("not run"));
  for (size_t i = 0; i < got.size(); ++i) {
    callers.emplace_back([&, i] { got[i] = db->Start(HoldDag(), Json{{"tag", "held"}}, WithId(id)); });
  }
  for (auto& t : callers) t.join();
  for (const auto& h : got) {
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(h->id(), id);
  }
  auto different = db->Start(HoldDag(), Json{{"tag", "other"}}, WithId(id));
  EXPECT_EQ(different.status().code(), Code::kConflict);
  EXPECT_EQ(db->impl().executor().stats().started, 1u);
  gate_.Open();
  EXPECT_EQ(Must(held.Wait()).state, SagaState::kSucceeded);
  for (const auto& h : got) EXPECT_EQ(Must(h->Wait()).state, SagaState::kSucceeded);
  EXPECT_EQ(Active(db->impl().store()).size(), 0u);
}

TEST_F(StartIdTest, ConcurrentStartsOfOneNewIdMakeOneSaga) {
  auto db = Open();
  for (int round = 0; round < 20; ++round) {
    const Uuid id = Uuid::Generate();
    std::vector<std::thread> callers;
    std::vector<Result<SagaResult>> got(4, Status::Internal("not run"));
    for (size_t i = 0; i < got.size(); ++i) {
      callers.emplace_back(
          [&, i] { got[i] = db->Run(ChainDag(3), Json{{"tag", "race" + std::to_string(round)}}, WithId(id)); });
    }
    for (auto& t : callers) t.join();
    for (const auto& r : got) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->state, SagaState::kSucceeded);
    }
    // One saga: its three nodes' events once each (a second run would have overwritten or added to them).
    auto events = Must(SagaLog(&db->impl().store()).ReadEvents(id));
    EXPECT_EQ(events.size(), 3u) << "round " << round;
  }
  EXPECT_EQ(db->impl().executor().stats().started, 20u);  // not one per caller
  // Each saga made its three disks once.
  EXPECT_EQ(LiveDisksWithTag(*Must(Datastore::Open(&db->impl().store(), &db->impl().locks())), "race"), 60);
}

TEST_F(StartIdTest, ASagaThatHaltedHereIsNotStartedAgainButLeftToTheNextOpen) {
  Uuid id;
  {
    auto db = Open();
    id = StartInterrupted(*db, "cut");
    const auto before = RawContents(db->impl().store());
    SagaHandle h = Must(db->Start(SampleDag(), Json{{"tag", "cut"}}, WithId(id)));
    auto r = h.Wait();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("not running in this process"), std::string::npos) << r.status().ToString();
    EXPECT_EQ(RawContents(db->impl().store()), before);
  }
  auto db = Open();
  EXPECT_EQ(Record(*db, id).state, SagaState::kSucceeded);
}

}  // namespace
}  // namespace sagadb::testing
