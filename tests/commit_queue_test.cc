// CommitQueue: the group commit of one saga's log. Writes submitted while another is being written go together
// in the next synced batch; events are numbered in submission order, and the numbers of a batch that failed are
// used again; a write's txn (with its record locks) is gone before its `done` runs; and `done` may submit again.
#include "log/commit_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/fault_injector.h"
#include "engine/key_locks.h"
#include "engine/store.h"
#include "engine/write_hooks.h"
#include "engine/write_txn.h"
#include "log/saga_log.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::Must;

constexpr char kTable[] = "records";

// An event that says who submitted it: `node` is the submission, `attempts` its position within it.
SagaEvent Event(uint32_t submission, uint32_t position = 0) {
  SagaEvent e;
  e.node = submission;
  e.type = EventType::kSucceeded;
  e.attempts = position;
  return e;
}

// Holds write number `n` in BeforeWrite until released, and says when it got there.
class HoldWrite : public StoreHooks {
 public:
  explicit HoldWrite(uint64_t n) : n_(n) {}
  Status BeforeWrite(uint64_t n) override {
    if (n == n_) {
      reached_.set_value();
      release_.get_future().wait();
    }
    return Status::OK();
  }
  void AfterWrite(uint64_t) override {}
  void WaitReached() { reached_.get_future().wait(); }
  void Release() { release_.set_value(); }

 private:
  const uint64_t n_;
  std::promise<void> reached_;
  std::promise<void> release_;
};

// What `done` callbacks saw.
struct Outcomes {
  std::mutex mu;
  std::map<int, Status> by_submission;  // guarded by mu
  void Record(int submission, Status st) {
    std::lock_guard lock(mu);
    by_submission[submission] = std::move(st);
  }
  size_t size() {
    std::lock_guard lock(mu);
    return by_submission.size();
  }
};

class CommitQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreConfig config;
    config.path = dir_.Sub("db");
    config.tables = {kTable};
    store_ = Must(Store::Open(config));
    table_ = Must(store_->FindTable(kTable));
    log_ = std::make_unique<SagaLog>(store_.get());
    queue_ = std::make_unique<CommitQueue>(log_.get(), saga_, 1);
  }

  // A write of `events` events from submission `submission`, with a txn that puts `key` (if not empty).
  LogWrite Write(uint32_t submission, int events, const std::string& key = "") {
    LogWrite w;
    for (int i = 0; i < events; ++i) w.events.push_back(Event(submission, static_cast<uint32_t>(i)));
    if (!key.empty()) {
      w.txn = std::make_unique<WriteTxn>(store_.get(), &locks_);
      EXPECT_EQ(w.txn->Lock({key}), Status::OK());
      w.txn->Put(table_, key, "value of " + key);
    }
    return w;
  }

  // The saga's events as (sequence, submission, position).
  std::vector<std::tuple<uint64_t, uint32_t, uint32_t>> Events() {
    std::vector<std::tuple<uint64_t, uint32_t, uint32_t>> out;
    auto events = SagaLog(store_.get()).ReadEvents(saga_);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (!events.ok()) return out;
    for (const LoggedEvent& e : *events) out.emplace_back(e.seq, e.event.node, e.event.attempts);
    return out;
  }

  bool StripeFree(const std::string& key) {
    const size_t stripe = locks_.StripeOf(key);
    if (!locks_.TryLock(stripe)) return false;
    locks_.Unlock(stripe);
    return true;
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Store> store_;
  TableId table_ = 0;
  KeyLocks locks_;
  std::unique_ptr<SagaLog> log_;
  const Uuid saga_ = Uuid::Generate();
  std::unique_ptr<CommitQueue> queue_;
};

TEST_F(CommitQueueTest, WritesSubmittedDuringAWriteGoTogetherInTheNextSyncedBatchInSubmissionOrder) {
  HoldWrite hold(store_->write_attempts() + 1);
  store_->SetHooks(&hold);
  const uint64_t synced = store_->synced_writes();
  Outcomes outcomes;

  // The first submitter leads, and its write is held inside the store.
  std::thread leader([&] { queue_->Submit(Write(0, 1, "k0"), [&](Status st) { outcomes.Record(0, st); }); });
  hold.WaitReached();
  // Three more arrive while it writes: they queue, and Submit returns at once.
  for (uint32_t s = 1; s <= 3; ++s) {
    queue_->Submit(Write(s, 2, "k" + std::to_string(s)), [&, s](Status st) { outcomes.Record(s, st); });
  }
  EXPECT_EQ(outcomes.size(), 0u);
  EXPECT_EQ(queue_->batches(), 0u);
  hold.Release();
  leader.join();  // the leader writes what queued up meanwhile before it returns
  store_->SetHooks(nullptr);

  ASSERT_EQ(outcomes.size(), 4u);
  for (const auto& [s, st] : outcomes.by_submission) EXPECT_EQ(st, Status::OK()) << "submission " << s;
  EXPECT_EQ(queue_->batches(), 2u);
  EXPECT_EQ(store_->synced_writes() - synced, 2u);  // the three queued writes shared one synced batch
  EXPECT_EQ(queue_->next_seq(), 8u);
  using E = std::tuple<uint64_t, uint32_t, uint32_t>;
  EXPECT_EQ(Events(), (std::vector<E>{{1, 0, 0}, {2, 1, 0}, {3, 1, 1}, {4, 2, 0}, {5, 2, 1}, {6, 3, 0}, {7, 3, 1}}));
  for (int s = 0; s <= 3; ++s) {
    const std::string key = "k" + std::to_string(s);
    EXPECT_EQ(Must(store_->Get(table_, key)), "value of " + key);
    EXPECT_TRUE(StripeFree(key)) << key;
  }
}

TEST_F(CommitQueueTest, ConcurrentSubmittersGetGaplessNumbersAndEachWritesEventsStayTogether) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  const uint64_t synced = store_->synced_writes();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const uint32_t submission = static_cast<uint32_t>(t * 1000 + i);
        if (queue_->Write(Write(submission, 2)).ok()) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  const auto events = Events();
  ASSERT_EQ(events.size(), static_cast<size_t>(2 * kThreads * kPerThread));
  std::map<int, int> last_of_thread;  // each thread's submissions are numbered in its own order
  for (size_t k = 0; k < events.size(); k += 2) {
    const auto& [seq, submission, position] = events[k];
    EXPECT_EQ(seq, k + 1);
    EXPECT_EQ(position, 0u);
    EXPECT_EQ(events[k + 1], std::make_tuple(seq + 1, submission, 1u));
    const int thread = static_cast<int>(submission / 1000), i = static_cast<int>(submission % 1000);
    auto it = last_of_thread.find(thread);
    if (it != last_of_thread.end()) {
      EXPECT_GT(i, it->second);
    }
    last_of_thread[thread] = i;
  }
  EXPECT_EQ(queue_->next_seq(), static_cast<uint64_t>(2 * kThreads * kPerThread + 1));
  EXPECT_LE(queue_->batches(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(store_->synced_writes() - synced, queue_->batches());
}

TEST_F(CommitQueueTest, AFailedBatchWritesNothingAndItsSequenceNumbersAreUsedAgain) {
  FaultInjector faults;
  faults.FailWrite(store_->write_attempts() + 1, Status::Transient("injected: all claims are used"));
  store_->SetHooks(&faults);
  const auto before = testing::RawContents(*store_);

  EXPECT_EQ(queue_->Write(Write(1, 3, "lost")), Status::Transient("injected: all claims are used"));
  EXPECT_EQ(testing::RawContents(*store_), before);
  EXPECT_EQ(queue_->next_seq(), 1u);
  EXPECT_EQ(queue_->batches(), 0u);
  EXPECT_TRUE(StripeFree("lost"));

  EXPECT_EQ(queue_->Write(Write(2, 1, "kept")), Status::OK());
  store_->SetHooks(nullptr);
  using E = std::tuple<uint64_t, uint32_t, uint32_t>;
  EXPECT_EQ(Events(), (std::vector<E>{{1, 2, 0}}));
  EXPECT_EQ(queue_->next_seq(), 2u);
  EXPECT_EQ(queue_->batches(), 1u);
  EXPECT_TRUE(store_->Get(table_, "lost").status().IsNotFound());
  EXPECT_EQ(Must(store_->Get(table_, "kept")), "value of kept");
}

TEST_F(CommitQueueTest, AWritesRecordLocksAreReleasedBeforeItsDoneRunsWhetherItSucceededOrFailed) {
  FaultInjector faults;
  faults.FailWrite(store_->write_attempts() + 2, Status::IOError("injected: disk gone"));
  store_->SetHooks(&faults);
  std::vector<std::pair<Status, bool>> seen;  // the outcome, and whether the write's stripe was free by then
  for (const std::string key : {"first", "second"}) {
    queue_->Submit(Write(static_cast<uint32_t>(seen.size()), 1, key),
                   [&, key](Status st) { seen.emplace_back(st, StripeFree(key)); });
  }
  store_->SetHooks(nullptr);

  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(Status::OK(), true));
  EXPECT_EQ(seen[1], std::make_pair(Status::IOError("injected: disk gone"), true));
}

TEST_F(CommitQueueTest, DoneMaySubmitAgainAndLeadsThatWriteItself) {
  FaultInjector faults;
  faults.FailWrite(store_->write_attempts() + 1, Status::Transient("injected: busy"));
  store_->SetHooks(&faults);
  std::vector<Status> outcomes;
  std::function<void(Status)> done = [&](Status st) {
    outcomes.push_back(st);
    // A retry of the failed write, as a step does: submitted from within `done`, on the leader's thread.
    if (!st.ok()) queue_->Submit(Write(1, 2, "retried"), done);
  };
  queue_->Submit(Write(1, 2, "retried"), done);  // returns once the retry, too, is written
  store_->SetHooks(nullptr);

  EXPECT_EQ(outcomes, (std::vector<Status>{Status::Transient("injected: busy"), Status::OK()}));
  using E = std::tuple<uint64_t, uint32_t, uint32_t>;
  EXPECT_EQ(Events(), (std::vector<E>{{1, 1, 0}, {2, 1, 1}}));
  EXPECT_EQ(queue_->batches(), 1u);
  EXPECT_EQ(Must(store_->Get(table_, "retried")), "value of retried");
  EXPECT_TRUE(StripeFree("retried"));
}

TEST_F(CommitQueueTest, ARecordIsWrittenWithTheEventsOfItsBatch) {
  SagaRecord record;
  record.id = saga_;
  record.kind = "test";
  record.nodes = {DagNode{"only", NodeKind::kAction, "test.action", "", {}, 0, -1}};
  record.scopes = {DagScope{"", 0, -1}};
  record.state = SagaState::kSucceeded;
  record.generation = 1;
  LogWrite w = Write(0, 1);
  w.record = record;
  const uint64_t synced = store_->synced_writes();

  ASSERT_EQ(queue_->Write(std::move(w)), Status::OK());

  EXPECT_EQ(store_->synced_writes() - synced, 1u);
  EXPECT_EQ(Must(SagaLog(store_.get()).ReadRecord(saga_)), record);
  using E = std::tuple<uint64_t, uint32_t, uint32_t>;
  EXPECT_EQ(Events(), (std::vector<E>{{1, 0, 0}}));
}

}  // namespace
}  // namespace sagadb
