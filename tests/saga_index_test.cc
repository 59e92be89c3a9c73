// The saga index: written with every saga record, read by every open instead of the history, built once for a
// database written before it, and what inspection does without it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/fault_injector.h"
#include "log/prune.h"
#include "log/saga_query.h"
#include "schema/codec.h"
#include "tests/history_fixture.h"
#include "tests/history_test_util.h"

namespace sagadb {
namespace {

using testing::HistoryTest;
using testing::Must;

using SagaIndexTest = HistoryTest;

bool Lists(const std::vector<std::pair<Uuid, SagaIndexEntry>>& entries, const Uuid& id, SagaState state) {
  for (const auto& [i, e] : entries) {
    if (i == id) return e.state == state;
  }
  return false;
}

bool Lists(const std::vector<std::pair<Uuid, SagaIndexEntry>>& entries, const Uuid& id) {
  for (const auto& [i, e] : entries) {
    if (i == id) return true;
  }
  return false;
}

TEST_F(SagaIndexTest, EverySagaIsListedInFlightUntilItFinishesThenByItsFinishTime) {
  auto db = Open();
  Store& store = db->impl().store();
  SagaHandle held = Must(db->Start(testing::HoldDag(), Json{{"tag", "held"}}));
  // In flight: listed by id with its state, not as finished.
  for (int i = 0; i < 500 && Must(SagaLog(&store).ReadEvents(held.id())).size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(Lists(Active(store), held.id(), SagaState::kRunning));
  EXPECT_FALSE(Lists(Finished(store), held.id()));
  gate_.Open();
  ASSERT_EQ(Must(held.Wait()).state, SagaState::kSucceeded);
  EXPECT_FALSE(Lists(Active(store), held.id()));
  const SagaRecord done = Record(*db, held.id());
  auto finished = Finished(store);
  ASSERT_TRUE(Lists(finished, held.id(), SagaState::kSucceeded));
  EXPECT_TRUE(store.Get(kSagaIndexTable, FinishedIndexKey(done.finished_ns, held.id())).ok());

  const Uuid failed = Run(*db, "failed", /*fail=*/true);
  EXPECT_TRUE(Lists(Finished(store), failed, SagaState::kFailed));
  // Stuck is not finished: it stays listed in flight, in its state, until an operator acts.
  const Uuid stuck = Run(*db, "stuck", false, /*stuck=*/true);
  EXPECT_TRUE(Lists(Active(store), stuck, SagaState::kStuck));
  EXPECT_FALSE(Lists(Finished(store), stuck));
  SagaRecord abandoned = Must(SagaLog(&store).Abandon(stuck, AbandonKind::kOperator, {"test", "test"}));
  EXPECT_FALSE(Lists(Active(store), stuck));
  EXPECT_TRUE(Lists(Finished(store), stuck, SagaState::kAbandoned));
  EXPECT_TRUE(store.Get(kSagaIndexTable, FinishedIndexKey(abandoned.finished_ns, stuck)).ok());

  // Oldest first.
  finished = Finished(store);
  ASSERT_EQ(finished.size(), 3u);
  EXPECT_EQ(finished[0].first, held.id());
  EXPECT_EQ(finished[1].first, failed);
  EXPECT_EQ(finished[2].first, stuck);
  EXPECT_EQ(finished[1].second.kind, "sample");
}

TEST_F(SagaIndexTest, AnOpenReadsTheSagasInFlightNotTheHistory) {
  Uuid interrupted;
  {
    auto db = Open();
    for (int i = 0; i < 20; ++i) Run(*db, "old" + std::to_string(i), i % 3 == 0);
    // One more, halted after its first round, as a crash there leaves it.
    interrupted = StartInterrupted(*db, "cut");
  }
  {
    // A record that says `running` but that the index does not list: an open does not walk the records, so it
    // never sees it (check reports it; see check_test).
    StoreConfig config;
    config.path = Options().path;
    config.tables = testing::TestTables();
    auto store = Must(Store::Open(config));
    SagaRecord ghost = Must(SagaLog(store.get()).ReadRecord(interrupted));
    ghost.id = Uuid::Generate();
    Batch b;
    b.Put(kSagasTable, ghost.id.AsBytes(), Encode(ghost));
    Must(store->Write(b));
  }
  auto db = Open();
  const RecoveryReport& r = db->recovery();
  EXPECT_EQ(r.scanned, 1u) << r.Summary();
  ASSERT_EQ(r.resumed_forward.size(), 1u) << r.Summary();
  EXPECT_EQ(r.resumed_forward[0], interrupted);
  EXPECT_EQ(r.finished_succeeded.size(), 1u) << r.Summary();
  EXPECT_EQ(r.indexed, 0u);
}

TEST_F(SagaIndexTest, AVersion1DatabaseGetsItsIndexAtItsFirstReadWriteOpenAndIsThenRecovered) {
  Uuid interrupted;
  testing::SagaLogBySaga before;
  {
    auto db = Open();
    for (int i = 0; i < 7; ++i) Run(*db, "v1-" + std::to_string(i), i == 2);
    Run(*db, "stuck", false, true);
    before = testing::ReadSagaLog(db->impl().store());
    interrupted = StartInterrupted(*db, "cut");
  }
  Must(testing::DowngradeToVersion1(Options().path));
  auto db = Open();
  Store& store = db->impl().store();
  EXPECT_EQ(store.schema_version(), kSchemaVersion);
  EXPECT_EQ(db->recovery().indexed, 9u);
  ASSERT_EQ(db->recovery().finished_succeeded.size(), 1u) << db->recovery().Summary();
  EXPECT_EQ(db->recovery().finished_succeeded[0], interrupted);
  // Every saga that was there before is indexed exactly as the writes themselves indexed it.
  const testing::SagaLogBySaga after = testing::ReadSagaLog(store);
  for (const auto& [id, entries] : before) EXPECT_EQ(after.at(id), entries) << id.ToString();
  EXPECT_TRUE(Lists(Active(store), interrupted) == false);
  EXPECT_TRUE(Lists(Finished(store), interrupted, SagaState::kSucceeded));
}

TEST_F(SagaIndexTest, AnInspectionOpenOfAVersion1DatabaseWalksTheRecordsOrSaysItNeedsOneReadWriteOpen) {
  Uuid stuck;
  {
    auto db = Open();
    for (int i = 0; i < 5; ++i) Run(*db, "x" + std::to_string(i), i == 1);
    stuck = Run(*db, "stuck", false, true);
  }
  Must(testing::DowngradeToVersion1(Options().path));
  StoreConfig config;
  config.path = Options().path;
  config.mode = OpenMode::kSecondary;
  auto store = Must(Store::Open(config));
  EXPECT_EQ(store->schema_version(), 1u);
  EXPECT_FALSE(store->HasTable(kSagaIndexTable));
  auto cursor = store->NewCursor(kSagaIndexTable);
  cursor->SeekToFirst();
  EXPECT_FALSE(cursor->Valid());
  EXPECT_EQ(cursor->status().code(), Code::kInvalidRequest);

  // Listings work, by walking the records.
  SagaQuery q;
  q.states = {SagaState::kStuck};
  std::vector<Uuid> listed;
  SagaListing listing;
  Must(ListSagaRecords(*store, q, [&](const SagaRecord& r) { listed.push_back(r.id); }, &listing));
  EXPECT_EQ(listed, std::vector<Uuid>{stuck});
  EXPECT_TRUE(Must(ListStalledSagas(*store, std::chrono::seconds(0))).sagas.empty());
  // Retention needs the index.
  PruneOptions o;
  o.dry_run = true;
  o.policy.max_finished = 0;
  PruneReport report;
  Status st = PruneFinishedSagas(store.get(), o, &report);
  EXPECT_EQ(st.code(), Code::kInvalidRequest);
  EXPECT_NE(st.message().find("one read-write open"), std::string::npos) << st.ToString();
}

TEST_F(SagaIndexTest, ADatabaseOfANewerSchemaIsRefused) {
  { auto db = Open(); }
  {
    StoreConfig config;
    config.path = Options().path;
    auto store = Must(Store::Open(config));
    Must(store->CommitSchemaVersion(Batch(), kSchemaVersion + 1));
  }
  auto domain = testing::TestDomain(&app_);
  auto db = OpenDatabase(Options(), {domain}, OpenSeams{});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kInvalidRequest);
  EXPECT_NE(db.status().message().find("newer"), std::string::npos) << db.status().ToString();
}

}  // namespace
}  // namespace sagadb
