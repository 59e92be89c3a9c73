#include "recovery/recovery.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/fault_injector.h"
#include "engine/key_locks.h"
#include "db/database_impl.h"
#include "log/saga_log.h"
#include "schema/codec.h"
#include "tests/saga_test_util.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::FileCount;

// In-process interruption: every write from number N on fails with a permanent error, which halts the running
// sagas exactly where a crash before write N would have left the log. Then the database is reopened and
// recovery must finish the saga.
class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("files"));
    app_.files_dir = dir_.Sub("files");
    testing::RegisterTestActions(&registry_, &app_);
  }

  DatabaseOptions Options() {
    DatabaseOptions o;
    o.path = dir_.Sub("db");
    o.executor.threads = 4;
    return o;
  }

  // Opens the database with the test actions; recovery runs with `hooks` already installed on the store.
  std::unique_ptr<Database> OpenDb(StoreHooks* hooks = nullptr) {
    OpenSeams seams;
    seams.hooks = hooks;
    auto db = OpenDatabase(Options(), {testing::TestDomain(&app_)}, seams);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // The store without recovery, with the test actions' tables.
  std::unique_ptr<Store> OpenStore() {
    StoreConfig config;
    config.path = dir_.Sub("db");
    config.tables = testing::TestTables();
    auto store = Store::Open(config);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  SagaRecord ReadRecord(Store& store, const Uuid& id) {
    auto rec = SagaLog(&store).ReadRecord(id);
    EXPECT_TRUE(rec.ok()) << rec.status().ToString();
    return rec.ok() ? *rec : SagaRecord{};
  }
  SagaRecord ReadRecord(Database& db, const Uuid& id) { return ReadRecord(db.impl().store(), id); }

  int LiveDisksWithTag(Database& db, const std::string& tag) {
    auto ds = Datastore::Open(&db.impl().store());
    EXPECT_TRUE(ds.ok()) << ds.status().ToString();
    return ds.ok() ? testing::LiveDisksWithTag(**ds, tag) : -1;
  }

  // Runs the sample saga with writes failing from `n` on; returns the saga id and the number of writes a full
  // run makes when n is 0.
  // Opens the store without recovery (so earlier interrupted sagas stay interrupted), runs the sample saga with
  // writes failing from number `n` of this session on (0: none), and returns its id (nil if even its record
  // was lost). *writes gets the number of writes the session made. The sample saga takes 2 to 4 rounds (how
  // its external steps' outcomes fall into rounds varies), so only n = 2 interrupts it for certain.
  Uuid Interrupt(uint64_t n, const std::string& tag, const std::shared_ptr<FaultPlan>& plan, uint64_t* writes) {
    std::unique_ptr<Store> store = OpenStore();
    if (store == nullptr) return Uuid();
    KeyLocks locks;
    ExecutorOptions eo;
    eo.threads = 4;
    SagaExecutor executor(store.get(), &locks, &registry_, eo);
    executor.SetFaultPlan(plan);
    FaultInjector faults;
    const uint64_t base = store->write_attempts();
    if (n > 0) faults.FailWritesFrom(base + n, Status::IOError("simulated crash"));
    store->SetHooks(&faults);
    auto h = executor.Start(testing::SampleDag(), Json{{"tag", tag}});
    if (!h.ok()) return Uuid();
    (void)h->Wait();
    if (writes) *writes = store->write_attempts() - base;
    executor.Shutdown();
    store->SetHooks(nullptr);
    return h->id();
  }

  testing::ScratchDir dir_;
  testing::TestApp app_;
  ActionRegistry registry_;
};

TEST_F(RecoveryTest, EveryInterruptionPointOfAForwardRunFinishesTheSaga) {
  uint64_t total = 0;
  Interrupt(0, "full", nullptr, &total);
  // The sample saga goes in rounds: its record with a, b and sub.x and the starts of c and sub.y; then their
  // outcomes with d and the end (once or in two rounds, as c and sub.y happen to finish).
  ASSERT_GE(total, 2u);
  for (uint64_t n = 1; n <= total; ++n) {
    SCOPED_TRACE("interrupted before write " + std::to_string(n));
    std::string tag = "fw" + std::to_string(n);
    Uuid id = Interrupt(n, tag, nullptr, nullptr);
    auto db = OpenDb();
    if (id.IsNil()) continue;
    SagaRecord rec = ReadRecord(*db, id);
    EXPECT_EQ(rec.state, SagaState::kSucceeded);
    EXPECT_EQ(LiveDisksWithTag(*db, tag), 4);
    EXPECT_TRUE(db->recovery().marked_stuck.empty());
  }
}

TEST_F(RecoveryTest, EveryInterruptionPointOfAnUnwindFinishesTheUnwind) {
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected"));
  uint64_t total = 0;
  Uuid first = Interrupt(0, "fullu", plan, &total);
  {
    auto db = OpenDb();
    ASSERT_EQ(ReadRecord(*db, first).state, SagaState::kFailed);
  }
  for (uint64_t n = 1; n <= total; ++n) {
    SCOPED_TRACE("interrupted before write " + std::to_string(n));
    std::string tag = "uw" + std::to_string(n);
    Uuid id = Interrupt(n, tag, plan, nullptr);
    auto db = OpenDb();  // no fault plan now: a resumed forward run may succeed
    if (id.IsNil()) continue;
    SagaRecord rec = ReadRecord(*db, id);
    ASSERT_TRUE(rec.state == SagaState::kFailed || rec.state == SagaState::kSucceeded) << ToString(rec.state);
    if (rec.state == SagaState::kFailed) {
      EXPECT_EQ(LiveDisksWithTag(*db, tag), 0);
    } else {
      EXPECT_EQ(LiveDisksWithTag(*db, tag), 4);
    }
    auto events = SagaLog(&db->impl().store()).ReadEvents(id);
    ASSERT_TRUE(events.ok());
    auto history = ReplaySagaLog(rec, *events);
    ASSERT_TRUE(history.ok()) << history.status().ToString();
    EXPECT_TRUE(StateFromLog(rec, *history).ok());
  }
  auto db = OpenDb();
  // Only the succeeded sagas' files remain (two per saga).
  int succeeded = 0;
  auto it = db->impl().store().NewCursor(kSagasTable);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SagaRecord rec;
    std::string why;
    ASSERT_TRUE(Decode(it->value(), &rec, &why));
    if (rec.state == SagaState::kSucceeded) succeeded++;
  }
  ASSERT_EQ(it->status(), Status::OK());
  EXPECT_EQ(FileCount(app_.files_dir), 2 * succeeded);
}

TEST_F(RecoveryTest, UnknownActionMarksOnlyThatSagaStuck) {
  Uuid interrupted = Interrupt(2, "unk", nullptr, nullptr);
  ASSERT_FALSE(interrupted.IsNil());
  Uuid other = Interrupt(4, "oth", nullptr, nullptr);
  // Rewrite the first saga's DAG to name an action nobody registered.
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    SagaRecord rec = ReadRecord(*store, interrupted);
    rec.nodes[0].action = "gone.action";
    Batch b;
    b.Put(kSagasTable, rec.id.AsBytes(), Encode(rec));
    ASSERT_TRUE(store->Write(b).ok());
  }
  auto db = OpenDb();
  ASSERT_EQ(db->recovery().marked_stuck.size(), 1u);
  EXPECT_EQ(db->recovery().marked_stuck[0], interrupted);
  EXPECT_NE(db->recovery().stuck_reasons[0].find("gone.action"), std::string::npos);
  SagaRecord stuck = ReadRecord(*db, interrupted);
  EXPECT_EQ(stuck.state, SagaState::kStuck);
  EXPECT_NE(stuck.error.find("gone.action"), std::string::npos);
  EXPECT_EQ(ReadRecord(*db, other).state, SagaState::kSucceeded);
}

TEST_F(RecoveryTest, ImpossibleOrCorruptLogMarksTheSagaStuckWithoutCrashing) {
  Uuid impossible = Interrupt(2, "imp", nullptr, nullptr);
  Uuid corrupt = Interrupt(2, "cor", nullptr, nullptr);
  Uuid fine = Interrupt(2, "fin", nullptr, nullptr);
  {
    std::unique_ptr<Store> store = OpenStore();
    ASSERT_NE(store, nullptr);
    // An undo_finished for a node that never succeeded, and garbage bytes as an event.
    SagaEvent e;
    e.node = 0;
    e.type = EventType::kUndoFinished;
    Batch b;
    b.Put(kSagaEventsTable, SagaEventKey(impossible, 1000), Encode(e));
    b.Put(kSagaEventsTable, SagaEventKey(corrupt, 1000), "not a flatbuffer at all");
    ASSERT_TRUE(store->Write(b).ok());
  }
  auto db = OpenDb();
  EXPECT_EQ(ReadRecord(*db, impossible).state, SagaState::kStuck);
  EXPECT_EQ(ReadRecord(*db, corrupt).state, SagaState::kStuck);
  EXPECT_NE(ReadRecord(*db, corrupt).error.find(corrupt.ToString() + "#1000"), std::string::npos);
  EXPECT_EQ(ReadRecord(*db, fine).state, SagaState::kSucceeded);
  EXPECT_EQ(db->recovery().marked_stuck.size(), 2u);
}

TEST_F(RecoveryTest, RecoveryInterruptedAtEveryWriteConvergesToTheSameEndState) {
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected"));
  // A saga interrupted in the middle of its unwind: the first interruption point that leaves it unwinding.
  uint64_t total = 0;
  Interrupt(0, "ref", plan, &total);
  uint64_t cut = 0;
  for (uint64_t n = 1; n <= total && cut == 0; ++n) {
    Uuid id = Interrupt(n, "find" + std::to_string(n), plan, nullptr);
    if (!id.IsNil() && ReadRecord(*OpenStore(), id).state == SagaState::kUnwinding) cut = n;
  }
  ASSERT_NE(cut, 0u) << "no interruption point leaves the saga unwinding";
  { auto db = OpenDb(); }  // the sagas left behind while looking are finished before the test proper
  for (uint64_t m = 1;; ++m) {
    SCOPED_TRACE("recovery interrupted before its write " + std::to_string(m));
    std::string tag = "rc" + std::to_string(m);
    Uuid id = Interrupt(cut, tag, plan, nullptr);
    ASSERT_FALSE(id.IsNil());
    // ...whose recovery is itself interrupted at its m-th write (hooks see no write of the open itself).
    FaultInjector faults;
    faults.FailWritesFrom(m, Status::IOError("crash during recovery"));
    bool recovery_completed;
    {
      auto db = OpenDb(&faults);
      recovery_completed = db->recovery().halted.empty();
      db->impl().store().SetHooks(nullptr);
    }
    auto db = OpenDb();
    SagaRecord rec = ReadRecord(*db, id);
    EXPECT_EQ(rec.state, SagaState::kFailed);
    EXPECT_EQ(LiveDisksWithTag(*db, tag), 0);
    if (recovery_completed) break;
    ASSERT_LT(m, 50u);
  }
}

}  // namespace
}  // namespace sagadb
