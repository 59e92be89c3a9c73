// The operator controls (Database::Cancel, Resume, Abandon) and the paused state, on the sample saga
// (tests/saga_test_util.h): each control at each node of the saga and during an unwind, each of their writes
// failed before and after (the store stops writing there, as a crash would leave the log), and the saga's
// world and log checked after each.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include "db/database_impl.h"
#include "engine/fault_injector.h"
#include "log/replay.h"
#include "log/saga_log.h"
#include "tests/saga_test_util.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::Must;

// A latch an action waits on, so a control can be applied while the node runs.
class Gate {
 public:
  void Open() { open_.set_value(); }
  void Wait() { opened_.wait(); }

 private:
  std::promise<void> open_;
  std::shared_future<void> opened_ = open_.get_future().share();
};

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("files"));
    app_.files_dir = dir_.Sub("files");
    testing::RegisterTestActions(&registry_, &app_);
  }

  std::unique_ptr<Database> Open(StoreHooks* hooks = nullptr, bool retry_paused = true) {
    DatabaseOptions o;
    o.path = dir_.Sub("db");
    o.executor.threads = 4;
    o.executor.undo_retry.max_attempts = 2;
    o.executor.undo_retry.initial_backoff = std::chrono::microseconds(100);
    o.retry_paused_at_open = retry_paused;
    OpenSeams seams;
    seams.hooks = hooks;
    auto db = OpenDatabase(o, {testing::TestDomain(&app_)}, seams);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  static std::vector<LoggedEvent> Events(Database& db, const Uuid& id) {
    return Must(SagaLog(&db.impl().store()).ReadEvents(id));
  }
  static SagaRecord Record(Database& db, const Uuid& id) { return Must(SagaLog(&db.impl().store()).ReadRecord(id)); }

  // The operator events of the saga's log, by action.
  static std::vector<SagaEvent> OperatorEvents(Database& db, const Uuid& id) {
    std::vector<SagaEvent> out;
    for (const auto& e : Events(db, id)) {
      if (e.event.type == EventType::kOperator) out.push_back(e.event);
    }
    return out;
  }

  // The log replays, agrees with the record, and the saga's world is as its state says: nothing of a failed
  // saga remains, all of a succeeded one does.
  void ExpectConsistent(Database& db, const Uuid& id, const std::string& tag) {
    SagaRecord r = Record(db, id);
    auto history = ReplaySagaLog(r, Events(db, id));
    ASSERT_TRUE(history.ok()) << history.status().ToString();
    auto state = StateFromLog(r, *history);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    EXPECT_EQ(*state, r.state);
    auto ds = Must(Datastore::Open(&db.impl().store()));
    if (r.state == SagaState::kFailed) {
      EXPECT_EQ(testing::LiveDisksWithTag(*ds, tag), 0) << tag;
      size_t files = 0;  // the external steps' files are named after the saga
      for (const auto& f : std::filesystem::directory_iterator(app_.files_dir)) {
        files += f.path().filename().string().starts_with(id.ToString());
      }
      EXPECT_EQ(files, 0u) << tag;
    } else if (r.state == SagaState::kSucceeded) {
      EXPECT_EQ(testing::LiveDisksWithTag(*ds, tag), 4) << tag;  // a, b, sub.x, d
    }
  }

  // Starts the sample saga under `id`; its external step c waits for `gate` (so controls meet it in flight).
  SagaHandle StartHeldAtC(Database& db, const Uuid& id, const std::string& tag, Gate* gate) {
    app_.on_action = [gate](const std::string& node) {
      if (node == "c") gate->Wait();
    };
    StartOptions so;
    so.id = id;
    return Must(db.Start(testing::SampleDag(), Json{{"tag", tag}}, so));
  }

  // Leaves a saga paused: d fails, and c's undo keeps failing transiently until its retries run out.
  Uuid Paused(Database& db, const std::string& tag) {
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAction("d", Status::InvalidRequest("injected"));
    plan->FailUndo("c", Status::Transient("volume host busy"), FaultPlan::kAlways);
    db.impl().executor().SetFaultPlan(plan);
    auto r = Must(db.Run(testing::SampleDag(), Json{{"tag", tag}}));
    db.impl().executor().SetFaultPlan(nullptr);
    EXPECT_EQ(r.state, SagaState::kPaused);
    EXPECT_EQ(r.error_node, "c");
    return r.id;
  }

  testing::ScratchDir dir_;
  testing::TestApp app_;
  ActionRegistry registry_;
};

const OperatorRequest kAlice{"alice", "the tenant asked"};

TEST_F(OperatorTest, ACancelWhileAnyNodeRunsUnwindsTheSagaCleanlyOrComesAfterItsEnd) {
  auto db = Open();
  int cancelled = 0;
  for (const std::string& node : testing::SampleActionNodes()) {
    SCOPED_TRACE(node);
    const Uuid id = Uuid::Generate();
    std::string tag = "at-" + node;
    std::replace(tag.begin(), tag.end(), '.', '-');  // as the test actions name their disks
    std::optional<Result<SagaState>> answer;
    std::thread canceller;
    std::atomic<bool> fired{false};
    // The cancel is asked while the node runs: an external step waits for it to be durable; a local step runs
    // inside its round, which the cancel's round follows, so it is asked from another thread.
    const bool external = node == "c" || node == "sub.y";
    app_.on_action = [&](const std::string& running) {
      if (running != node || fired.exchange(true)) return;
      if (external) {
        answer = db->Cancel(id, kAlice);
        return;
      }
      canceller = std::thread([&] { answer = db->Cancel(id, kAlice); });
      // The step goes on once the cancel is registered with the saga (it then rides the next round).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!db->impl().executor().CancelRequested(id) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    };
    StartOptions so;
    so.id = id;
    auto r = Must(Must(db->Start(testing::SampleDag(), Json{{"tag", tag}}, so)).Wait());
    if (canceller.joinable()) canceller.join();
    app_.on_action = nullptr;
    ASSERT_TRUE(answer.has_value());
    if (answer->ok()) {
      EXPECT_EQ(**answer, SagaState::kUnwinding);
      EXPECT_EQ(r.state, SagaState::kFailed);
      EXPECT_EQ(r.error.code(), Code::kCancelled) << r.error.ToString();
      EXPECT_EQ(r.error.message(), "cancelled by alice: the tenant asked");
      EXPECT_EQ(r.error_node, "");
      auto ops = OperatorEvents(*db, id);
      ASSERT_EQ(ops.size(), 1u);
      EXPECT_EQ(ops[0].op, OperatorOp::kCancel);
      EXPECT_EQ(ops[0].actor, "alice");
      cancelled++;
    } else {
      // Only a cancel asked during the last node can come too late: the saga's end was already on its way.
      EXPECT_EQ(node, "d") << answer->status().ToString();
      EXPECT_EQ(answer->status().code(), Code::kInvalidRequest);
      EXPECT_EQ(r.state, SagaState::kSucceeded);
      EXPECT_TRUE(OperatorEvents(*db, id).empty());
    }
    ExpectConsistent(*db, id, tag);
  }
  EXPECT_GE(cancelled, 5);
  EXPECT_GE(db->stats().cancelled, 5u);
}

TEST_F(OperatorTest, CancellingTwiceWritesOneCancelAndAFinishedSagaCannotBeCancelled) {
  auto db = Open();
  Gate gate;
  const Uuid id = Uuid::Generate();
  auto h = StartHeldAtC(*db, id, "twice", &gate);
  EXPECT_EQ(Must(db->Cancel(id, kAlice)), SagaState::kUnwinding);
  EXPECT_EQ(Must(db->Cancel(id, OperatorRequest{"bob", "again"})), SagaState::kUnwinding);
  gate.Open();
  auto r = Must(h.Wait());
  app_.on_action = nullptr;
  EXPECT_EQ(r.state, SagaState::kFailed);
  ASSERT_EQ(OperatorEvents(*db, id).size(), 1u);
  EXPECT_EQ(OperatorEvents(*db, id)[0].actor, "alice");

  const size_t events = Events(*db, id).size();
  auto again = db->Cancel(id, kAlice);
  EXPECT_EQ(again.status().code(), Code::kInvalidRequest);
  EXPECT_NE(again.status().message().find("has ended (failed)"), std::string::npos) << again.status().ToString();
  EXPECT_EQ(Events(*db, id).size(), events);
  EXPECT_EQ(db->Cancel(Uuid::Generate(), kAlice).status().code(), Code::kNotFound);
  EXPECT_EQ(db->Cancel(id, OperatorRequest{"", "no one"}).status().code(), Code::kInvalidRequest);
  ExpectConsistent(*db, id, "twice");
}

// A saga unwinding already (a node failed) is not cancelled again: nothing is written, its error stays the
// node's.
TEST_F(OperatorTest, ACancelDuringAnUnwindChangesNothing) {
  auto db = Open();
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("b", Status::InvalidRequest("injected"));
  db->impl().executor().SetFaultPlan(plan);
  Gate gate;
  const Uuid id = Uuid::Generate();
  auto h = StartHeldAtC(*db, id, "unw", &gate);
  // b fails in a round of its own while c waits; the cancel finds the saga unwinding (or about to).
  while (Record(*db, id).state != SagaState::kUnwinding) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(Must(db->Cancel(id, kAlice)), SagaState::kUnwinding);
  gate.Open();
  auto r = Must(h.Wait());
  app_.on_action = nullptr;
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_node, "b");
  EXPECT_TRUE(OperatorEvents(*db, id).empty());
  ExpectConsistent(*db, id, "unw");
}

// The cancel returned: it is durable. The store stops writing right after it (what a crash there leaves), and
// the next open unwinds the saga completely.
TEST_F(OperatorTest, ACrashRightAfterACancelWasAcceptedStillEndsInACompleteUnwind) {
  FaultInjector faults;
  const Uuid id = Uuid::Generate();
  {
    auto db = Open(&faults);
    Gate gate;
    auto h = StartHeldAtC(*db, id, "crash", &gate);
    EXPECT_EQ(Must(db->Cancel(id, kAlice)), SagaState::kUnwinding);
    faults.FailWritesFrom(db->impl().store().write_attempts() + 1, Status::IOError("simulated crash"));
    gate.Open();
    EXPECT_FALSE(h.Wait().ok());  // halted: nothing after the cancel was written
    app_.on_action = nullptr;
    EXPECT_EQ(Record(*db, id).state, SagaState::kUnwinding);
  }
  auto db = Open();
  ASSERT_EQ(db->recovery().resumed_unwinding.size(), 1u) << db->recovery().Summary();
  SagaRecord r = Record(*db, id);
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_code, static_cast<uint8_t>(Code::kCancelled));
  EXPECT_EQ(OperatorEvents(*db, id).size(), 1u);
  ExpectConsistent(*db, id, "crash");
}

// The cancel's own write fails (a crash before it): the caller is told, and the saga, which never saw the
// cancel, is resumed forward at the next open and succeeds.
TEST_F(OperatorTest, ACancelWhoseWriteFailedIsReportedAndTheSagaGoesOnForward) {
  FaultInjector faults;
  const Uuid id = Uuid::Generate();
  {
    auto db = Open(&faults);
    Gate gate;
    auto h = StartHeldAtC(*db, id, "lost", &gate);
    faults.FailWritesFrom(db->impl().store().write_attempts() + 1, Status::IOError("simulated crash"));
    auto answer = db->Cancel(id, kAlice);
    EXPECT_FALSE(answer.ok());
    EXPECT_NE(answer.status().message().find("the cancel is lost"), std::string::npos) << answer.status().ToString();
    gate.Open();
    EXPECT_FALSE(h.Wait().ok());
    app_.on_action = nullptr;
  }
  auto db = Open();
  EXPECT_EQ(Record(*db, id).state, SagaState::kSucceeded);
  EXPECT_TRUE(OperatorEvents(*db, id).empty());
  ExpectConsistent(*db, id, "lost");
}

TEST_F(OperatorTest, APausedSagaHoldsNothingAndAResumeAfterTheFixUnwindsIt) {
  auto db = Open();
  const Uuid id = Paused(*db, "pause");
  SagaRecord paused = Record(*db, id);
  EXPECT_EQ(paused.state, SagaState::kPaused);
  EXPECT_EQ(paused.finished_ns, 0);
  EXPECT_NE(paused.error.find("volume host busy"), std::string::npos) << paused.error;
  EXPECT_EQ(db->in_flight(), 0u);  // no thread or slot is held by it
  SagaQuery q;
  q.states = {SagaState::kPaused};
  ASSERT_EQ(Must(db->ListSagas(q)).sagas.size(), 1u);

  // A second resume gives the same unwind while it runs, and is refused once it has ended: one resume is logged.
  auto h = Must(db->Resume(id, OperatorRequest{"alice", "volume host back"}));
  auto h2 = db->Resume(id, OperatorRequest{"alice", "again"});
  auto r = Must(h.Wait());
  if (h2.ok()) {
    EXPECT_EQ(Must(h2->Wait()).state, r.state);
  } else {
    EXPECT_NE(h2.status().message().find("is failed"), std::string::npos) << h2.status().ToString();
  }
  EXPECT_EQ(r.state, SagaState::kFailed);
  EXPECT_EQ(r.error_node, "d");  // the failure that began the unwind, not the undo that paused it
  auto ops = OperatorEvents(*db, id);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].op, OperatorOp::kResume);
  EXPECT_EQ(ops[0].reason, "volume host back");
  ExpectConsistent(*db, id, "pause");

  const size_t events = Events(*db, id).size();
  EXPECT_EQ(db->Resume(id, kAlice).status().code(), Code::kInvalidRequest);  // failed: nothing to resume
  EXPECT_EQ(Events(*db, id).size(), events);
}

TEST_F(OperatorTest, AResumeWhoseCauseRemainsPausesTheSagaAgain) {
  auto db = Open();
  const Uuid id = Paused(*db, "again");
  auto plan = std::make_shared<FaultPlan>();
  plan->FailUndo("c", Status::Transient("still busy"), FaultPlan::kAlways);
  db->impl().executor().SetFaultPlan(plan);
  auto r = Must(Must(db->Resume(id, kAlice)).Wait());
  EXPECT_EQ(r.state, SagaState::kPaused);
  db->impl().executor().SetFaultPlan(nullptr);
  EXPECT_EQ(Must(Must(db->Resume(id, kAlice)).Wait()).state, SagaState::kFailed);
  EXPECT_EQ(OperatorEvents(*db, id).size(), 2u);
  ExpectConsistent(*db, id, "again");
}

TEST_F(OperatorTest, APermanentUndoFailureIsStuckAndAResumeAfterTheFixUnwindsIt) {
  auto db = Open();
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected"));
  plan->FailUndo("sub.x", Status::Internal("disk record damaged"), FaultPlan::kAlways);
  db->impl().executor().SetFaultPlan(plan);
  auto r = Must(db->Run(testing::SampleDag(), Json{{"tag", "stk"}}));
  EXPECT_EQ(r.state, SagaState::kStuck);
  db->impl().executor().SetFaultPlan(nullptr);
  EXPECT_EQ(Must(Must(db->Resume(r.id, kAlice)).Wait()).state, SagaState::kFailed);
  ExpectConsistent(*db, r.id, "stk");
}

TEST_F(OperatorTest, TheNextOpenRetriesAPausedSagaUnlessToldToLeaveIt) {
  Uuid id;
  {
    auto db = Open();
    id = Paused(*db, "reopen");
  }
  {
    auto db = Open(nullptr, /*retry_paused=*/false);
    EXPECT_TRUE(db->recovery().retried_paused.empty());
    EXPECT_EQ(Record(*db, id).state, SagaState::kPaused);
  }
  auto db = Open();
  ASSERT_EQ(db->recovery().retried_paused.size(), 1u) << db->recovery().Summary();
  ASSERT_EQ(db->recovery().finished_failed.size(), 1u) << db->recovery().Summary();
  auto ops = OperatorEvents(*db, id);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].actor, "sagadb");
  ExpectConsistent(*db, id, "reopen");
}

// The resume's write fails (a crash before it): nothing changes, the saga stays paused. It fails right after
// (a crash after it): the saga is unwinding in the log, and the next open finishes the unwind.
TEST_F(OperatorTest, AResumeCrashedBeforeOrAfterItsWriteLeavesTheSagaPausedOrUnwound) {
  FaultInjector faults;
  Uuid id;
  {
    auto db = Open(&faults);
    id = Paused(*db, "rcrash");
    const size_t events = Events(*db, id).size();
    faults.FailWritesFrom(db->impl().store().write_attempts() + 1, Status::IOError("simulated crash"));
    EXPECT_FALSE(db->Resume(id, kAlice).ok());
    EXPECT_EQ(Record(*db, id).state, SagaState::kPaused);
    EXPECT_EQ(Events(*db, id).size(), events);
  }
  {
    FaultInjector after;
    auto db = Open(&after, /*retry_paused=*/false);
    after.FailWritesFrom(db->impl().store().write_attempts() + 2, Status::IOError("simulated crash"));
    auto h = Must(db->Resume(id, kAlice));
    EXPECT_FALSE(h.Wait().ok());
    EXPECT_EQ(Record(*db, id).state, SagaState::kUnwinding);
  }
  auto db = Open(nullptr, /*retry_paused=*/false);
  EXPECT_EQ(Record(*db, id).state, SagaState::kFailed);
  EXPECT_EQ(OperatorEvents(*db, id).size(), 1u);
  ExpectConsistent(*db, id, "rcrash");
}

TEST_F(OperatorTest, AbandonKeepsItsKindActorAndReasonAndIsRefusedWhereItDoesNotApply) {
  FaultInjector faults;
  auto db = Open(&faults);
  const Uuid id = Paused(*db, "aband");
  // Its write failed (a crash before it): nothing changed.
  const size_t events = Events(*db, id).size();
  faults.FailWrite(db->impl().store().write_attempts() + 1, Status::IOError("simulated crash"));
  EXPECT_FALSE(db->Abandon(id, AbandonKind::kOrphaned, OperatorRequest{"bob", "x"}).ok());
  EXPECT_EQ(Record(*db, id).state, SagaState::kPaused);
  EXPECT_EQ(Events(*db, id).size(), events);
  EXPECT_EQ(db->Abandon(id, AbandonKind::kOrphaned, OperatorRequest{"", "x"}).status().code(),
            Code::kInvalidRequest);
  EXPECT_EQ(Must(db->Abandon(id, AbandonKind::kOrphaned, OperatorRequest{"bob", "its host was removed"})),
            SagaState::kAbandoned);
  SagaRecord r = Record(*db, id);
  EXPECT_EQ(r.state, SagaState::kAbandoned);
  EXPECT_NE(r.finished_ns, 0);
  EXPECT_NE(r.error.find("abandoned (orphaned) by bob: its host was removed"), std::string::npos) << r.error;
  auto ops = OperatorEvents(*db, id);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].op, OperatorOp::kAbandon);
  EXPECT_EQ(static_cast<AbandonKind>(ops[0].abandon_kind), AbandonKind::kOrphaned);
  EXPECT_EQ(db->Abandon(id, AbandonKind::kOperator, kAlice).status().code(), Code::kInvalidRequest);

  // A saga this process is executing is cancelled, not abandoned.
  Gate gate;
  const Uuid running = Uuid::Generate();
  auto h = StartHeldAtC(*db, running, "run", &gate);
  auto refused = db->Abandon(running, AbandonKind::kOperator, kAlice);
  EXPECT_EQ(refused.status().code(), Code::kInvalidRequest);
  EXPECT_NE(refused.status().message().find("executing in this process"), std::string::npos);
  gate.Open();
  EXPECT_EQ(Must(h.Wait()).state, SagaState::kSucceeded);
  app_.on_action = nullptr;
  EXPECT_TRUE(OperatorEvents(*db, running).empty());
}

// Replay's rules for operator events, on the sample DAG's node `a` (its first node, a local action).
TEST(OperatorReplayTest, ReplayAcceptsWhatTheControlsWriteAndRejectsTheImpossible) {
  const SagaDag dag = testing::SampleDag();
  SagaRecord r;
  r.id = Uuid::Generate();
  r.kind = dag.kind;
  r.nodes = dag.nodes;
  r.scopes = dag.scopes;
  auto node = [](uint32_t n, EventType t) {
    SagaEvent e;
    e.node = n;
    e.type = t;
    return e;
  };
  auto op = [](OperatorOp o) { return OperatorEvent(o, OperatorRequest{"alice", "why"}); };
  auto replay = [&](std::vector<SagaEvent> events) {
    std::vector<LoggedEvent> logged;
    for (size_t i = 0; i < events.size(); ++i) logged.push_back(LoggedEvent{i + 1, events[i]});
    return ReplaySagaLog(r, logged);
  };
  // An undo after a cancel, with no node failed, is the unwind a cancel begins.
  auto cancelled = replay({node(0, EventType::kSucceeded), op(OperatorOp::kCancel), node(0, EventType::kUndoFinished)});
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_TRUE(cancelled->cancelled);
  EXPECT_EQ(cancelled->cancel_error, "cancelled by alice: why");
  r.state = SagaState::kFailed;
  EXPECT_EQ(Must(StateFromLog(r, *cancelled)), SagaState::kFailed);
  // Without the cancel the same undo is impossible.
  EXPECT_FALSE(replay({node(0, EventType::kSucceeded), node(0, EventType::kUndoFinished)}).ok());

  // A resume puts the failed undo back: it may run again, and the saga is unwinding, not paused.
  auto resumed = replay({node(0, EventType::kSucceeded), op(OperatorOp::kCancel), node(0, EventType::kUndoFailed),
                         op(OperatorOp::kResume)});
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->undo_failed, -1);
  EXPECT_EQ(resumed->resumes, 1u);
  r.state = SagaState::kUnwinding;
  EXPECT_EQ(Must(StateFromLog(r, *resumed)), SagaState::kUnwinding);
  r.state = SagaState::kPaused;
  EXPECT_FALSE(StateFromLog(r, *resumed).ok());  // paused, but no undo is failed
  auto paused = replay({node(0, EventType::kSucceeded), op(OperatorOp::kCancel), node(0, EventType::kUndoFailed)});
  EXPECT_EQ(Must(StateFromLog(r, Must(std::move(paused)))), SagaState::kPaused);

  // A resume with nothing to retry, and an operator event without an action, are impossible.
  EXPECT_FALSE(replay({node(0, EventType::kSucceeded), op(OperatorOp::kResume)}).ok());
  EXPECT_FALSE(replay({op(OperatorOp::kNone)}).ok());
}

}  // namespace
}  // namespace sagadb
