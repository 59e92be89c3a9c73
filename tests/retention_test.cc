// Retention: which finished sagas go (by count, by age), that each goes whole with its events and index
// entries, that nothing in flight, stuck or outside the saga log is touched, the dry run, and the background
// task beside running sagas. (Crashes in the middle of a prune: prune_crash_test.)
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/clock.h"
#include "log/prune.h"
#include "log/replay.h"
#include "log/saga_query.h"
#include "tests/history_fixture.h"
#include "schema/codec.h"
#include "tests/history_test_util.h"

namespace sagadb {
namespace {

using testing::HistoryTest;
using testing::Must;

class RetentionTest : public HistoryTest {
 protected:
  // The sagas the index lists as finished, oldest first.
  static std::vector<Uuid> FinishedIds(const Store& store) {
    std::vector<Uuid> out;
    for (const auto& [id, e] : Finished(store)) out.push_back(id);
    return out;
  }
  static PruneReport Prune(Store& store, PruneOptions o) {
    PruneReport r;
    Must(PruneFinishedSagas(&store, o, &r));
    return r;
  }
  static PruneOptions KeepNewest(uint64_t n) {
    PruneOptions o;
    o.policy.max_finished = n;
    o.policy.max_age.reset();
    return o;
  }
};

TEST_F(RetentionTest, PruneKeepsTheNewestFinishedSagasAndRemovesEachOtherOneWithAllItsEvents) {
  auto db = Open();
  Store& store = db->impl().store();
  for (int i = 0; i < 12; ++i) Run(*db, "s" + std::to_string(i), /*fail=*/i % 4 == 1);
  const std::vector<Uuid> oldest_first = FinishedIds(store);
  ASSERT_EQ(oldest_first.size(), 12u);
  const auto entries = Finished(store);
  const testing::SagaLogBySaga before = testing::ReadSagaLog(store);
  uint64_t events = 0;
  for (size_t i = 0; i < 7; ++i) events += Must(SagaLog(&store).ReadEvents(oldest_first[i])).size();

  PruneOptions o = KeepNewest(5);
  o.sagas_per_batch = 3;
  const PruneReport r = Prune(store, o);
  EXPECT_EQ(r.sagas, 7u);
  EXPECT_EQ(r.succeeded + r.failed, 7u);
  EXPECT_EQ(r.failed, 2u);  // s1 and s5
  EXPECT_EQ(r.events, events);
  EXPECT_EQ(r.batches, 3u);
  EXPECT_EQ(r.ids, std::vector<Uuid>(oldest_first.begin(), oldest_first.begin() + 7));
  EXPECT_EQ(r.oldest_finished_ns, entries[0].second.finished_ns);
  EXPECT_EQ(r.newest_finished_ns, entries[6].second.finished_ns);

  const testing::SagaLogBySaga after = testing::ReadSagaLog(store);
  EXPECT_EQ(testing::JoinLines(testing::WholeOrGone(before, after)), "");
  EXPECT_EQ(testing::Gone(before, after), std::set<Uuid>(oldest_first.begin(), oldest_first.begin() + 7));
  EXPECT_EQ(FinishedIds(store), std::vector<Uuid>(oldest_first.begin() + 7, oldest_first.end()));
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_TRUE(SagaLog(&store).ReadRecord(oldest_first[i]).status().IsNotFound());
    EXPECT_TRUE(Must(SagaLog(&store).ReadEvents(oldest_first[i])).empty());
  }
  // Nothing more to do.
  EXPECT_EQ(Prune(store, KeepNewest(5)).sagas, 0u);
}

// A saga's events go as one range of keys (log/prune.cc): the range must hold that saga's events and nothing of
// the sagas whose ids sort right before and after it, including at the very end of the id space.
TEST_F(RetentionTest, APrunedSagasEventsGoWithoutTouchingThoseOfTheSagasBesideItInKeyOrder) {
  auto db = Open();
  Store& store = db->impl().store();
  auto id = [](uint8_t fill, uint8_t last) {
    std::string raw(16, static_cast<char>(fill));
    raw.back() = static_cast<char>(last);
    return *Uuid::FromBytes(raw);
  };
  auto with_id = [](const Uuid& u) {
    StartOptions o;
    o.id = u;
    return o;
  };
  const Uuid held_before = id(0x55, 0x7f), pruned = id(0x55, 0x80), kept_after = id(0x55, 0x81);
  const Uuid held_last = id(0xff, 0xfe), pruned_last = id(0xff, 0xff);
  SagaHandle held1 = Must(db->Start(testing::HoldDag(), Json{{"tag", "h1"}}, with_id(held_before)));
  SagaHandle held2 = Must(db->Start(testing::HoldDag(), Json{{"tag", "h2"}}, with_id(held_last)));
  ASSERT_EQ(Must(db->Run(testing::SampleDag(), Json{{"tag", "p1"}}, with_id(pruned))).state, SagaState::kSucceeded);
  ASSERT_EQ(Must(db->Run(testing::SampleDag(), Json{{"tag", "p2"}}, with_id(pruned_last))).state,
            SagaState::kSucceeded);
  ASSERT_EQ(Must(db->Run(testing::SampleDag(), Json{{"tag", "k"}}, with_id(kept_after))).state,
            SagaState::kSucceeded);
  const testing::SagaLogBySaga before = testing::ReadSagaLog(store);
  ASSERT_FALSE(Must(SagaLog(&store).ReadEvents(held_before)).empty());
  ASSERT_FALSE(Must(SagaLog(&store).ReadEvents(held_last)).empty());

  const PruneReport r = Prune(store, KeepNewest(1));
  EXPECT_EQ(r.ids, (std::vector<Uuid>{pruned, pruned_last}));
  const testing::SagaLogBySaga after = testing::ReadSagaLog(store);
  EXPECT_EQ(testing::Gone(before, after), (std::set<Uuid>{pruned, pruned_last}));
  EXPECT_EQ(testing::JoinLines(testing::WholeOrGone(before, after)), "");
  EXPECT_TRUE(Must(SagaLog(&store).ReadEvents(pruned)).empty());
  EXPECT_TRUE(Must(SagaLog(&store).ReadEvents(pruned_last)).empty());
  // The sagas beside them run on to their end, every event of theirs still there to replay.
  gate_.Open();
  EXPECT_EQ(Must(held1.Wait()).state, SagaState::kSucceeded);
  EXPECT_EQ(Must(held2.Wait()).state, SagaState::kSucceeded);
  for (const Uuid& u : {held_before, held_last, kept_after}) {
    EXPECT_TRUE(ReplaySagaLog(Record(*db, u), Must(SagaLog(&store).ReadEvents(u))).ok()) << u.ToString();
  }
}

TEST_F(RetentionTest, SagasInFlightOrStuckAreNeverPrunedHoweverOld) {
  auto db = Open();
  Store& store = db->impl().store();
  const Uuid stuck = Run(*db, "stuck", false, /*stuck=*/true);
  SagaHandle held = Must(db->Start(testing::HoldDag(), Json{{"tag", "held"}}));
  for (int i = 0; i < 3; ++i) Run(*db, "done" + std::to_string(i));
  PruneOptions o = KeepNewest(0);
  o.policy.max_age = std::chrono::seconds(1);
  o.now_ns = NowNs() + std::chrono::nanoseconds(std::chrono::hours(24 * 365)).count();
  EXPECT_EQ(Prune(store, o).sagas, 3u);
  EXPECT_TRUE(FinishedIds(store).empty());
  EXPECT_EQ(Record(*db, stuck).state, SagaState::kStuck);
  EXPECT_EQ(Record(*db, held.id()).state, SagaState::kRunning);
  gate_.Open();
  EXPECT_EQ(Must(held.Wait()).state, SagaState::kSucceeded);
  // Once finished it goes like any other; the stuck one only once an operator abandons it.
  EXPECT_EQ(Prune(store, o).sagas, 1u);
  Must(SagaLog(&store).Abandon(stuck, AbandonKind::kOperator, {"test", "test"}).status());
  EXPECT_EQ(Prune(store, o).abandoned, 1u);
  EXPECT_TRUE(SagaLog(&store).ReadRecord(stuck).status().IsNotFound());
}

TEST_F(RetentionTest, AnAgeLimitRemovesExactlyThoseFinishedLongerAgoThanIt) {
  auto db = Open();
  Store& store = db->impl().store();
  for (int i = 0; i < 6; ++i) Run(*db, "a" + std::to_string(i));
  const auto finished = Finished(store);
  ASSERT_EQ(finished.size(), 6u);
  // "Now" is an hour after the third finished (and before the fourth did, an hour on).
  PruneOptions o;
  o.policy.max_finished.reset();
  o.policy.max_age = std::chrono::hours(1);
  o.now_ns = finished[2].second.finished_ns + std::chrono::nanoseconds(std::chrono::hours(1)).count() + 1;
  ASSERT_LT(finished[2].second.finished_ns, finished[3].second.finished_ns);
  o.dry_run = true;
  const auto before = testing::RawContents(store);
  PruneReport dry = Prune(store, o);
  EXPECT_EQ(dry.sagas, 3u);
  EXPECT_EQ(testing::RawContents(store), before) << "a dry run changed the database";
  o.dry_run = false;
  PruneReport real = Prune(store, o);
  EXPECT_EQ(real.ids, dry.ids);
  EXPECT_EQ(real.ids, (std::vector<Uuid>{finished[0].first, finished[1].first, finished[2].first}));
  EXPECT_EQ(dry.batches, 0u);
  EXPECT_EQ(real.batches, 1u);
  // Both limits: whichever lets more go.
  o.policy.max_finished = 1;
  EXPECT_EQ(Prune(store, o).sagas, 2u);
}

TEST_F(RetentionTest, AnIndexEntryWithNoRecordOrThatDisagreesWithItsRecordIsRemovedAlone) {
  auto db = Open();
  Store& store = db->impl().store();
  const Uuid kept = Run(*db, "kept");
  const int64_t t = Record(*db, kept).finished_ns;
  SagaIndexEntry e;
  e.state = SagaState::kSucceeded;
  e.finished_ns = t - 2;
  Batch b;
  b.Put(kSagaIndexTable, FinishedIndexKey(t - 2, Uuid::Generate()), Encode(e));  // no record
  b.Put(kSagaIndexTable, FinishedIndexKey(t - 1, kept), Encode(e));              // the record says t
  Must(store.Write(b));
  PruneReport r = Prune(store, KeepNewest(0));
  EXPECT_EQ(r.stale_entries, 2u);
  EXPECT_EQ(r.sagas, 1u);
  EXPECT_TRUE(Finished(store).empty());
  EXPECT_TRUE(SagaLog(&store).ReadRecord(kept).status().IsNotFound());
}

TEST_F(RetentionTest, DatabasePruneServesAPolicyOnDemandAndTheHistoryListsTheSurvivors) {
  auto db = Open();
  std::vector<Uuid> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(Run(*db, "p" + std::to_string(i)));
  RetentionPolicy policy;
  policy.max_finished = 3;
  PruneReport dry = Must(db->Prune(policy, /*dry_run=*/true));
  EXPECT_TRUE(dry.dry_run);
  EXPECT_EQ(dry.sagas, 5u);
  EXPECT_EQ(Must(db->ListSagas(SagaQuery{})).sagas.size(), 8u);
  PruneReport done = Must(db->Prune(policy));
  EXPECT_EQ(done.ids, dry.ids);
  SagaPage page = Must(db->ListSagas(SagaQuery{}));
  std::set<Uuid> left;
  for (const auto& s : page.sagas) left.insert(s.id);
  EXPECT_EQ(left, std::set<Uuid>(ids.end() - 3, ids.end()));
}

TEST_F(RetentionTest, TheBackgroundTaskKeepsTheHistoryBoundedWhileSagasRun) {
  DatabaseOptions o = Options();
  o.retention.enabled = true;
  o.retention.policy.max_finished = 5;
  o.retention.interval = std::chrono::milliseconds(5);
  o.retention.sagas_per_batch = 2;
  o.retention.batches_per_pass = 2;
  auto db = Open(o);
  std::atomic<int> failed{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 15; ++i) {
        auto r = db->Run(testing::SampleDag(), Json{{"tag", "bg" + std::to_string(t) + "-" + std::to_string(i)}});
        if (!r.ok() || r->state != SagaState::kSucceeded) failed++;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(failed, 0);
  Store& store = db->impl().store();
  for (int i = 0; i < 2000 && Finished(store).size() > 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(Finished(store).size(), 5u);
  EXPECT_EQ(db->impl().retention()->removed(), 55u);
  EXPECT_GT(db->impl().retention()->passes(), 1u);
  // Every survivor is whole: its events replay.
  for (const auto& [id, e] : Finished(store)) {
    SagaRecord r = Record(*db, id);
    EXPECT_TRUE(ReplaySagaLog(r, Must(SagaLog(&store).ReadEvents(id))).ok());
  }
}

TEST_F(RetentionTest, ClosingTheDatabaseStopsTheBackgroundTask) {
  DatabaseOptions o = Options();
  o.retention.enabled = true;
  o.retention.interval = std::chrono::hours(1);
  auto db = Open(o);
  Run(*db, "one");
  const auto start = std::chrono::steady_clock::now();
  db.reset();  // a pass an hour away must not hold the close up
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace sagadb
