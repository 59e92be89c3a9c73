// A database the sagadb program shares with another program (an embedder with a domain of its own), holding
// that program's sagas in flight. The tool knows only the control plane's actions: it may look at everything,
// but a command that opens the database with recovery must not run while work it cannot finish is in flight.
// Each such command is refused with one line naming the sagas and their actions, and nothing changes; abandon
// (no recovery, one saga) still works; once the other program has finished its sagas, the tool works again.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "db/database_impl.h"
#include "engine/fault_injector.h"
#include "sagadb/control_plane.h"
#include "sagadb/database.h"
#include "tests/cli_util.h"
#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

// The embedder's domain: a table of its own and three steps that only answer (local, external, local).
std::shared_ptr<BasicDomain> LedgerDomain() {
  auto domain = std::make_shared<BasicDomain>("ledger", std::vector<std::string>{"ledger"});
  auto answer = [](ActionContext&) -> Result<Json> { return Json("done"); };
  Must(domain->actions().Register({"ledger.reserve", ActionKind::kLocal, answer, nullptr}));
  Must(domain->actions().Register({"ledger.notify", ActionKind::kExternal, answer, nullptr}));
  Must(domain->actions().Register({"ledger.settle", ActionKind::kLocal, answer, nullptr}));
  return domain;
}

SagaDag LedgerDag() {
  DagBuilder b("ledger-transfer");
  b.Append(NodeSpec::Action("reserve", "ledger.reserve"));
  b.Append(NodeSpec::Action("notify", "ledger.notify"));
  b.Append(NodeSpec::Action("settle", "ledger.settle"));
  return *b.Build();
}

DatabaseOptions Embedder(const std::string& db) {
  DatabaseOptions o;
  o.path = db;
  o.executor.threads = 4;
  return o;
}

// The embedder's program, which shares the database with the control plane, dies after its saga's first round.
Uuid LeaveLedgerSagaInFlight(const std::string& db) {
  auto opened = Must(Database::Open(Embedder(db), {std::make_shared<ControlPlaneDomain>(db), LedgerDomain()}));
  Store& store = opened->impl().store();
  FaultInjector dead;
  dead.FailWritesFrom(store.write_attempts() + 2, Status::IOError("injected: the process died"));
  store.SetHooks(&dead);
  auto handle = Must(opened->Start(LedgerDag(), Json::object()));
  if (handle.Wait().ok()) throw std::runtime_error("set-up: the saga was not interrupted");
  store.SetHooks(nullptr);
  return handle.id();
}

TEST_F(CliTest, AnotherProgramsSagaInFlightRefusesEveryCommandThatRecoversAndNothingChanges) {
  CreateWeb();
  ToolJson({"disk", "create", "spare", "--size", "1GiB"});
  const Uuid ledger = LeaveLedgerSagaInFlight(db_);
  const Snapshot before = Snap();

  const std::vector<std::vector<std::string>> mutations = {
      {"instance", "create", "intruder"},
      {"instance", "delete", "web"},
      {"disk", "create", "extra", "--size", "1GiB"},
      {"disk", "attach", "spare", "web"},
      {"disk", "detach", "web-d1", "web"},
      {"disk", "delete", "spare"},
      {"saga", "prune", "--keep", "0"},
      {"recover"},
      {"demo", "--instances", "1", "--disks", "1"},
  };
  for (const auto& args : mutations) {
    SCOPED_TRACE(::testing::PrintToString(args));
    Outcome o = Tool(args);
    ExpectOneLineError(o, 1);
    EXPECT_NE(o.err.find("saga " + ledger.ToString() + " (ledger-transfer) needs ledger.reserve, ledger.notify, "
                                                         "ledger.settle"),
              std::string::npos)
        << o;
    EXPECT_NE(o.err.find("nothing was changed"), std::string::npos) << o;
  }
  EXPECT_EQ(Snap(), before);

  // Looking is fine: the saga is listed as it is.
  EXPECT_EQ(ToolJson({"saga", "show", ledger.ToString()})["state"], "running");
  EXPECT_EQ(Tool({"saga", "prune", "--dry-run", "--keep", "0"}).exit_code, 0);

  // Its own program finishes it; then the tool changes the database again.
  {
    auto db = Must(Database::Open(Embedder(db_), {std::make_shared<ControlPlaneDomain>(db_), LedgerDomain()}));
    EXPECT_EQ(db->recovery().finished_succeeded, std::vector<Uuid>{ledger}) << db->recovery().Summary();
  }
  EXPECT_EQ(ToolJson({"disk", "delete", "spare"})["state"], "destroyed");
  EXPECT_EQ(ToolJson({"saga", "show", ledger.ToString()})["state"], "succeeded");
}

TEST_F(CliTest, AnotherProgramsSagaInFlightCanStillBeAbandonedByAnOperator) {
  const Uuid ledger = LeaveLedgerSagaInFlight(db_);
  Outcome o = Tool({"saga", "abandon", ledger.ToString(), "--reason", "the ledger program was retired"});
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(ToolJson({"saga", "show", ledger.ToString()})["state"], "abandoned");
  // Nothing of another program is in flight any more.
  EXPECT_EQ(Tool({"recover"}).exit_code, 0);
}

}  // namespace
}  // namespace sagadb::testing
