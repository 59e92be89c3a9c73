#include "sagas/executor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "engine/fault_injector.h"
#include "engine/key_locks.h"
#include "engine/write_txn.h"
#include "log/saga_log.h"
#include "schema/codec.h"
#include "tests/saga_test_util.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::FileCount;
using testing::LiveDisksWithTag;

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("files"));
    app_.files_dir = dir_.Sub("files");
    testing::RegisterTestActions(&registry_, &app_);
    Open();
  }

  void Open(ExecutorOptions options = FastOptions()) {
    executor_.reset();
    datastore_.reset();
    store_.reset();
    StoreConfig config;
    config.path = dir_.Sub("db");
    config.tables = testing::TestTables();
    auto store = Store::Open(config);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto datastore = Datastore::Open(store_.get(), &locks_);
    ASSERT_TRUE(datastore.ok()) << datastore.status().ToString();
    datastore_ = std::move(*datastore);
    executor_ = std::make_unique<SagaExecutor>(store_.get(), &locks_, &registry_, options);
  }

  static ExecutorOptions FastOptions() {
    ExecutorOptions o;
    o.threads = 8;
    o.undo_retry.initial_backoff = std::chrono::microseconds(100);
    o.forward_retry.initial_backoff = std::chrono::microseconds(100);
    return o;
  }

  SagaRecord ReadRecord(const Uuid& id) {
    auto rec = SagaLog(store_.get()).ReadRecord(id);
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    return rec.ok() ? *rec : SagaRecord{};
  }

  // The log replays without error, its state agrees with the record, and the record has the given state.
  void ExpectLegalLog(const Uuid& id, SagaState expected) {
    SagaRecord rec = ReadRecord(id);
    EXPECT_EQ(rec.state, expected);
    auto events = SagaLog(store_.get()).ReadEvents(id);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    auto history = ReplaySagaLog(rec, *events);
    ASSERT_TRUE(history.ok()) << history.status().ToString();
    auto state = StateFromLog(rec, *history);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    EXPECT_EQ(*state, expected);
  }

  // A failed sample saga left nothing: no live disk, no file, and no undo_failed event.
  void ExpectNothingLeft(const Uuid& id, const std::string& tag) {
    EXPECT_EQ(LiveDisksWithTag(*datastore_, tag), 0);
    EXPECT_EQ(FileCount(app_.files_dir), 0);
    auto events = SagaLog(store_.get()).ReadEvents(id);
    ASSERT_TRUE(events.ok());
    for (const auto& e : *events) EXPECT_NE(e.event.type, EventType::kUndoFailed);
  }

  testing::ScratchDir dir_;
  testing::TestApp app_;
  ActionRegistry registry_;
  KeyLocks locks_;  // the record locks of the executor's txns
  std::unique_ptr<Store> store_;
  std::unique_ptr<Datastore> datastore_;
  std::unique_ptr<SagaExecutor> executor_;
};

TEST_F(ExecutorTest, SampleSagaSucceedsWithItsLastNodesOutput) {
  auto r = executor_->Run(testing::SampleDag(), Json{{"tag", "ok"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kSucceeded);
  EXPECT_TRUE(r->output.contains("disk"));
  EXPECT_TRUE(r->output.contains("b"));
  EXPECT_EQ(LiveDisksWithTag(*datastore_, "ok"), 4);  // a, b, sub.x, d
  EXPECT_EQ(FileCount(app_.files_dir), 2);            // c, sub.y
  ExpectLegalLog(r->id, SagaState::kSucceeded);
}

TEST_F(ExecutorTest, InjectedFailureAtAnyNodeUnwindsEverything) {
  for (const auto& node : testing::SampleActionNodes()) {
    SCOPED_TRACE(node);
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAction(node, Status::InvalidRequest("injected"));
    executor_->SetFaultPlan(plan);
    std::string tag = "f" + std::to_string(std::hash<std::string>{}(node) % 1000);
    auto r = executor_->Run(testing::SampleDag(), Json{{"tag", tag}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->state, SagaState::kFailed);
    EXPECT_EQ(r->error_node, node);
    EXPECT_EQ(r->error.message(), "injected");
    ExpectLegalLog(r->id, SagaState::kFailed);
    ExpectNothingLeft(r->id, tag);
  }
}

TEST_F(ExecutorTest, FailureAfterStagingCommitsNothingAndUnwinds) {
  for (const auto& node : {"a", "b", "sub.x", "d"}) {  // the local nodes
    SCOPED_TRACE(node);
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAfterStage(node, Status::Internal("injected after staging"));
    executor_->SetFaultPlan(plan);
    std::string tag = std::string("s") + (node[0] == 's' ? "x" : node);
    auto r = executor_->Run(testing::SampleDag(), Json{{"tag", tag}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->state, SagaState::kFailed);
    EXPECT_EQ(r->error_node, node);
    ExpectLegalLog(r->id, SagaState::kFailed);
    ExpectNothingLeft(r->id, tag);
  }
}

// An external action's effect happened, then its step failed before recording it: the step's own undo takes
// the effect back (the unwind never undoes a failed node), so the saga still ends with nothing left.
TEST_F(ExecutorTest, FailureAfterAnExternalEffectTakesTheEffectBackAndUnwinds) {
  for (const auto& node : {"c", "sub.y"}) {  // the external nodes
    SCOPED_TRACE(node);
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAfterEffect(node, Status::Internal("injected after the effect"));
    executor_->SetFaultPlan(plan);
    std::string tag = std::string("e") + (node[0] == 's' ? "y" : node);
    auto r = executor_->Run(testing::SampleDag(), Json{{"tag", tag}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->state, SagaState::kFailed);
    EXPECT_EQ(r->error_node, node);
    EXPECT_EQ(r->error.message(), "injected after the effect");
    ExpectLegalLog(r->id, SagaState::kFailed);
    ExpectNothingLeft(r->id, tag);
  }
}

// Transient: the effect is taken back and the action runs again, which then succeeds.
TEST_F(ExecutorTest, TransientFailureAfterAnExternalEffectRunsTheActionAgain) {
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAfterEffect("c", Status::Transient("injected after the effect"), 1);
  executor_->SetFaultPlan(plan);
  auto r = executor_->Run(testing::SampleDag(), Json{{"tag", "et"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kSucceeded);
  EXPECT_EQ(executor_->stats().action_retries, 1u);
  EXPECT_EQ(FileCount(app_.files_dir), 2);
  ExpectLegalLog(r->id, SagaState::kSucceeded);
}

TEST_F(ExecutorTest, ActionsAndUndosRunTwiceReachTheSameEndState) {
  auto plan = std::make_shared<FaultPlan>();
  plan->RunActionTwice(FaultPlan::kEveryNode);
  plan->RunUndoTwice(FaultPlan::kEveryNode);
  executor_->SetFaultPlan(plan);
  auto ok = executor_->Run(testing::SampleDag(), Json{{"tag", "twice"}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->state, SagaState::kSucceeded);
  EXPECT_EQ(LiveDisksWithTag(*datastore_, "twice"), 4);
  EXPECT_EQ(FileCount(app_.files_dir), 2);

  plan->FailAction("d", Status::InvalidRequest("injected"));
  auto failed = executor_->Run(testing::SampleDag(), Json{{"tag", "twicefail"}});
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_EQ(failed->state, SagaState::kFailed);
  EXPECT_EQ(LiveDisksWithTag(*datastore_, "twicefail"), 0);
  EXPECT_EQ(FileCount(app_.files_dir), 2);  // only the succeeded saga's files
  ExpectLegalLog(failed->id, SagaState::kFailed);
}

TEST_F(ExecutorTest, TransientUndoErrorsAreRetriedAndTheSagaUnwindsCleanly) {
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected"));
  plan->FailUndo("sub.x", Status::Transient("busy"), 3);
  plan->FailUndo("c", Status::Transient("busy"), 3);
  executor_->SetFaultPlan(plan);
  auto r = executor_->Run(testing::SampleDag(), Json{{"tag", "tu"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kFailed);
  EXPECT_GE(executor_->stats().undo_retries, 6u);
  ExpectLegalLog(r->id, SagaState::kFailed);
  ExpectNothingLeft(r->id, "tu");
}

TEST_F(ExecutorTest, TransientForwardErrorsAreRetriedBeforeUnwinding) {
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("b", Status::Transient("busy"), 2);
  executor_->SetFaultPlan(plan);
  auto r = executor_->Run(testing::SampleDag(), Json{{"tag", "tf"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kSucceeded);
  EXPECT_EQ(executor_->stats().action_retries, 2u);
}

TEST_F(ExecutorTest, PermanentUndoErrorLeavesTheSagaStuckDurably) {
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected"));
  plan->FailUndo("a", Status::Conflict("volume is busy forever"), FaultPlan::kAlways);
  executor_->SetFaultPlan(plan);
  auto r = executor_->Run(testing::SampleDag(), Json{{"tag", "stuck"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kStuck);
  EXPECT_EQ(r->error_node, "a");
  EXPECT_NE(r->error.message().find("volume is busy forever"), std::string::npos);
  const Uuid id = r->id;

  Open();  // reopen: the stuck state and its reason are durable
  SagaRecord rec = ReadRecord(id);
  EXPECT_EQ(rec.state, SagaState::kStuck);
  EXPECT_EQ(QualifiedName(rec.nodes, rec.scopes, rec.error_node), "a");
  EXPECT_NE(rec.error.find("volume is busy forever"), std::string::npos);
  ExpectLegalLog(id, SagaState::kStuck);
  // Only `a` is left (its undo failed); everything below it was undone.
  EXPECT_EQ(LiveDisksWithTag(*datastore_, "stuck"), 1);
}

// A subsaga's end node has no step and writes nothing. When the unwind reaches it, the local step inside the
// subsaga is undone next; if that undo fails for good in the round that passed the end node, the failure waits
// for the next round, and so must the end node not wait for a round with nothing else in it (the saga halted,
// "cannot make progress", before).
TEST_F(ExecutorTest, APermanentUndoFailureRightInsideASubsagaLeavesTheSagaStuckThere) {
  DagBuilder sub("inner");
  sub.Append(NodeSpec::Action("x", "test.disk"));
  SagaDag sub_dag = *sub.Build();
  DagBuilder b("outer");
  b.Append(NodeSpec::Action("a", "test.disk"));
  b.Append(NodeSpec::Subsaga("s", sub_dag, "a"));
  b.Append(NodeSpec::Action("d", "test.disk"));
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected"));
  plan->FailUndo("s.x", Status::Conflict("injected: for good"), FaultPlan::kAlways);
  executor_->SetFaultPlan(plan);
  auto r = executor_->Run(*b.Build(), Json{{"tag", "inner"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kStuck);
  EXPECT_EQ(r->error_node, "s.x");
  ExpectLegalLog(r->id, SagaState::kStuck);
}

// Retries that ran out may pass later: the saga pauses (it does not claim to be stuck for good).
TEST_F(ExecutorTest, ExhaustedTransientUndoRetriesPauseTheSaga) {
  ExecutorOptions o = FastOptions();
  o.undo_retry.max_attempts = 3;
  Open(o);
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected"));
  plan->FailUndo("b", Status::Transient("still busy"), FaultPlan::kAlways);
  executor_->SetFaultPlan(plan);
  auto r = executor_->Run(testing::SampleDag(), Json{{"tag", "ex"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, SagaState::kPaused);
  EXPECT_EQ(r->error_node, "b");
  EXPECT_NE(r->error.message().find("gave up after 3 attempts"), std::string::npos);
  ExpectLegalLog(r->id, SagaState::kPaused);
  EXPECT_EQ(executor_->stats().paused, 1u);
  EXPECT_EQ(executor_->stats().stuck, 0u);
}

// A round takes every local step that is ready, a child building on its parent's staged writes: the whole chain,
// the saga's record and its final state are one synced batch.
TEST_F(ExecutorTest, AChainOfLocalStepsCostsOneSyncedWrite) {
  for (int n : {1, 5, 20}) {
    const uint64_t before = store_->synced_writes();
    auto r = executor_->Run(testing::ChainDag(n), Json{{"tag", "chain" + std::to_string(n)}});
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->state, SagaState::kSucceeded);
    EXPECT_EQ(store_->synced_writes() - before, 1u) << "n=" << n;
    ExpectLegalLog(r->id, SagaState::kSucceeded);
    EXPECT_EQ(LiveDisksWithTag(*datastore_, "chain" + std::to_string(n)), n);
  }
}

TEST_F(ExecutorTest, InFlightLimitHoldsUnder200ConcurrentSubmissionsAndRejectionsWriteNothing) {
  ExecutorOptions o = FastOptions();
  o.max_in_flight = 4;
  Open(o);
  const uint64_t writes_before = store_->synced_writes();
  std::atomic<int> ok{0}, overloaded{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 200; ++t) {
    threads.emplace_back([&, t] {
      auto r = executor_->Run(testing::CountingDag(), Json{{"tag", "adm" + std::to_string(t)}});
      if (r.ok() && r->state == SagaState::kSucceeded) {
        ok++;
      } else if (!r.ok() && r.status().code() == Code::kOverloaded) {
        overloaded++;
      } else {
        other++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok + overloaded, 200);
  EXPECT_GT(overloaded.load(), 0);
  EXPECT_LE(app_.max_active.load(), 4);
  // Every admitted saga wrote its record, 3 nodes and its end (at most); rejected ones wrote nothing.
  EXPECT_LE(store_->synced_writes() - writes_before, static_cast<uint64_t>(ok.load()) * 5);
  auto it = store_->NewCursor(kSagasTable);
  int records = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) records++;
  ASSERT_EQ(it->status(), Status::OK());
  EXPECT_EQ(records, ok.load());
}

TEST_F(ExecutorTest, AdmissionWaitsUpToTheCallersDeadline) {
  ExecutorOptions o = FastOptions();
  o.max_in_flight = 1;
  Open(o);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      StartOptions so;
      so.admission_wait = std::chrono::seconds(30);
      auto r = executor_->Run(testing::CountingDag(), Json{{"tag", "w" + std::to_string(t)}}, so);
      if (r.ok() && r->state == SagaState::kSucceeded) ok++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(app_.max_active.load(), 1);
}

TEST_F(ExecutorTest, UnknownActionIsRefusedBeforeAnythingIsWritten) {
  DagBuilder b("bad");
  b.Append(NodeSpec::Action("x", "no.such.action"));
  const uint64_t before = store_->synced_writes();
  auto r = executor_->Start(*b.Build(), Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidRequest);
  EXPECT_NE(r.status().message().find("no.such.action"), std::string::npos);
  EXPECT_EQ(store_->synced_writes(), before);
}

// What a round's batch holds: the steps ready at once, with the saga's record. The sample saga's first round
// carries a, b and sub.x (b and sub.x built on a's staged writes) and the starts of c and sub.y.
TEST_F(ExecutorTest, TheFirstRoundCarriesEveryStepReadyAtOnceWithTheSagasRecord) {
  // Every event and saga record durable after the first write, read by a hook at that moment.
  class AfterFirstWrite : public StoreHooks {
   public:
    explicit AfterFirstWrite(Store* store) : store_(store) {}
    Status BeforeWrite(uint64_t) override { return Status::OK(); }
    void AfterWrite(uint64_t) override {
      if (++writes_ != 1) return;
      auto it = store_->NewCursor(kSagaEventsTable);
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        SagaEvent e;
        std::string why;
        if (Decode(it->value(), &e, &why)) events_[testing::SampleDag().QualifiedName(e.node)] = e.type;
      }
      records_ = 0;
      auto rec = store_->NewCursor(kSagasTable);
      for (rec->SeekToFirst(); rec->Valid(); rec->Next()) records_++;
    }
    std::map<std::string, EventType> events_;
    int records_ = -1;

   private:
    Store* store_;
    int writes_ = 0;
  } hook(store_.get());
  store_->SetHooks(&hook);
  auto r = executor_->Run(testing::SampleDag(), Json{{"tag", "first-round"}});
  store_->SetHooks(nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->state, SagaState::kSucceeded);
  EXPECT_EQ(hook.records_, 1);
  EXPECT_EQ(hook.events_, (std::map<std::string, EventType>{{"a", EventType::kSucceeded},
                                                             {"b", EventType::kSucceeded},
                                                             {"sub.x", EventType::kSucceeded},
                                                             {"c", EventType::kStarted},
                                                             {"sub.y", EventType::kStarted}}));
  ExpectLegalLog(r->id, SagaState::kSucceeded);
}

// A round is one batch: when its write fails, nothing of any of its steps is visible, and the saga, resumed,
// runs them all again.
TEST_F(ExecutorTest, ARoundThatFailsToBeWrittenLeavesNothingOfAnyOfItsSteps) {
  class FailSecondWrite : public StoreHooks {
   public:
    explicit FailSecondWrite(Store* store) : store_(store) {}
    Status BeforeWrite(uint64_t) override {
      if (++writes_ != 2) return Status::OK();
      before_ = testing::RawContents(*store_);
      return Status::IOError("the disk went away");
    }
    void AfterWrite(uint64_t) override {}
    std::map<std::string, std::string> before_;

   private:
    Store* store_;
    int writes_ = 0;
  } hook(store_.get());
  // The second round holds what the first made possible: the outcome of c or sub.y, or both, and then d's disk
  // and the end.
  store_->SetHooks(&hook);
  auto h = executor_->Start(testing::SampleDag(), Json{{"tag", "whole"}});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  auto r = h->Wait();
  store_->SetHooks(nullptr);
  ASSERT_FALSE(r.ok());  // halted: the log cannot be written
  EXPECT_EQ(testing::RawContents(*store_), hook.before_);
  EXPECT_EQ(LiveDisksWithTag(*datastore_, "whole"), 3);  // a, b and sub.x, from the first round
  EXPECT_EQ(ReadRecord(h->id()).state, SagaState::kRunning);

  // Resumed (as recovery does), it finishes: c and sub.y run again (they are idempotent), then d and the end.
  Open();
  auto record = ReadRecord(h->id());
  auto events = SagaLog(store_.get()).ReadEvents(h->id());
  ASSERT_TRUE(events.ok());
  auto history = ReplaySagaLog(record, *events);
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  auto resumed = executor_->Resume(record, *history);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  auto end = resumed->Wait();
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(end->state, SagaState::kSucceeded);
  EXPECT_EQ(LiveDisksWithTag(*datastore_, "whole"), 4);
  ExpectLegalLog(h->id(), SagaState::kSucceeded);
}

// A step that fails on a parent staged in the same round is recorded failed only once the parent's success is
// durable: were the round lost, the failure would otherwise reach the log before the parent's success.
TEST_F(ExecutorTest, AFailureOnAParentStagedInTheSameRoundIsLoggedAfterTheParentEvenWhenTheRoundIsLost) {
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("n1", Status::InvalidRequest("injected"));
  executor_->SetFaultPlan(plan);
  FaultInjector faults;
  store_->SetHooks(&faults);
  faults.FailWrite(store_->write_attempts() + 1, Status::Transient("busy"));  // the first round is lost once
  auto r = executor_->Run(testing::ChainDag(3), Json{{"tag", "deferred"}});
  store_->SetHooks(nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kFailed);
  EXPECT_EQ(r->error_node, "n1");
  ExpectLegalLog(r->id, SagaState::kFailed);
  ExpectNothingLeft(r->id, "deferred");
}

TEST_F(ExecutorTest, ALogWriteThatKeepsFailingHaltsTheSagaWithoutMarkingItDone) {
  FaultInjector faults;
  store_->SetHooks(&faults);
  faults.FailWritesFrom(store_->write_attempts() + 2, Status::IOError("disk gone"));
  auto h = executor_->Start(testing::SampleDag(), Json{{"tag", "halt"}});
  ASSERT_TRUE(h.ok());
  auto r = h->Wait();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("disk gone"), std::string::npos);
  store_->SetHooks(nullptr);
  // Still running in the database, for recovery.
  EXPECT_EQ(ReadRecord(h->id()).state, SagaState::kRunning);
}

// A saga's end is published only once the round that carries its final record is durable. When that very write
// fails, Wait reports the halt, and the database still says the saga is running or unwinding (recovery finishes
// it): a succeeded, failed or stuck that was never written is never reported.
TEST_F(ExecutorTest, WaitNeverReportsAnEndWhoseFinalRecordWasNotWritten) {
  DagBuilder b("local-external-local");
  b.Append(NodeSpec::Action("a", "test.disk"));
  b.Append(NodeSpec::Action("c", "test.file"));
  b.Append(NodeSpec::Action("e", "test.disk"));
  const SagaDag dag = *b.Build();
  struct Case {
    std::string name;
    std::function<void(FaultPlan&)> faults;
    SagaState end;    // how the saga ends when its final write succeeds
    SagaState left;   // what the database says when that write fails
  };
  const std::vector<Case> cases = {
      {"succeeded", [](FaultPlan&) {}, SagaState::kSucceeded, SagaState::kRunning},
      {"failed", [](FaultPlan& p) { p.FailAction("e", Status::InvalidRequest("injected")); }, SagaState::kFailed,
       SagaState::kUnwinding},
      {"stuck",
       [](FaultPlan& p) {
         p.FailAction("e", Status::InvalidRequest("injected"));
         p.FailUndo("a", Status::Conflict("injected: cannot be undone"), FaultPlan::kAlways);
       },
       SagaState::kStuck, SagaState::kUnwinding},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto plan = std::make_shared<FaultPlan>();
    c.faults(*plan);
    executor_->SetFaultPlan(plan);
    // How many writes the saga makes, its final record in the last.
    uint64_t base = store_->write_attempts();
    auto full = executor_->Run(dag, Json{{"tag", c.name + "-full"}});
    ASSERT_TRUE(full.ok()) << full.status().ToString();
    ASSERT_EQ(full->state, c.end);
    const uint64_t writes = store_->write_attempts() - base;
    ASSERT_GE(writes, 2u);

    plan = std::make_shared<FaultPlan>();
    c.faults(*plan);
    executor_->SetFaultPlan(plan);
    FaultInjector faults;
    store_->SetHooks(&faults);
    base = store_->write_attempts();
    faults.FailWrite(base + writes, Status::IOError("injected: the final write failed"));
    auto h = executor_->Start(dag, Json{{"tag", c.name + "-cut"}});
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    auto r = h->Wait();
    store_->SetHooks(nullptr);
    EXPECT_EQ(faults.injected_failures(), 1u);
    EXPECT_EQ(store_->write_attempts() - base, writes);
    ASSERT_FALSE(r.ok()) << "Wait reported " << ToString(r->state) << " though its record was never written";
    EXPECT_EQ(r.status().code(), Code::kIOError);
    EXPECT_NE(r.status().message().find("halted"), std::string::npos) << r.status().message();
    ExpectLegalLog(h->id(), c.left);
  }
  executor_->SetFaultPlan(nullptr);
}

// Steps hand their log records to the commit queue and do not wait: whoever writes a batch finishes its nodes,
// retrying or failing them when the write failed. With one pool thread that writer is the only thread there
// is, and finishing a node may itself commit (a retry's batch, a failure record): none of it may deadlock.
TEST_F(ExecutorTest, WithOnePoolThreadTransientWriteFailuresAreRetriedToSuccess) {
  ExecutorOptions o = FastOptions();
  o.threads = 1;
  o.log_retry.initial_backoff = std::chrono::microseconds(100);
  Open(o);
  FaultInjector faults;
  store_->SetHooks(&faults);
  const uint64_t base = store_->write_attempts();
  // Every other write fails, the first round's first try among them.
  for (uint64_t k = 1; k <= 39; k += 2) faults.FailWrite(base + k, Status::Transient("busy"));
  auto r = executor_->Run(testing::SampleDag(), Json{{"tag", "one-thread"}});
  store_->SetHooks(nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kSucceeded) << r->error_node << ": " << r->error.ToString();
  ExpectLegalLog(r->id, SagaState::kSucceeded);
  const ExecutorStats stats = executor_->stats();
  EXPECT_GT(stats.action_retries, 0u);  // local steps whose batch failed ran again
  EXPECT_GT(stats.log_retries, 0u);     // rounds (started/succeeded records of external steps too) written again
}

TEST_F(ExecutorTest, WithOnePoolThreadALocalStepWhoseBatchKeepsFailingUnwindsTheSaga) {
  ExecutorOptions o = FastOptions();
  o.threads = 1;
  o.forward_retry.max_attempts = 3;
  Open(o);
  FaultInjector faults;
  store_->SetHooks(&faults);
  const uint64_t base = store_->write_attempts();
  // The saga's first round (its record with a, b and sub.x, all ready at once, and the starts of c and sub.y)
  // fails three times: a's three runs are its three attempts; b and sub.x built on a's writes in the same
  // round, so they simply run again after a (and never run once a has failed).
  for (uint64_t k = 1; k <= 3; ++k) faults.FailWrite(base + k, Status::Transient("busy"));
  auto r = executor_->Run(testing::SampleDag(), Json{{"tag", "batch-fails"}});
  store_->SetHooks(nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kFailed);
  EXPECT_EQ(r->error_node, "a");
  ExpectLegalLog(r->id, SagaState::kFailed);
  ExpectNothingLeft(r->id, "batch-fails");
  EXPECT_EQ(executor_->stats().action_retries, 2u);
}

TEST_F(ExecutorTest, ContextRefusesNonAncestorsAndWrongTypes) {
  ActionRegistry reg;
  (void)reg.Register({"ctx.num", ActionKind::kLocal, [](ActionContext&) -> Result<Json> { return Json(5); }});
  (void)reg.Register({"ctx.check", ActionKind::kLocal, [](ActionContext& ctx) -> Result<Json> {
                        if (ctx.Lookup("sibling").ok()) return Status::Internal("a sibling is not an ancestor");
                        if (ctx.Lookup<std::string>("num").ok()) return Status::Internal("5 is not a string");
                        auto n = ctx.Lookup<int>("num");
                        if (!n.ok() || *n != 5) return Status::Internal("ancestor output lost");
                        if (ctx.Params<std::vector<int>>().ok()) return Status::Internal("params are an object");
                        return Json("checked");
                      }});
  SagaExecutor ex(store_.get(), &locks_, &reg, FastOptions());
  DagBuilder b("ctx");
  b.Append(NodeSpec::Action("num", "ctx.num"));
  b.AppendParallel({NodeSpec::Action("check", "ctx.check"), NodeSpec::Action("sibling", "ctx.num")});
  auto r = ex.Run(*b.Build(), Json{{"k", 1}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, SagaState::kSucceeded) << r->error.ToString();
}

TEST(DagBuilderTest, RejectsDuplicateNamesEmptyStagesAndNonAncestorParams) {
  DagBuilder dup("d");
  dup.Append(NodeSpec::Action("a", "x"));
  dup.Append(NodeSpec::Action("a", "x"));
  EXPECT_NE(dup.Build().status().message().find("duplicate"), std::string::npos);

  DagBuilder empty("e");
  empty.AppendParallel({});
  EXPECT_NE(empty.Build().status().message().find("at least one node"), std::string::npos);

  DagBuilder nothing("n");
  EXPECT_FALSE(nothing.Build().ok());

  DagBuilder sub("s");
  sub.Append(NodeSpec::Action("x", "x"));
  SagaDag sub_dag = *sub.Build();
  DagBuilder sibling("p");
  sibling.Append(NodeSpec::Action("first", "x"));
  sibling.AppendParallel({NodeSpec::Action("p", "x"), NodeSpec::Subsaga("s", sub_dag, "p")});
  EXPECT_NE(sibling.Build().status().message().find("not an ancestor"), std::string::npos);

  DagBuilder ok("o");
  ok.Append(NodeSpec::Action("p", "x"));
  ok.Append(NodeSpec::Subsaga("s", sub_dag, "p"));
  auto dag = ok.Build();
  ASSERT_TRUE(dag.ok());
  // p, s.@start, s.x, s
  ASSERT_EQ(dag->nodes.size(), 4u);
  EXPECT_EQ(dag->QualifiedName(2), "s.x");
  EXPECT_EQ(dag->nodes[1].link, 0);
  EXPECT_EQ(dag->nodes[3].link, 2);
}

}  // namespace
}  // namespace sagadb

namespace sagadb {
namespace {

TEST_F(ExecutorTest, ALockOrderConflictIsRunAgainWithoutUsingUpTheStepsRetries) {
  // Two ids whose stripes are in descending order, so taking them one after the other is out of order.
  Uuid high = Uuid::Generate(), low = Uuid::Generate();
  KeyLocks& locks = locks_;
  while (locks.StripeOf(high.AsBytes()) <= locks.StripeOf(low.AsBytes())) low = Uuid::Generate();
  ActionRegistry reg;
  (void)reg.Register({"lock.out_of_order", ActionKind::kLocal, [&](ActionContext& ctx) -> Result<Json> {
                        SAGADB_RETURN_IF_ERROR(ctx.txn()->Lock(high));
                        SAGADB_RETURN_IF_ERROR(ctx.txn()->Lock(low));
                        return Json("locked");
                      }});
  ExecutorOptions o = FastOptions();
  o.forward_retry.max_attempts = 2;
  SagaExecutor ex(store_.get(), &locks_, &reg, o);
  DagBuilder b("locks");
  b.Append(NodeSpec::Action("step", "lock.out_of_order"));

  // Another holder keeps `low` busy for far longer than the step's own retries would last.
  auto holder = std::make_unique<WriteTxn>(store_.get(), &locks);
  ASSERT_TRUE(holder->Lock(low).ok());
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    holder.reset();
  });
  auto r = ex.Run(*b.Build(), Json::object());
  release.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, SagaState::kSucceeded) << r->error.ToString();
  EXPECT_GT(ex.stats().lock_conflict_retries, 0u);
  EXPECT_EQ(ex.stats().action_retries, 0u);
}

}  // namespace
}  // namespace sagadb
