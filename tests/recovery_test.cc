#include "recovery/recovery.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>

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
using testing::Must;

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
  Uuid Interrupt(uint64_t n, const std::string& tag, const std::shared_ptr<FaultPlan>& plan, uint64_t* writes,
                 const SagaDag& dag = testing::SampleDag(), const StartOptions& start = {}) {
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
    auto h = executor.Start(dag, Json{{"tag", tag}}, start);
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

// Every key of the saga in the saga log (its record, events and index entries, named by table), with its bytes.
std::map<std::string, std::string> SagaBytes(const Store& store, const Uuid& id) {
  std::map<std::string, std::string> out;
  for (TableId table : {kSagasTable, kSagaEventsTable, kSagaIndexTable}) {
    auto it = store.NewCursor(table);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().find(id.AsBytes()) != std::string_view::npos) {
        out[std::string(store.TableName(table)) + "/" + std::string(it->key())] = std::string(it->value());
      }
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  }
  return out;
}

// Everything but the metadata, which every read-write open changes (its open generation).
std::map<std::string, std::string> ContentsButMeta(const Store& store) {
  auto all = testing::RawContents(store);
  std::erase_if(all, [](const auto& kv) { return kv.first.starts_with("meta/"); });
  return all;
}

// A saga of a local, an external and a local step: a, then c, then e (two rounds or more).
SagaDag DiskFileDiskDag() {
  DagBuilder b("disk-file-disk");
  b.Append(NodeSpec::Action("a", "test.disk"));
  b.Append(NodeSpec::Action("c", "test.file"));
  b.Append(NodeSpec::Action("e", "test.disk"));
  return *b.Build();
}

// A domain with some of the test actions only: a program that knows some sagas of the database and not others.
std::shared_ptr<BasicDomain> PartialDomain(testing::TestApp* app, const std::vector<std::string>& names) {
  ActionRegistry all;
  testing::RegisterTestActions(&all, app);
  auto domain = std::make_shared<BasicDomain>("partial", testing::TestTables());
  for (const auto& name : names) Must(domain->actions().Register(*all.Find(name)));
  return domain;
}

TEST_F(RecoveryTest, ASagaWithActionsTheProgramDoesNotKnowIsLeftByteForByteAndReported) {
  const Uuid sample = Interrupt(2, "unk", nullptr, nullptr);
  const Uuid known = Interrupt(2, "kno", nullptr, nullptr, DiskFileDiskDag());
  ASSERT_FALSE(sample.IsNil());
  ASSERT_FALSE(known.IsNil());
  std::map<std::string, std::string> before;
  {
    auto store = OpenStore();
    ASSERT_EQ(ReadRecord(*store, sample).state, SagaState::kRunning);
    ASSERT_EQ(ReadRecord(*store, known).state, SagaState::kRunning);
    before = SagaBytes(*store, sample);
  }
  ASSERT_FALSE(before.empty());

  // A program that knows test.disk and test.file, but not test.lookup (the sample saga's last step).
  struct Lines : Logger {
    void Log(LogLevel level, std::string_view message) override {
      if (level == LogLevel::kWarning) warnings.emplace_back(message);
    }
    std::vector<std::string> warnings;
  } logger;
  DatabaseOptions o = Options();
  o.logger = &logger;
  {
    auto db = Must(OpenDatabase(o, {PartialDomain(&app_, {"test.disk", "test.file"})}, OpenSeams{}));
    const RecoveryReport& r = db->recovery();
    ASSERT_EQ(r.left_unknown.size(), 1u) << r.Summary();
    EXPECT_EQ(r.left_unknown[0].id, sample);
    EXPECT_EQ(r.left_unknown[0].kind, "sample");
    EXPECT_EQ(r.left_unknown[0].actions, std::vector<std::string>{"test.lookup"});
    EXPECT_TRUE(r.marked_stuck.empty()) << r.Summary();
    EXPECT_EQ(r.finished_succeeded, std::vector<Uuid>{known}) << r.Summary();
    EXPECT_NE(r.Summary().find(sample.ToString()), std::string::npos) << r.Summary();
    EXPECT_NE(r.Summary().find("test.lookup"), std::string::npos) << r.Summary();
    ASSERT_EQ(logger.warnings.size(), 1u);
    EXPECT_NE(logger.warnings[0].find(sample.ToString() + " (sample) needs test.lookup"), std::string::npos)
        << logger.warnings[0];
    // Left exactly as it was: its record, every event and its index entry.
    EXPECT_EQ(SagaBytes(db->impl().store(), sample), before);
  }
  // Opening again without the action changes nothing either.
  {
    auto db = Must(OpenDatabase(Options(), {PartialDomain(&app_, {"test.disk"})}, OpenSeams{}));
    ASSERT_EQ(db->recovery().left_unknown.size(), 1u);
    EXPECT_EQ(db->recovery().left_unknown[0].actions, (std::vector<std::string>{"test.file", "test.lookup"}));
    EXPECT_EQ(SagaBytes(db->impl().store(), sample), before);
  }
  // The program that registers them resumes it.
  auto db = OpenDb();
  EXPECT_TRUE(db->recovery().left_unknown.empty());
  EXPECT_EQ(db->recovery().finished_succeeded, std::vector<Uuid>{sample}) << db->recovery().Summary();
  EXPECT_EQ(ReadRecord(*db, sample).state, SagaState::kSucceeded);
  EXPECT_EQ(LiveDisksWithTag(*db, "unk"), 4);
}

TEST_F(RecoveryTest, FindUnknownActionsNamesThemOnAnInspectionStore) {
  const Uuid sample = Interrupt(2, "ins", nullptr, nullptr);
  ASSERT_FALSE(sample.IsNil());
  StoreConfig config;
  config.path = dir_.Sub("db");
  config.mode = OpenMode::kReadOnly;
  auto store = Must(Store::Open(config));
  ActionRegistry partial;
  Must(partial.Register(*registry_.Find("test.disk")));
  auto found = Must(FindUnknownActions(*store, partial));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, sample);
  EXPECT_EQ(found[0].actions, (std::vector<std::string>{"test.file", "test.lookup"}));
  EXPECT_EQ(DescribeUnknownActions(found),
            "saga " + sample.ToString() + " (sample) needs test.file, test.lookup");
  EXPECT_TRUE(Must(FindUnknownActions(*store, registry_)).empty());
}

// Reads through the store's point reads fail once the open's own metadata is written (from recovery on).
class FailingReads : public StoreHooks {
 public:
  explicit FailingReads(Status error, uint64_t from_read = 1) : error_(std::move(error)), from_(from_read) {}
  Status BeforeWrite(uint64_t n) override {
    if (n == 0) armed_ = true;
    return Status::OK();
  }
  void AfterWrite(uint64_t) override {}
  Status BeforeRead() override {
    if (!armed_) return Status::OK();
    return ++reads_ >= from_ ? error_ : Status::OK();
  }
  uint64_t reads() const { return reads_.load(); }

 private:
  const Status error_;
  const uint64_t from_;
  std::atomic<bool> armed_{false};
  std::atomic<uint64_t> reads_{0};
};

TEST_F(RecoveryTest, AReadErrorThatProvesNothingFailsTheOpenAndWritesNothing) {
  // Saga ids in a known order: the damaged one first, so that it is judged (and would be marked) before the
  // read of the other one fails.
  StartOptions first, second;
  first.id = *Uuid::Parse("00000000-0000-4000-8000-000000000001");
  second.id = *Uuid::Parse("00000000-0000-4000-8000-000000000002");
  const Uuid damaged = Interrupt(2, "dmg", nullptr, nullptr, testing::SampleDag(), first);
  const Uuid healthy = Interrupt(2, "hea", nullptr, nullptr, testing::SampleDag(), second);
  ASSERT_EQ(damaged, *first.id);
  ASSERT_EQ(healthy, *second.id);
  std::map<std::string, std::string> before;
  {
    auto store = OpenStore();
    Batch b;
    b.Put(kSagaEventsTable, SagaEventKey(damaged, 1000), "not a flatbuffer at all");
    ASSERT_TRUE(store->Write(b).ok());
    before = ContentsButMeta(*store);
  }
  for (const Status& error : {Status::IOError("injected: the device failed a read"),
                              Status::Transient("injected: all claims are used (read)")}) {
    SCOPED_TRACE(error.ToString());
    FailingReads reads(error, /*from_read=*/2);  // the damaged saga's record reads; the healthy one's does not
    OpenSeams seams;
    seams.hooks = &reads;
    auto db = OpenDatabase(Options(), {testing::TestDomain(&app_)}, seams);
    ASSERT_FALSE(db.ok());
    EXPECT_EQ(db.status(), error);
    EXPECT_EQ(reads.reads(), 2u);  // the two records, nothing after the failed one
    auto store = OpenStore();
    EXPECT_EQ(ContentsButMeta(*store), before);
  }
  // Once reads work, the damaged saga is marked stuck and the other finishes.
  auto db = OpenDb();
  EXPECT_EQ(db->recovery().marked_stuck, std::vector<Uuid>{damaged});
  EXPECT_EQ(ReadRecord(*db, damaged).state, SagaState::kStuck);
  EXPECT_EQ(ReadRecord(*db, healthy).state, SagaState::kSucceeded);
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
  EXPECT_NE(ReadRecord(*db, impossible).error.find("an undo, but no node has failed"), std::string::npos)
      << ReadRecord(*db, impossible).error;
  EXPECT_EQ(ReadRecord(*db, corrupt).state, SagaState::kStuck);
  EXPECT_NE(ReadRecord(*db, corrupt).error.find(corrupt.ToString() + "#1000"), std::string::npos);
  EXPECT_EQ(ReadRecord(*db, fine).state, SagaState::kSucceeded);
  ASSERT_EQ(db->recovery().marked_stuck.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Uuid& id = db->recovery().marked_stuck[i];
    EXPECT_EQ("recovery: " + db->recovery().stuck_reasons[i], ReadRecord(*db, id).error);
  }
}

TEST_F(RecoveryTest, RecoveryInterruptedAtEveryWriteConvergesToTheSameEndState) {
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected"));
  uint64_t total = 0;
  Interrupt(0, "ref", plan, &total);
  // A saga interrupted in the middle of its unwind. How c and sub.y share rounds varies from run to run, so no
  // one write number is sure to cut the unwind: the cuts are tried in turn until one leaves the saga unwinding.
  // A saga cut elsewhere is finished at once (forward: the plan is not there at the next open), so that the
  // interrupted recovery below sees only the saga under test.
  // Each attempt has a tag of its own: a saga finished forward keeps its disks.
  auto cut_in_unwind = [&](const std::string& prefix, std::string* tag) -> Uuid {
    for (int attempt = 0; attempt < 5 * static_cast<int>(total + 2); ++attempt) {
      *tag = prefix + "-" + std::to_string(attempt);
      Uuid id = Interrupt(1 + attempt % (total + 2), *tag, plan, nullptr);
      if (!id.IsNil() && ReadRecord(*OpenStore(), id).state == SagaState::kUnwinding) return id;
      { auto db = OpenDb(); }
    }
    return Uuid();
  };
  for (uint64_t m = 1;; ++m) {
    SCOPED_TRACE("recovery interrupted before its write " + std::to_string(m));
    std::string tag;
    Uuid id = cut_in_unwind("rc" + std::to_string(m), &tag);
    ASSERT_FALSE(id.IsNil()) << "no interruption point leaves the saga unwinding";
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
