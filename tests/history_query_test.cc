// Reading the history: pages of sagas with their filters, and the stalled sagas.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "log/saga_census.h"
#include "log/saga_query.h"
#include "tests/history_fixture.h"
#include "tests/history_test_util.h"

namespace sagadb {
namespace {

using testing::HistoryTest;
using testing::Must;

class HistoryQueryTest : public HistoryTest {
 protected:
  // Every page of `q`, `limit` at a time, in order.
  static std::vector<SagaPage> Pages(Database& db, SagaQuery q) {
    std::vector<SagaPage> pages;
    for (int i = 0; i < 100; ++i) {
      pages.push_back(Must(db.ListSagas(q)));
      if (!pages.back().next) break;
      q.after = pages.back().next;
    }
    return pages;
  }
  static std::vector<Uuid> Ids(const std::vector<SagaPage>& pages) {
    std::vector<Uuid> out;
    for (const auto& p : pages) {
      for (const auto& s : p.sagas) out.push_back(s.id);
    }
    return out;
  }
};

TEST_F(HistoryQueryTest, PagesCoverTheHistoryInIdOrderEachSagaOnce) {
  auto db = Open();
  std::vector<Uuid> all;
  for (int i = 0; i < 23; ++i) all.push_back(Run(*db, "q" + std::to_string(i), i % 5 == 0));
  std::sort(all.begin(), all.end());
  SagaQuery q;
  q.limit = 5;
  auto pages = Pages(*db, q);
  ASSERT_EQ(pages.size(), 5u);
  for (size_t i = 0; i + 1 < pages.size(); ++i) {
    EXPECT_EQ(pages[i].sagas.size(), 5u);
    EXPECT_EQ(pages[i].next, pages[i].sagas.back().id);  // a full page says where the next one starts
  }
  EXPECT_EQ(pages.back().sagas.size(), 3u);
  EXPECT_FALSE(pages.back().next);
  EXPECT_EQ(Ids(pages), all);
  q.limit = 0;
  EXPECT_EQ(Ids(Pages(*db, q)), all);

  const SagaSummary& s = pages[0].sagas[0];
  const SagaRecord r = Record(*db, s.id);
  EXPECT_EQ(s.kind, "sample");
  EXPECT_EQ(s.state, r.state);
  EXPECT_EQ(s.created_ns, r.created_ns);
  EXPECT_EQ(s.finished_ns, r.finished_ns);
  EXPECT_EQ(s.nodes, r.nodes.size());
}

TEST_F(HistoryQueryTest, FiltersByStateKindAndCreationTime) {
  auto db = Open();
  std::vector<Uuid> failed, ok;
  for (int i = 0; i < 9; ++i) (i % 3 == 0 ? failed : ok).push_back(Run(*db, "f" + std::to_string(i), i % 3 == 0));
  const Uuid stuck = Run(*db, "stuck", false, true);
  std::sort(failed.begin(), failed.end());
  SagaQuery q;
  q.limit = 2;
  q.states = {SagaState::kFailed};
  EXPECT_EQ(Ids(Pages(*db, q)), failed);
  q.states = {SagaState::kStuck, SagaState::kRunning};  // in flight only: read from the index
  EXPECT_EQ(Ids(Pages(*db, q)), std::vector<Uuid>{stuck});
  q.states = {};
  q.kind = "other";
  EXPECT_TRUE(Ids(Pages(*db, q)).empty());
  q.kind = "sample";
  EXPECT_EQ(Ids(Pages(*db, q)).size(), 10u);
  // Created since the fifth saga (inclusive) and before the stuck one.
  q.kind.clear();
  std::vector<SagaRecord> records;
  for (const Uuid& id : Ids(Pages(*db, SagaQuery{}))) records.push_back(Record(*db, id));
  std::sort(records.begin(), records.end(),
            [](const SagaRecord& a, const SagaRecord& b) { return a.created_ns < b.created_ns; });
  q.created_since_ns = records[4].created_ns;
  q.created_until_ns = records[9].created_ns;
  std::vector<Uuid> want;
  for (size_t i = 4; i < 9; ++i) want.push_back(records[i].id);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Ids(Pages(*db, q)), want);
}

TEST_F(HistoryQueryTest, AStalledSagaIsListedWithItsLastEventUntilItMovesOn) {
  auto db = Open();
  Run(*db, "done");
  SagaHandle held = Must(db->Start(testing::HoldDag(), Json{{"tag", "held"}}));
  Store& store = db->impl().store();
  for (int i = 0; i < 500 && Must(SagaLog(&store).ReadEvents(held.id())).size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  StalledReport quiet = Must(db->ListStalled(std::chrono::milliseconds(20)));
  ASSERT_EQ(quiet.sagas.size(), 1u);
  const StalledSaga& s = quiet.sagas[0];
  EXPECT_EQ(s.saga.id, held.id());
  EXPECT_EQ(s.saga.state, SagaState::kRunning);
  EXPECT_EQ(s.last_node, "wait");
  EXPECT_EQ(s.last_event, "started");
  auto last = Must(SagaLog(&store).ReadLastEvent(held.id()));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(s.last_event_ns, last->event.time_ns);
  EXPECT_TRUE(Must(db->ListStalled(std::chrono::hours(1))).sagas.empty());
  gate_.Open();
  ASSERT_EQ(Must(held.Wait()).state, SagaState::kSucceeded);
  EXPECT_TRUE(Must(db->ListStalled(std::chrono::nanoseconds(0))).sagas.empty());
}

TEST_F(HistoryQueryTest, TheCensusCountsByStateAndKindAndTheRecordsOfAVersion1DatabaseSayTheSame) {
  Uuid cut;
  {
    auto db = Open();
    for (int i = 0; i < 7; ++i) Run(*db, "c" + std::to_string(i), i % 3 == 0);
    Run(*db, "stuck", false, true);
    cut = StartInterrupted(*db, "cut");
    Must(db->Run(testing::ChainDag(2), Json{{"tag", "chain"}}));
  }
  auto census = [&](bool index) {
    StoreConfig config;
    config.path = Options().path;
    config.mode = OpenMode::kSecondary;
    auto store = Must(Store::Open(config));
    SagaCensus c;
    Must(TakeSagaCensus(*store, &c));
    EXPECT_EQ(c.from_index, index);
    EXPECT_EQ(c.unreadable, std::vector<std::string>());
    return c;
  };
  const SagaCensus c = census(true);
  EXPECT_EQ(c.sagas, 10u);
  EXPECT_EQ(c.finished, 8u);
  EXPECT_EQ(c.by_state,
            (std::map<std::string, uint64_t>{{"succeeded", 5}, {"failed", 3}, {"stuck", 1}, {"running", 1}}));
  const std::string chain = testing::ChainDag(2).kind;
  ASSERT_EQ(c.by_kind.size(), 2u);
  EXPECT_EQ(c.by_kind.at(chain), (std::map<std::string, uint64_t>{{"succeeded", 1}}));
  EXPECT_EQ(c.by_kind.at("sample"),
            (std::map<std::string, uint64_t>{{"succeeded", 4}, {"failed", 3}, {"stuck", 1}, {"running", 1}}));
  ASSERT_TRUE(c.oldest_in_flight);
  EXPECT_EQ(c.oldest_in_flight->id, cut);  // the one running: the stuck one is older, but waits for an operator
  EXPECT_EQ(c.oldest_in_flight->state, SagaState::kRunning);

  Must(testing::DowngradeToVersion1(Options().path));
  const SagaCensus walked = census(false);
  EXPECT_EQ(walked.sagas, c.sagas);
  EXPECT_EQ(walked.finished, c.finished);
  EXPECT_EQ(walked.by_state, c.by_state);
  EXPECT_EQ(walked.by_kind, c.by_kind);
  ASSERT_TRUE(walked.oldest_in_flight);
  EXPECT_EQ(walked.oldest_in_flight->id, cut);
  EXPECT_EQ(walked.oldest_in_flight->created_ns, c.oldest_in_flight->created_ns);
}

}  // namespace
}  // namespace sagadb
