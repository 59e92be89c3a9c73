#include "tests/history_fixture.h"

#include <filesystem>
#include <stdexcept>

#include "engine/fault_injector.h"

namespace sagadb::testing {

SagaDag HoldDag() {
  DagBuilder b("hold");
  b.Append(NodeSpec::Action("first", "test.disk"));
  b.Append(NodeSpec::Action("wait", "hold.wait"));
  return *b.Build();
}

void HistoryTest::SetUp() {
  std::filesystem::create_directories(dir_.Sub("files"));
  app_.files_dir = dir_.Sub("files");
}

DatabaseOptions HistoryTest::Options() const {
  DatabaseOptions o;
  o.path = dir_.Sub("db");
  o.executor.threads = 8;
  o.executor.forward_retry.initial_backoff = std::chrono::microseconds(100);
  o.executor.undo_retry.initial_backoff = std::chrono::microseconds(100);
  o.retention.enabled = false;
  return o;
}

std::unique_ptr<Database> HistoryTest::Open(const DatabaseOptions& options, StoreHooks* hooks) {
  auto domain = TestDomain(&app_);
  Gate* gate = &gate_;
  Must(domain->actions().Register({"hold.wait", ActionKind::kExternal, [gate](ActionContext&) -> Result<Json> {
                                     gate->Wait();
                                     return Json(nullptr);
                                   }}));
  OpenSeams seams;
  seams.hooks = hooks;
  return Must(OpenDatabase(options, {domain}, seams));
}

Uuid HistoryTest::Run(Database& db, const std::string& tag, bool fail, bool stuck) {
  auto plan = std::make_shared<FaultPlan>();
  if (fail || stuck) plan->FailAction("d", Status::InvalidRequest("injected"));
  if (stuck) plan->FailUndo("a", Status::Conflict("injected: forever"), FaultPlan::kAlways);
  db.impl().executor().SetFaultPlan(plan);
  SagaResult r = Must(db.Run(SampleDag(), Json{{"tag", tag}}));
  db.impl().executor().SetFaultPlan(nullptr);
  const SagaState want = stuck ? SagaState::kStuck : fail ? SagaState::kFailed : SagaState::kSucceeded;
  if (r.state != want) throw std::runtime_error("set-up: saga " + tag + " ended " + std::string(ToString(r.state)));
  return r.id;
}

Uuid HistoryTest::StartInterrupted(Database& db, const std::string& tag) {
  FaultInjector dead;
  Store& store = db.impl().store();
  dead.FailWritesFrom(store.write_attempts() + 2, Status::IOError("injected: the process died"));
  store.SetHooks(&dead);
  SagaHandle h = Must(db.Start(SampleDag(), Json{{"tag", tag}}));
  const bool ended = h.Wait().ok();
  store.SetHooks(nullptr);
  if (ended) throw std::runtime_error("set-up: saga " + tag + " was not interrupted");
  return h.id();
}

SagaRecord HistoryTest::Record(Database& db, const Uuid& id) {
  return Must(SagaLog(&db.impl().store()).ReadRecord(id));
}

std::vector<std::pair<Uuid, SagaIndexEntry>> HistoryTest::Active(const Store& store) {
  std::vector<std::pair<Uuid, SagaIndexEntry>> out;
  IndexCursor c(store, IndexCursor::kActive);
  for (c.SeekToFirst(); c.Valid(); c.Next()) out.emplace_back(c.id(), c.entry());
  Must(c.status());
  return out;
}

std::vector<std::pair<Uuid, SagaIndexEntry>> HistoryTest::Finished(const Store& store) {
  std::vector<std::pair<Uuid, SagaIndexEntry>> out;
  IndexCursor c(store, IndexCursor::kFinished);
  for (c.SeekToFirst(); c.Valid(); c.Next()) out.emplace_back(c.id(), c.entry());
  Must(c.status());
  return out;
}

}  // namespace sagadb::testing
