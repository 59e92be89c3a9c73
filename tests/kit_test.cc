// The crash-test kit itself: that it passes a correct saga through every phase, and that it catches each kind
// of bug it exists to catch, reporting the case, the node, the write and the seed that reproduce it.
//
// The saga under test is small: `first` (local: stages kv/first), `effect` (external: writes files/effect),
// `last` (local: stages kv/last). A Bugs value breaks it in one way at a time.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sagadb/domain.h"
#include "sagadb/testing/gtest.h"
#include "sagadb/testing/kit.h"

namespace sagadb {
namespace {

namespace fs = std::filesystem;
using testing::Domains;
using testing::KitOptions;
using testing::KitReport;
using testing::RunContext;
using testing::SagaUnderTest;

constexpr char kTable[] = "kv";

struct Bugs {
  bool first_not_idempotent = false;  // `first` refuses to run over its own write
  bool first_without_undo = false;    // `first` has no undo: an unwind leaves kv/first behind
  bool effect_exclusive = false;      // `effect` refuses to run over its own file (not idempotent)
  bool read_after_effect = false;     // `effect` reads kv/first after writing its file and returns its error
  bool undo_always_fails = false;     // `effect`'s undo fails for good, every time
};

std::string FileOf(const std::string& dir) { return dir + "/files/effect"; }

Status Stage(ActionContext& ctx, const char* key, bool refuse_if_there) {
  SAGADB_RETURN_IF_ERROR(ctx.txn()->Lock({key}));
  if (refuse_if_there && ctx.txn()->Get(kTable, key).ok()) return Status::Conflict(std::string(key) + " exists");
  return ctx.txn()->Put(kTable, key, "1");
}

std::shared_ptr<Domain> MakeDomain(const std::string& dir, Bugs bugs) {
  auto d = std::make_shared<BasicDomain>("kit-test", std::vector<std::string>{kTable});
  fs::create_directories(dir + "/files");
  const std::string file = FileOf(dir);
  ActionDef first{"kit.first", ActionKind::kLocal,
                  [bugs](ActionContext& ctx) -> Result<Json> {
                    SAGADB_RETURN_IF_ERROR(Stage(ctx, "first", bugs.first_not_idempotent));
                    return Json(1);
                  },
                  nullptr};
  if (!bugs.first_without_undo) {
    first.undo = [](ActionContext& ctx) -> Status {
      SAGADB_RETURN_IF_ERROR(ctx.txn()->Lock({"first"}));
      return ctx.txn()->Delete(kTable, "first");
    };
  }
  (void)d->actions().Register(std::move(first));
  (void)d->actions().Register(
      {"kit.effect", ActionKind::kExternal,
       [bugs, file](ActionContext& ctx) -> Result<Json> {
         const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | (bugs.effect_exclusive ? O_EXCL : 0), 0644);
         if (fd < 0) return Status::IOError("cannot create " + file);
         const bool written = ::write(fd, "effect\n", 7) == 7 && ::fsync(fd) == 0;
         ::close(fd);
         if (!written) return Status::IOError("cannot write " + file);
         if (bugs.read_after_effect) {
           // The shape of the bug sagadb exists for: one more fallible step after the effect.
           auto first = ctx.Read(kTable, "first");
           if (!first.ok()) return first.status();
         }
         return Json(file);
       },
       [bugs, file](ActionContext&) -> Status {
         if (bugs.undo_always_fails) return Status::IOError("the disk went away");
         std::error_code ec;
         fs::remove(file, ec);
         return ec ? Status::IOError(ec.message()) : Status::OK();
       }});
  (void)d->actions().Register({"kit.last", ActionKind::kLocal,
                               [](ActionContext& ctx) -> Result<Json> {
                                 SAGADB_RETURN_IF_ERROR(Stage(ctx, "last", false));
                                 return Json(2);
                               },
                               [](ActionContext& ctx) -> Status {
                                 SAGADB_RETURN_IF_ERROR(ctx.txn()->Lock({"last"}));
                                 return ctx.txn()->Delete(kTable, "last");
                               }});
  return d;
}

bool Has(Database& db, const char* key) { return db.Read(kTable, key).ok(); }

std::string FileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

SagaUnderTest Saga(const std::string& name, Bugs bugs) {
  SagaUnderTest s;
  s.name = name;
  s.domains = [bugs](const std::string& dir) { return Domains{MakeDomain(dir, bugs)}; };
  s.dag = [](const Json&) -> Result<SagaDag> {
    DagBuilder b("kit-test");
    b.Append(NodeSpec::Action("first", "kit.first"));
    b.Append(NodeSpec::Action("effect", "kit.effect"));
    b.Append(NodeSpec::Action("last", "kit.last"));
    return b.Build();
  };
  s.params = Json::object();
  s.check_succeeded = [](const RunContext& ctx) -> Status {
    if (!Has(ctx.db, "first") || !Has(ctx.db, "last")) return Status::Internal("a record is missing");
    if (FileText(FileOf(ctx.dir)) != "effect\n") return Status::Internal("the file is not as the effect writes it");
    return Status::OK();
  };
  s.check_unchanged = [](const RunContext& ctx) -> Status {
    if (Has(ctx.db, "first") || Has(ctx.db, "last")) return Status::Internal("a record was left behind");
    if (fs::exists(FileOf(ctx.dir))) return Status::Internal("the effect's file was left behind");
    return Status::OK();
  };
  return s;
}

// The report's failures whose case id starts with `prefix`.
size_t Failures(const KitReport& r, const std::string& prefix) {
  size_t n = 0;
  for (const auto& f : r.failures) n += f.case_id.starts_with(prefix);
  return n;
}

const testing::KitFailure* FirstFailure(const KitReport& r, const std::string& prefix) {
  for (const auto& f : r.failures) {
    if (f.case_id.starts_with(prefix)) return &f;
  }
  return nullptr;
}

// The kit in a gtest program, its failures left to the test to look at (they are what it expects).
KitReport RunUntested(const SagaUnderTest& saga, KitOptions options = {}) {
  return testing::RunKit(saga, testing::ForCurrentTest(std::move(options)));
}

TEST(KitTest, ACorrectSagaPassesEveryPhase) {
  KitOptions o;
  o.local_actions_twice = true;  // its local actions are idempotent as well
  KitReport r = testing::RunKitInTest(Saga("correct", {}), o);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.effects, 1u);
  // Rounds: the record, the first node and the effect's `started` in one write; its outcome, the rest and the
  // end in another.
  EXPECT_GE(r.writes, 2u);
  for (const char* phase : {"idempotency", "fail-action", "fail-after", "pressure", "undo-transient",
                            "undo-permanent", "random-pressure", "crash", "power-loss", "recovery-crash"}) {
    EXPECT_GT(r.CountCases(phase), 0u) << phase;
  }
  EXPECT_EQ(r.CountCases("fail-action"), 3u);
  // A permanent undo failure leaves the saga stuck, as the kit expects.
  ASSERT_NE(r.FindCase("undo-permanent/effect"), nullptr);
  EXPECT_EQ(r.FindCase("undo-permanent/effect")->outcome, "stuck");
  // A transient failure after the effect is taken back by the undo.
  EXPECT_EQ(r.FindCase("fail-after/effect")->outcome, "failed");
}

// A local action never runs twice over its own writes (they commit with its outcome), so only a kit asked to
// run local actions twice looks.
TEST(KitTest, CatchesALocalActionThatIsNotIdempotentWhenAsked) {
  KitOptions o;
  o.only = "idempotency";
  KitReport unasked = RunUntested(Saga("not-idempotent-unasked", {.first_not_idempotent = true}), o);
  EXPECT_TRUE(unasked.ok()) << unasked.Describe();
  o.local_actions_twice = true;
  KitReport r = RunUntested(Saga("not-idempotent", {.first_not_idempotent = true}), o);
  const testing::KitFailure* f = FirstFailure(r, "idempotency/actions");
  ASSERT_NE(f, nullptr) << r.Describe();
  EXPECT_NE(f->message.find("first is not idempotent"), std::string::npos) << f->message;
}

TEST(KitTest, CatchesAnActionWithoutAnUndo) {
  KitOptions o;
  o.only = "fail-action";
  KitReport r = RunUntested(Saga("no-undo", {.first_without_undo = true}), o);
  // Failing `effect` or `last` unwinds over `first`, which leaves its record.
  EXPECT_EQ(Failures(r, "fail-action/effect"), 1u) << r.Describe();
  EXPECT_EQ(Failures(r, "fail-action/last"), 1u) << r.Describe();
  EXPECT_EQ(Failures(r, "fail-action/first"), 0u) << r.Describe();
  const testing::KitFailure* f = FirstFailure(r, "fail-action/last");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->node, "last");
  EXPECT_NE(f->message.find("a record was left behind"), std::string::npos) << f->message;
}

// The production bug sagadb was built for, in a user's external action: its effect happened, one more fallible
// read failed, and the step reported failure, so nothing will ever undo the effect. Faults injected instead of
// the action, or after it, never see it; the pressure phase does.
TEST(KitTest, CatchesAnEffectFollowedByAFallibleRead) {
  KitOptions o;
  o.crashes = o.power_loss = o.recovery_crashes = false;  // in process: no read of it fails there
  KitReport r = RunUntested(Saga("read-after-effect", {.read_after_effect = true}), o);
  EXPECT_EQ(Failures(r, "fail-action/"), 0u) << r.Describe();
  EXPECT_EQ(Failures(r, "fail-after/"), 0u) << r.Describe();
  const testing::KitFailure* f = FirstFailure(r, "pressure/effect");
  ASSERT_NE(f, nullptr) << r.Describe();
  EXPECT_EQ(f->node, "effect");
  EXPECT_NE(f->message.find("the effect's file was left behind"), std::string::npos) << f->message;
  EXPECT_NE(f->Reproduce().find("SAGADB_KIT_ONLY='pressure/effect'"), std::string::npos);
}

// An external action that cannot run again over its own effect: a crash right after the effect, before its
// outcome is durable, makes recovery run it again, and it fails. The child process is stopped there; the
// report names the point.
TEST(KitTest, CatchesAnExternalActionThatCannotRunAgainAfterACrash) {
  KitOptions o;
  o.only = "crash/forward";
  KitReport r = RunUntested(Saga("exclusive", {.effect_exclusive = true}), o);
  const testing::KitFailure* f = FirstFailure(r, "crash/forward/after-effect-1");
  ASSERT_NE(f, nullptr) << r.Describe();
  EXPECT_EQ(f->node, "effect");  // whose effect the child stopped after
  EXPECT_NE(f->message.find("failed at effect"), std::string::npos) << f->message;
  // Crashing before the effect, or at any write, is harmless to it.
  EXPECT_EQ(Failures(r, "crash/forward/before-effect-1"), 0u) << r.Describe();
}

// The same bug seen by the idempotency phase, without a crash.
TEST(KitTest, CatchesAnExternalActionThatIsNotIdempotentWhenRunTwice) {
  KitOptions o;
  o.only = "idempotency/actions";
  KitReport r = RunUntested(Saga("exclusive-twice", {.effect_exclusive = true}), o);
  EXPECT_EQ(Failures(r, "idempotency/actions"), 1u) << r.Describe();
}

// An undo that always fails: the unwind cannot complete, and the kit says where.
TEST(KitTest, CatchesAnUndoThatAlwaysFails) {
  KitOptions o;
  o.only = "fail-action/last";
  KitReport r = RunUntested(Saga("undo-fails", {.undo_always_fails = true}), o);
  const testing::KitFailure* f = FirstFailure(r, "fail-action/last");
  ASSERT_NE(f, nullptr) << r.Describe();
  EXPECT_NE(f->message.find("is stuck"), std::string::npos) << f->message;
}

// A failure's case id and seed run that case alone, again.
TEST(KitTest, AFailuresCaseIdRunsItAlone) {
  KitOptions o;
  o.only = "pressure/effect";
  KitReport r = RunUntested(Saga("read-after-effect-again", {.read_after_effect = true}), o);
  EXPECT_EQ(r.cases.size(), 2u) << r.Describe();  // the clean run, and the case
  EXPECT_EQ(Failures(r, "pressure/effect"), 1u) << r.Describe();
  EXPECT_EQ(r.failures.size(), 1u) << r.Describe();
}

TEST(KitTest, ASagaMissingItsChecksIsRefused) {
  SagaUnderTest s = Saga("incomplete", {});
  s.check_unchanged = nullptr;
  KitReport r = RunUntested(s);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].phase, "setup");
  EXPECT_NE(r.failures[0].message.find("check_unchanged"), std::string::npos);
}

}  // namespace
}  // namespace sagadb
