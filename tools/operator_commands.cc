#include "tools/operator_commands.h"

#include <fmt/format.h>

#include <cstdlib>
#include <iostream>

#include "db/database_impl.h"
#include "log/saga_log.h"
#include "sagadb/control_plane.h"
#include "tools/records_json.h"

namespace sagadb::tool {
namespace {

// What an operator command needs before it takes the database: the saga's id, the request, and the saga's
// record as a secondary reads it (so that a request refused here writes nothing).
struct Prepared {
  Uuid id;
  OperatorRequest request;
  SagaRecord before;
};

// The id and the request; InvalidRequest (a usage error) for a malformed one.
Result<Prepared> ParseRequest(const OperatorArgs& a) {
  Prepared p;
  SAGADB_ASSIGN_OR_RETURN(p.id, ParseSagaId(a.id));
  p.request.actor = a.by;
  if (p.request.actor.empty()) {
    const char* user = std::getenv("SUDO_USER");
    if (user == nullptr || *user == '\0') user = std::getenv("USER");
    p.request.actor = user != nullptr && *user != '\0' ? user : "operator";
  }
  p.request.reason = a.reason;
  SAGADB_RETURN_IF_ERROR(CheckOperatorRequest(p.request));
  return p;
}

// The saga's record, read on a secondary before the database is taken; `allowed` says in which states the
// command applies (InvalidRequest naming the state otherwise, and nothing is written).
// `recovers`: the command opens the database with recovery (PrepareToOwn).
Status LookBefore(const GlobalOptions& g, Prepared* p, std::initializer_list<SagaState> allowed, std::string_view what,
                  bool recovers = true) {
  SAGADB_ASSIGN_OR_RETURN(auto secondary, PrepareToOwn(g, false, recovers));
  SAGADB_ASSIGN_OR_RETURN(p->before, SagaLog(secondary.get()).ReadRecord(p->id));
  for (SagaState s : allowed) {
    if (p->before.state == s) return Status::OK();
  }
  return Status::InvalidRequest(fmt::format("saga {} is {}; {}", p->id.ToString(), ToString(p->before.state), what));
}

constexpr std::initializer_list<SagaState> kNotEnded = {SagaState::kRunning, SagaState::kUnwinding,
                                                        SagaState::kPaused, SagaState::kStuck};

// Takes the database without recovery, so the saga a command names is not resumed before the command writes.
Result<std::unique_ptr<Store>> OpenWithoutRecovery(const GlobalOptions& g) {
  StoreConfig config;
  config.path = g.db;
  config.create_if_missing = false;
  return Store::Open(config);
}

// Opens the database, as its owner, for the unwind: recovery runs (and waits), paused sagas are left alone.
Result<std::unique_ptr<ControlPlane>> OpenToUnwind(const GlobalOptions& g) {
  SAGADB_RETURN_IF_ERROR(RefuseIfInUse(g.db));
  DatabaseOptions o;
  o.path = g.db;
  o.create_if_missing = false;
  o.logger = StderrLogger();
  o.retry_paused_at_open = false;
  return OpenToChange(o);
}

// Prints the saga as it is now, after the command; exit 0 when it ended as `want` says.
int Report(const GlobalOptions& g, Store& store, const Uuid& id, std::string_view done) {
  auto r = SagaLog(&store).ReadRecord(id);
  if (!r.ok()) return Fail(r.status());
  if (g.json) {
    PrintJson(SagaJson(*r, nullptr));
  } else {
    std::cout << fmt::format("saga {} {}; it is {} now", id.ToString(), done, ToString(r->state));
    if (r->state != SagaState::kFailed && !r->error.empty()) {
      std::cout << ": " << Status::FromCode(r->error_code, r->error).ToString();
    }
    std::cout << "\n";
  }
  return r->state == SagaState::kPaused || r->state == SagaState::kStuck ? kExitFailed : kExitOk;
}

}  // namespace

int SagaCancel(const GlobalOptions& g, const OperatorArgs& a) {
  auto p = ParseRequest(a);
  if (!p.ok()) return UsageError(p.status().message());
  if (Status st = LookBefore(g, &*p, kNotEnded, "it has ended, there is nothing to cancel"); !st.ok()) return Fail(st);
  {
    // The cancel goes in before recovery could resume the saga forward.
    auto store = OpenWithoutRecovery(g);
    if (!store.ok()) return Fail(store.status());
    auto cancelled = SagaLog(store->get()).Cancel(p->id, p->request);
    if (!cancelled.ok()) return Fail(cancelled.status());
  }
  auto db = OpenToUnwind(g);
  if (!db.ok()) return Fail(db.status());
  return Report(g, (*db)->database().impl().store(), p->id, fmt::format("cancelled by {}", p->request.actor));
}

int SagaResume(const GlobalOptions& g, const OperatorArgs& a) {
  auto p = ParseRequest(a);
  if (!p.ok()) return UsageError(p.status().message());
  if (Status st = LookBefore(g, &*p, {SagaState::kPaused, SagaState::kStuck}, "only a paused or stuck saga can be resumed");
      !st.ok()) {
    return Fail(st);
  }
  auto db = OpenToUnwind(g);
  if (!db.ok()) return Fail(db.status());
  auto handle = (*db)->database().Resume(p->id, p->request);
  if (!handle.ok()) return Fail(handle.status());
  auto ended = handle->Wait();
  if (!ended.ok()) return Fail(ended.status());
  return Report(g, (*db)->database().impl().store(), p->id, fmt::format("resumed by {}", p->request.actor));
}

int SagaAbandon(const GlobalOptions& g, const OperatorArgs& a) {
  auto kind = ParseAbandonKind(a.kind);
  if (!kind) {
    return UsageError(fmt::format("--kind \"{}\" is not one of operator, unrecoverable, orphaned", a.kind));
  }
  if (a.reason.empty()) return UsageError("--reason must say why the saga is abandoned");
  auto p = ParseRequest(a);
  if (!p.ok()) return UsageError(p.status().message());
  // No recovery runs and only the saga named is touched, so sagas of another program (actions this one does not
  // know) do not stop it: giving up on one of those is what it is for when that program is gone.
  if (Status st = LookBefore(g, &*p, kNotEnded, "only a saga that has not ended can be abandoned", /*recovers=*/false);
      !st.ok()) {
    return Fail(st);
  }
  auto store = OpenWithoutRecovery(g);
  if (!store.ok()) return Fail(store.status());
  auto abandoned = SagaLog(store->get()).Abandon(p->id, *kind, p->request);
  if (!abandoned.ok()) return Fail(abandoned.status());
  if (g.json) {
    PrintJson(SagaJson(*abandoned, nullptr));
  } else {
    std::cout << "saga " << p->id.ToString() << " abandoned (" << ToString(*kind) << ") by " << p->request.actor
              << "\n";
  }
  return kExitOk;
}

}  // namespace sagadb::tool
