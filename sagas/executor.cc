#include "sagas/executor.h"

#include <thread>

#include "engine/clock.h"
#include "engine/keys.h"
#include "schema/codec.h"
#include "sagas/saga_run.h"

namespace sagadb {
namespace {

bool IsAction(const DagNode& n) { return n.kind == NodeKind::kAction; }

SagaEvent MakeEvent(uint32_t node, EventType type, uint32_t attempts, int64_t start_ns) {
  SagaEvent e;
  e.node = node;
  e.type = type;
  e.attempts = attempts;
  e.start_ns = start_ns;
  e.time_ns = NowNs();
  return e;
}

SagaEvent ErrorEvent(uint32_t node, EventType type, const Status& error, uint32_t attempts, int64_t start_ns) {
  SagaEvent e = MakeEvent(node, type, attempts, start_ns);
  e.error_code = static_cast<uint8_t>(error.code());
  e.error = error.message();
  return e;
}

// Runs user code; an exception becomes an Internal error instead of escaping into the pool.
template <typename F>
auto Invoke(const F& fn, ActionContext& ctx) -> decltype(fn(ctx)) {
  try {
    return fn(ctx);
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("action threw: {}", e.what()));
  } catch (...) {
    return Status::Internal("action threw a non-standard exception");
  }
}

Result<Json> ParseJson(const std::string& text, std::string_view what) {
  if (text.empty()) return Json();
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Corruption(fmt::format("{} is not valid JSON", what));
  return j;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- handle

const Uuid& SagaHandle::id() const { return run_->record.id; }

bool SagaHandle::Done() const {
  std::lock_guard lock(run_->mu);
  return run_->complete;
}

Result<SagaResult> SagaHandle::Wait() const {
  std::unique_lock lock(run_->mu);
  run_->done_cv.wait(lock, [&] { return run_->complete; });
  if (run_->halted) {
    return Status::FromCode(static_cast<uint8_t>(run_->halted->code()),
                            fmt::format("saga {} halted: {} (it stays {} in the database; recovery resumes it at "
                                        "the next open)",
                                        run_->record.id.ToString(), run_->halted->message(),
                                        ToString(run_->record.state)));
  }
  return *run_->result;
}

// ---------------------------------------------------------------------------------------------- lifecycle

SagaExecutor::SagaExecutor(Datastore* datastore, const ActionRegistry* registry, ExecutorOptions options,
                           std::any app)
    : datastore_(datastore),
      store_(datastore->store()),
      registry_(registry),
      options_(options),
      app_(std::move(app)),
      pool_(options.threads) {}

SagaExecutor::~SagaExecutor() { Shutdown(); }

void SagaExecutor::Shutdown() {
  std::unique_lock lock(mu_);
  shutting_down_ = true;
  stop_.store(true);
  admission_cv_.notify_all();
  // Each run notices stop_ when its current tasks end, and completes (halted) with none left.
  std::vector<std::shared_ptr<SagaRun>> runs;
  for (auto& [id, run] : runs_) runs.push_back(run);
  lock.unlock();
  for (auto& run : runs) {
    std::lock_guard run_lock(run->mu);
    if (run->tasks == 0 && !run->complete) Advance(run);
  }
  lock.lock();
  idle_cv_.wait(lock, [&] { return runs_.empty(); });
}

void SagaExecutor::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return runs_.empty(); });
}

size_t SagaExecutor::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

ExecutorStats SagaExecutor::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void SagaExecutor::SetFaultPlan(std::shared_ptr<FaultPlan> plan) {
  std::lock_guard lock(mu_);
  faults_ = std::move(plan);
}

std::shared_ptr<FaultPlan> SagaExecutor::faults() const {
  std::lock_guard lock(mu_);
  return faults_;
}

Status SagaExecutor::Admit(const StartOptions& options) {
  std::unique_lock lock(mu_);
  auto room = [&] { return shutting_down_ || in_flight_ < options_.max_in_flight; };
  if (!room() && options.admission_wait) {
    admission_cv_.wait_for(lock, *options.admission_wait, room);
  }
  if (shutting_down_) return Status::InvalidRequest("the executor is shutting down");
  if (in_flight_ >= options_.max_in_flight) {
    stats_.rejected++;
    return Status::Overloaded(fmt::format("{} sagas are in flight, the limit; try again later", in_flight_));
  }
  in_flight_++;
  return Status::OK();
}

void SagaExecutor::Release() {
  std::lock_guard lock(mu_);
  in_flight_--;
  admission_cv_.notify_one();
  if (runs_.empty() && in_flight_ == 0) idle_cv_.notify_all();
}

// ---------------------------------------------------------------------------------------------- start / resume

Result<std::shared_ptr<SagaRun>> SagaExecutor::NewRun(SagaRecord record, Json params) {
  const size_t n = record.nodes.size();
  auto run = std::make_shared<SagaRun>(std::move(record), std::move(params));
  const SagaRecord& rec = run->record;
  if (rec.scopes.empty()) return Status::Corruption("saga record has no scopes");
  run->actions.resize(n, nullptr);
  run->children.resize(n);
  run->nodes.resize(n);
  run->scope_params.resize(rec.scopes.size());
  run->scope_params[0] = run->params;
  for (uint32_t i = 0; i < n; ++i) {
    const DagNode& node = rec.nodes[i];
    run->qualified_names.push_back(QualifiedName(rec.nodes, rec.scopes, i));
    if (node.scope >= rec.scopes.size()) return Status::Corruption(fmt::format("node {} names no scope", i));
    for (uint32_t d : node.deps) {
      // Dependencies always point backwards: the DAG is stored in a topological order.
      if (d >= i) return Status::Corruption(fmt::format("node {} depends on node {}, not an earlier one", i, d));
      run->children[d].push_back(i);
    }
    if (IsAction(node)) {
      run->actions[i] = registry_->Find(node.action);
      if (run->actions[i] == nullptr) {
        return Status::InvalidRequest(fmt::format("saga {} node {} names unknown action \"{}\"", rec.kind,
                                                  run->qualified_names[i], node.action));
      }
    } else if (node.kind != NodeKind::kConstant && (node.link < 0 || static_cast<uint32_t>(node.link) >= i)) {
      return Status::Corruption(fmt::format("subsaga node {} links to node {}", i, node.link));
    }
  }
  return run;
}

Result<SagaHandle> SagaExecutor::Start(const SagaDag& dag, Json params, const StartOptions& options) {
  SagaRecord record;
  record.id = options.id ? *options.id : Uuid::Generate();
  record.kind = dag.kind;
  record.nodes = dag.nodes;
  record.scopes = dag.scopes;
  record.params = params.dump();
  record.state = SagaState::kRunning;
  record.created_ns = record.modified_ns = NowNs();
  record.generation = 1;
  // Everything that can be refused is checked before admission and before the first write.
  SAGADB_ASSIGN_OR_RETURN(auto run, NewRun(record, std::move(params)));
  SAGADB_RETURN_IF_ERROR(Admit(options));
  Status st = CommitLog(*run, {}, record);
  if (!st.ok()) {
    Release();
    return st;
  }
  {
    std::lock_guard lock(mu_);
    runs_[record.id] = run;
    stats_.started++;
  }
  std::lock_guard lock(run->mu);
  Advance(run);
  return SagaHandle(run);
}

Result<SagaResult> SagaExecutor::Run(const SagaDag& dag, Json params, const StartOptions& options) {
  SAGADB_ASSIGN_OR_RETURN(SagaHandle handle, Start(dag, std::move(params), options));
  return handle.Wait();
}

Result<SagaHandle> SagaExecutor::Resume(SagaRecord record, const SagaHistory& history) {
  SAGADB_ASSIGN_OR_RETURN(Json params, ParseJson(record.params, "saga params"));
  if (history.nodes.size() != record.nodes.size()) return Status::Internal("history does not match the saga");
  SAGADB_ASSIGN_OR_RETURN(auto run, NewRun(std::move(record), std::move(params)));
  SagaRecord& rec = run->record;
  for (uint32_t i = 0; i < rec.nodes.size(); ++i) {
    const NodeHistory& h = history.nodes[i];
    NodeRt& n = run->nodes[i];
    n.attempts = h.attempts;
    n.undo_attempts = h.undo_attempts;
    if (!IsAction(rec.nodes[i])) continue;  // no log of their own: resolved below
    switch (h.status) {
      case LoggedStatus::kPending: break;
      case LoggedStatus::kStarted: n.started_logged = true; break;
      case LoggedStatus::kFailed: n.status = NodeStatus::kFailed; break;
      case LoggedStatus::kSucceeded:
      case LoggedStatus::kUndoStarted:
      case LoggedStatus::kUndone:
      case LoggedStatus::kUndoFailed: {
        SAGADB_ASSIGN_OR_RETURN(n.output, ParseJson(h.output, fmt::format("output of node {}", i)));
        n.status = h.status == LoggedStatus::kUndone       ? NodeStatus::kUndone
                   : h.status == LoggedStatus::kUndoFailed ? NodeStatus::kUndoFailed
                                                           : NodeStatus::kSucceeded;
        n.started_logged = true;
        n.undo_started_logged = h.status == LoggedStatus::kUndoStarted;
        break;
      }
    }
  }
  // Resolve constant and subsaga nodes whose dependencies have (at some point) succeeded. Indexes are a
  // topological order, so one pass suffices.
  for (uint32_t i = 0; i < rec.nodes.size(); ++i) {
    if (IsAction(rec.nodes[i])) continue;
    bool ready = true;
    for (uint32_t d : rec.nodes[i].deps) {
      NodeStatus s = run->nodes[d].status;
      ready = ready && (s == NodeStatus::kSucceeded || s == NodeStatus::kUndone || s == NodeStatus::kUndoFailed);
    }
    if (ready) ResolvePseudo(*run, i);
  }
  run->next_seq = history.next_seq;
  if (history.undo_failed >= 0) {
    return Status::Corruption("a saga with a failed undo is stuck, not resumable");
  }
  if (history.first_failed >= 0) {
    run->mode = SagaState::kUnwinding;
    run->failing = true;
    rec.state = SagaState::kUnwinding;
    if (rec.error_node < 0) {
      const NodeHistory& f = history.nodes[history.first_failed];
      rec.error_node = history.first_failed;
      rec.error_code = f.error_code;
      rec.error = f.error;
    }
  } else {
    run->mode = SagaState::kRunning;
    rec.state = SagaState::kRunning;
  }
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return Status::InvalidRequest("the executor is shutting down");
    in_flight_++;
    runs_[rec.id] = run;
    stats_.resumed++;
  }
  std::lock_guard lock(run->mu);
  Advance(run);
  return SagaHandle(run);
}

// ---------------------------------------------------------------------------------------------- scheduling

void SagaExecutor::ResolvePseudo(SagaRun& run, uint32_t i) {
  const DagNode& node = run.record.nodes[i];
  NodeRt& n = run.nodes[i];
  switch (node.kind) {
    case NodeKind::kConstant: {
      auto value = ParseJson(node.constant, "constant");
      n.output = value.ok() ? *value : Json();
      break;
    }
    case NodeKind::kSubsagaStart:
      n.output = run.nodes[node.link].output;
      run.scope_params[node.scope] = n.output;
      break;
    case NodeKind::kSubsagaEnd:
      n.output = run.nodes[node.link].output;
      break;
    case NodeKind::kAction:
      return;
  }
  n.status = NodeStatus::kSucceeded;
}

void SagaExecutor::Submit(const std::shared_ptr<SagaRun>& run, std::function<void()> task) {
  run->tasks++;
  pool_.Submit(std::move(task));
}

void SagaExecutor::Advance(const std::shared_ptr<SagaRun>& run) {
  SagaRun& r = *run;
  if (r.complete) return;
  if (stop_.load() || r.halted) {
    if (r.tasks == 0) Complete(run, std::nullopt);
    return;
  }
  const size_t n = r.nodes.size();
  auto deps_succeeded = [&](uint32_t i) {
    for (uint32_t d : r.record.nodes[i].deps) {
      if (r.nodes[d].status != NodeStatus::kSucceeded) return false;
    }
    return true;
  };
  // A child blocks its parent's undo until it has nothing left to undo.
  auto children_clear = [&](uint32_t i) {
    for (uint32_t c : r.children[i]) {
      NodeStatus s = r.nodes[c].status;
      bool clear = s == NodeStatus::kFailed || s == NodeStatus::kUndone ||
                   (s == NodeStatus::kPending && !r.nodes[c].started_logged);
      if (!clear) return false;
    }
    return true;
  };

  if (r.mode == SagaState::kRunning) {
    if (!r.failing) {
      for (bool progress = true; progress;) {
        progress = false;
        for (uint32_t i = 0; i < n; ++i) {
          if (r.nodes[i].status != NodeStatus::kPending || !deps_succeeded(i)) continue;
          if (!IsAction(r.record.nodes[i])) {
            ResolvePseudo(r, i);
            progress = true;
          } else {
            r.nodes[i].status = NodeStatus::kRunning;
            Submit(run, [this, run, i] { RunForward(run, i); });
          }
        }
      }
      bool all = true;
      for (const auto& node : r.nodes) all = all && node.status == NodeStatus::kSucceeded;
      if (all && !r.finishing) {
        r.finishing = true;
        Submit(run, [this, run] { RunFinish(run, SagaState::kSucceeded); });
      }
    }
  } else if (r.mode == SagaState::kUnwinding) {
    if (!r.stopping) {
      for (bool progress = true; progress;) {
        progress = false;
        for (uint32_t i = 0; i < n; ++i) {
          NodeRt& node = r.nodes[i];
          if (node.status == NodeStatus::kPending && node.started_logged) {
            // An external node that started before a crash: finish it, then undo it.
            node.status = NodeStatus::kRunning;
            Submit(run, [this, run, i] { RunForward(run, i); });
            continue;
          }
          if (node.status != NodeStatus::kSucceeded || !children_clear(i)) continue;
          if (!IsAction(r.record.nodes[i])) {
            node.status = NodeStatus::kUndone;
            progress = true;
          } else {
            node.status = NodeStatus::kUndoing;
            Submit(run, [this, run, i] { RunUndo(run, i); });
          }
        }
      }
    }
    if (r.tasks == 0 && !r.finishing) {
      bool busy = false;
      for (const auto& node : r.nodes) {
        busy = busy || node.status == NodeStatus::kSucceeded || node.status == NodeStatus::kRunning ||
               node.status == NodeStatus::kUndoing;
      }
      if (!busy && !r.stopping) {
        r.finishing = true;
        Submit(run, [this, run] { RunFinish(run, SagaState::kFailed); });
      }
    }
  }
  if (r.mode == SagaState::kStuck && r.tasks == 0) {
    SagaResult result;
    result.id = r.record.id;
    result.state = SagaState::kStuck;
    result.error_node = r.record.error_node >= 0 ? r.qualified_names[r.record.error_node] : "";
    result.error = Status::FromCode(r.record.error_code, r.record.error);
    Complete(run, result);
    return;
  }
  if (r.tasks == 0 && !r.complete) {
    r.halted = Status::Internal("the saga cannot make progress (no node can run or be undone)");
    Complete(run, std::nullopt);
  }
}

void SagaExecutor::TaskDone(const std::shared_ptr<SagaRun>& run) {
  run->tasks--;
  Advance(run);
}

void SagaExecutor::Complete(const std::shared_ptr<SagaRun>& run, std::optional<SagaResult> result) {
  if (!result && !run->halted) run->halted = Status::InvalidRequest("the executor shut down");
  run->complete = true;
  run->result = std::move(result);
  run->done_cv.notify_all();
  std::lock_guard lock(mu_);
  runs_.erase(run->record.id);
  in_flight_--;
  if (run->halted) {
    stats_.halted++;
  } else if (run->result->state == SagaState::kSucceeded) {
    stats_.succeeded++;
  } else if (run->result->state == SagaState::kFailed) {
    stats_.failed++;
  } else {
    stats_.stuck++;
  }
  admission_cv_.notify_one();
  if (runs_.empty()) idle_cv_.notify_all();
}

void SagaExecutor::Halt(const std::shared_ptr<SagaRun>& run, const Status& error) {
  std::lock_guard lock(run->mu);
  if (!run->halted) run->halted = error;
  TaskDone(run);
}

// ---------------------------------------------------------------------------------------------- tasks

void SagaExecutor::LogStartThen(std::shared_ptr<SagaRun> run, uint32_t i, EventType type, bool NodeRt::*logged,
                                std::function<void()> then) {
  bool already;
  {
    std::lock_guard lock(run->mu);
    already = run->nodes[i].*logged;  // recovered: the log has it already
  }
  if (already) return then();
  CommitLogAsync(run, {MakeEvent(i, type, 0, NowNs())}, 1, [this, run, i, logged, then = std::move(then)](Status st) {
    if (!st.ok()) return Halt(run, st);
    {
      std::lock_guard lock(run->mu);
      run->nodes[i].*logged = true;
    }
    pool_.Submit(then);
  });
}

void SagaExecutor::RunForward(std::shared_ptr<SagaRun> run, uint32_t i) {
  if (run->actions[i]->kind == ActionKind::kLocal) return RunLocalForward(std::move(run), i, 1, 0);
  LogStartThen(run, i, EventType::kStarted, &NodeRt::started_logged, [this, run, i] { RunExternalForward(run, i); });
}

void SagaExecutor::RunExternalForward(std::shared_ptr<SagaRun> run, uint32_t i) {
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const auto plan = faults();
  const std::any* app = &app_;
  for (uint32_t attempt = 1;; ++attempt) {
    const int64_t start_ns = NowNs();
    ActionContext ctx(run.get(), i, nullptr, datastore_, app, attempt);
    auto injected = plan ? plan->TakeActionFault(name) : std::nullopt;
    Result<Json> out = injected ? Result<Json>(*injected) : Invoke(def.action, ctx);
    if (out.ok() && plan && plan->ActionTwice(name)) out = Invoke(def.action, ctx);
    if (out.ok()) {
      SagaEvent e = MakeEvent(i, EventType::kSucceeded, attempt, start_ns);
      e.output = out->dump();
      CommitLogAsync(run, {std::move(e)}, 1, [this, run, i, attempt, output = std::move(*out)](Status st) mutable {
        if (!st.ok()) return Halt(run, st);
        MarkSucceeded(run, i, attempt, std::move(output));
      });
      return;
    }
    if (!RetryForward(run, i, out.status(), attempt)) return;
    std::this_thread::sleep_for(options_.forward_retry.Backoff(attempt + 1));
  }
}

void SagaExecutor::RunLocalForward(std::shared_ptr<SagaRun> run, uint32_t i, uint32_t attempt,
                                   uint32_t lock_conflicts) {
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const auto plan = faults();
  const std::any* app = &app_;
  for (;; ++attempt) {
    const int64_t start_ns = NowNs();
    auto txn = std::make_unique<WriteTxn>(store_, datastore_->locks());
    ActionContext ctx(run.get(), i, txn.get(), datastore_, app, attempt);
    auto injected = plan ? plan->TakeActionFault(name) : std::nullopt;
    Result<Json> out = injected ? Result<Json>(*injected) : Invoke(def.action, ctx);
    const bool lock_conflict = !out.ok() && txn->lock_conflict();
    if (out.ok() && plan) {
      if (auto after = plan->TakeAfterStageFault(name)) out = *after;  // the staged writes die with txn
    }
    if (out.ok()) {
      // The effects and the `succeeded` record go out in one batch; this thread does not wait for it.
      auto req = std::make_unique<CommitRequest>();
      req->txn = txn.get();
      req->owned_txn = std::move(txn);
      SagaEvent e = MakeEvent(i, EventType::kSucceeded, attempt, start_ns);
      e.output = out->dump();
      req->events.push_back(std::move(e));
      req->on_done = [this, run, i, attempt, lock_conflicts, output = std::move(*out)](Status commit) mutable {
        FinishLocalForward(run, i, attempt, lock_conflicts, std::move(output), commit);
      };
      CommitAsync(*run, std::move(req));
      return;
    }
    txn.reset();  // nothing of a failed action survives, and its locks go before any retry
    if (RetryLockConflict(lock_conflict, &lock_conflicts)) {
      --attempt;  // a record lock taken out of order says nothing about the action: not an attempt
      continue;
    }
    if (!RetryForward(run, i, out.status(), attempt)) return;
    std::this_thread::sleep_for(options_.forward_retry.Backoff(attempt + 1));
  }
}

void SagaExecutor::FinishLocalForward(const std::shared_ptr<SagaRun>& run, uint32_t i, uint32_t attempt,
                                      uint32_t lock_conflicts, Json output, const Status& commit) {
  const std::string& name = run->qualified_names[i];
  if (commit.ok()) {
    const auto plan = faults();
    if (plan && plan->ActionTwice(name)) {
      // Idempotency check: the action runs again over its own committed effects.
      WriteTxn again = datastore_->NewTxn();
      ActionContext ctx(run.get(), i, &again, datastore_, &app_, attempt + 1);
      auto second = Invoke(run->actions[i]->action, ctx);
      Status st = second.ok() ? (again.empty() ? Status::OK() : again.Commit()) : second.status();
      if (!st.ok()) {
        return Halt(run, Status::Internal(fmt::format("action of {} is not idempotent: its second run failed: {}",
                                                      name, st.ToString())));
      }
    }
    MarkSucceeded(run, i, attempt, std::move(output));
    return;
  }
  // Nothing of the node was written.
  if (!commit.IsRetryable()) return Halt(run, commit);
  if (!RetryForward(run, i, commit, attempt)) return;
  // Still the same task (run->tasks unchanged): its next attempt continues on the pool after the backoff.
  pool_.Submit([this, run, i, attempt, lock_conflicts] {
    std::this_thread::sleep_for(options_.forward_retry.Backoff(attempt + 1));
    RunLocalForward(run, i, attempt + 1, lock_conflicts);
  });
}

void SagaExecutor::MarkSucceeded(const std::shared_ptr<SagaRun>& run, uint32_t i, uint32_t attempt, Json output) {
  std::lock_guard lock(run->mu);
  run->nodes[i].output = std::move(output);
  run->nodes[i].attempts = attempt;
  run->nodes[i].status = NodeStatus::kSucceeded;
  TaskDone(run);
}

bool SagaExecutor::RetryForward(const std::shared_ptr<SagaRun>& run, uint32_t i, const Status& error,
                                uint32_t attempt) {
  if (error.IsRetryable() && attempt < options_.forward_retry.max_attempts && !stop_.load()) {
    std::lock_guard lock(mu_);
    stats_.action_retries++;
    return true;
  }
  if (stop_.load()) {
    std::lock_guard lock(run->mu);
    run->nodes[i].status = NodeStatus::kPending;  // not run: recovery runs it at the next open
    TaskDone(run);
    return false;
  }
  RecordFailure(run, i, error, attempt);
  return false;
}

bool SagaExecutor::RetryLockConflict(bool conflict, uint32_t* conflicts) {
  if (!conflict || stop_.load() || *conflicts >= kMaxLockConflictRetries) return false;
  ++*conflicts;
  {
    std::lock_guard lock(mu_);
    stats_.lock_conflict_retries++;
  }
  // The holder of the busy stripe is committing; give it a moment rather than spinning.
  std::this_thread::sleep_for(std::chrono::microseconds(20 * std::min<uint32_t>(*conflicts, 50)));
  return true;
}

void SagaExecutor::RecordFailure(const std::shared_ptr<SagaRun>& run, uint32_t i, const Status& error,
                                 uint32_t attempts) {
  std::optional<SagaRecord> record;
  {
    std::lock_guard lock(run->mu);
    run->failing = true;
    if (run->record.error_node < 0) {
      run->record.state = SagaState::kUnwinding;
      run->record.error_node = static_cast<int32_t>(i);
      run->record.error_code = static_cast<uint8_t>(error.code());
      run->record.error = error.message();
      run->record.modified_ns = NowNs();
      run->record.generation++;
      record = run->record;
    }
  }
  Status st = CommitLog(*run, {ErrorEvent(i, EventType::kFailed, error, attempts, 0)}, std::move(record));
  if (!st.ok()) return Halt(run, st);
  std::lock_guard lock(run->mu);
  run->nodes[i].status = NodeStatus::kFailed;
  run->nodes[i].attempts = attempts;
  if (run->mode == SagaState::kRunning) run->mode = SagaState::kUnwinding;
  TaskDone(run);
}

void SagaExecutor::RunUndo(std::shared_ptr<SagaRun> run, uint32_t i) {
  if (run->actions[i]->kind == ActionKind::kLocal) return RunUndoSteps(std::move(run), i);
  LogStartThen(run, i, EventType::kUndoStarted, &NodeRt::undo_started_logged,
               [this, run, i] { RunUndoSteps(run, i); });
}

void SagaExecutor::RunUndoSteps(std::shared_ptr<SagaRun> run, uint32_t i) {
  const ActionDef& def = *run->actions[i];
  const std::string& name = run->qualified_names[i];
  const auto plan = faults();
  const std::any* app = &app_;

  auto run_undo = [&](ActionContext& ctx) -> Status {
    return def.undo ? Invoke(def.undo, ctx) : Status::OK();
  };

  uint32_t lock_conflicts = 0;
  for (uint32_t attempt = 1;; ++attempt) {
    const int64_t start_ns = NowNs();
    Status st;
    bool lock_conflict = false;
    auto injected = plan ? plan->TakeUndoFault(name) : std::nullopt;
    if (def.kind == ActionKind::kLocal) {
      {
        WriteTxn txn = datastore_->NewTxn();  // its locks are released before any second run below
        ActionContext ctx(run.get(), i, &txn, datastore_, app, attempt);
        st = injected ? *injected : run_undo(ctx);
        lock_conflict = !st.ok() && txn.lock_conflict();
        if (st.ok()) {
          CommitRequest req;
          req.txn = &txn;
          req.events.push_back(MakeEvent(i, EventType::kUndoFinished, attempt, start_ns));
          st = Commit(*run, &req);
          if (!st.ok() && !st.IsRetryable()) return Halt(run, st);
        }
      }
      if (st.ok() && plan && plan->UndoTwice(name)) {
        WriteTxn again = datastore_->NewTxn();
        ActionContext ctx2(run.get(), i, &again, datastore_, app, attempt + 1);
        Status second = run_undo(ctx2);
        if (second.ok() && !again.empty()) second = again.Commit();
        if (!second.ok()) {
          return Halt(run, Status::Internal(fmt::format("undo of {} is not idempotent: its second run failed: {}",
                                                        name, second.ToString())));
        }
      }
    } else {
      ActionContext ctx(run.get(), i, nullptr, datastore_, app, attempt);
      st = injected ? *injected : run_undo(ctx);
      if (st.ok() && plan && plan->UndoTwice(name)) st = run_undo(ctx);
      if (st.ok()) {
        Status logged = CommitLog(*run, {MakeEvent(i, EventType::kUndoFinished, attempt, start_ns)});
        if (!logged.ok()) return Halt(run, logged);
      }
    }

    if (RetryLockConflict(lock_conflict, &lock_conflicts)) {
      --attempt;
      continue;
    }
    if (st.ok()) {
      std::lock_guard lock(run->mu);
      run->nodes[i].undo_attempts = attempt;
      run->nodes[i].status = NodeStatus::kUndone;
      TaskDone(run);
      return;
    }
    if (st.IsRetryable() && attempt < options_.undo_retry.max_attempts && !stop_.load()) {
      {
        std::lock_guard lock(mu_);
        stats_.undo_retries++;
      }
      std::this_thread::sleep_for(options_.undo_retry.Backoff(attempt + 1));
      continue;
    }
    if (stop_.load()) {
      std::lock_guard lock(run->mu);
      run->nodes[i].status = NodeStatus::kSucceeded;
      TaskDone(run);
      return;
    }
    if (st.IsRetryable()) {
      st = Status::FromCode(static_cast<uint8_t>(st.code()),
                            fmt::format("{} (gave up after {} attempts)", st.message(), attempt));
    }
    RecordUndoFailure(run, i, st, attempt);
    return;
  }
}

void SagaExecutor::RecordUndoFailure(const std::shared_ptr<SagaRun>& run, uint32_t i, const Status& error,
                                     uint32_t attempts) {
  std::optional<SagaRecord> record;
  {
    std::lock_guard lock(run->mu);
    run->stopping = true;
    if (run->record.state != SagaState::kStuck) {
      run->record.state = SagaState::kStuck;
      run->record.error_node = static_cast<int32_t>(i);
      run->record.error_code = static_cast<uint8_t>(error.code());
      run->record.error = fmt::format("undo of {} failed: {}", run->qualified_names[i], error.message());
      run->record.modified_ns = run->record.finished_ns = NowNs();
      run->record.generation++;
      record = run->record;
    }
  }
  Status st = CommitLog(*run, {ErrorEvent(i, EventType::kUndoFailed, error, attempts, 0)}, std::move(record));
  if (!st.ok()) return Halt(run, st);
  std::lock_guard lock(run->mu);
  run->nodes[i].status = NodeStatus::kUndoFailed;
  run->nodes[i].undo_attempts = attempts;
  run->mode = SagaState::kStuck;
  TaskDone(run);
}

void SagaExecutor::RunFinish(std::shared_ptr<SagaRun> run, SagaState state) {
  SagaRecord record;
  Json output;
  {
    std::lock_guard lock(run->mu);
    if (state == SagaState::kSucceeded) {
      // The saga's output: its single last node's, if it has one.
      int32_t last = -1;
      int sinks = 0;
      for (uint32_t i = 0; i < run->nodes.size(); ++i) {
        if (run->record.nodes[i].scope == 0 && run->children[i].empty()) {
          last = static_cast<int32_t>(i);
          sinks++;
        }
      }
      if (sinks == 1) output = run->nodes[last].output;
      run->record.output = output.dump();
    }
    run->record.state = state;
    run->record.modified_ns = run->record.finished_ns = NowNs();
    run->record.generation++;
    record = run->record;
  }
  Status st = CommitLog(*run, {}, std::move(record));
  if (!st.ok()) return Halt(run, st);
  std::lock_guard lock(run->mu);
  run->mode = state;
  run->tasks--;
  SagaResult result;
  result.id = run->record.id;
  result.state = state;
  result.output = std::move(output);
  if (state == SagaState::kFailed && run->record.error_node >= 0) {
    result.error_node = run->qualified_names[run->record.error_node];
    result.error = Status::FromCode(run->record.error_code, run->record.error);
  }
  Complete(run, std::move(result));
}

// ---------------------------------------------------------------------------------------------- commits

Status SagaExecutor::Commit(SagaRun& run, CommitRequest* request) {
  std::unique_lock lock(run.commit_mu);
  run.queue.push_back(request);
  if (run.committing) {
    run.commit_cv.wait(lock, [&] { return request->done || !run.committing; });
    if (request->done) return request->result;
  }
  DrainCommits(run, lock);
  return request->result;
}

void SagaExecutor::CommitAsync(SagaRun& run, std::unique_ptr<CommitRequest> request) {
  std::unique_lock lock(run.commit_mu);
  run.queue.push_back(request.release());
  if (run.committing) return;  // the active leader writes it and calls on_done
  DrainCommits(run, lock);
}

void SagaExecutor::DrainCommits(SagaRun& run, std::unique_lock<std::mutex>& lock) {
  // Everything queued goes into one synced batch; whatever queues up while it is written goes into the next.
  // Waiting submitters are woken; asynchronous requests are finished here, each after its txn (and the record
  // locks it holds) is gone. That happens outside the lock and with no leader active, because finishing a node
  // may itself commit (a failure record, say) and then becomes the leader of its own batch.
  while (!run.queue.empty()) {
    run.committing = true;
    std::vector<CommitRequest*> group(run.queue.begin(), run.queue.end());
    run.queue.clear();
    const uint64_t first_seq = run.next_seq;
    rocksdb::WriteBatch batch;
    Status st;
    for (CommitRequest* r : group) {
      if (!st.ok()) break;
      if (r->txn != nullptr) st = AppendBatch(*store_, *r->txn->batch(), &batch);
      for (const SagaEvent& e : r->events) {
        batch.Put(store_->handle(Cf::kSagaEvents), SagaEventKey(run.record.id, run.next_seq++), Encode(e));
      }
      if (r->record) batch.Put(store_->handle(Cf::kSagas), run.record.id.AsBytes(), Encode(*r->record));
    }
    lock.unlock();
    if (st.ok()) st = store_->Write(&batch);
    lock.lock();
    if (!st.ok()) run.next_seq = first_seq;
    std::vector<CommitRequest*> finished;
    for (CommitRequest* r : group) {
      r->result = st;
      if (r->on_done) {
        finished.push_back(r);
      } else {
        r->done = true;
      }
    }
    run.committing = false;
    run.commit_cv.notify_all();
    if (finished.empty()) continue;
    lock.unlock();
    for (CommitRequest* r : finished) {
      std::function<void(Status)> on_done = std::move(r->on_done);
      Status result = r->result;
      delete r;
      on_done(result);
    }
    lock.lock();
    if (run.committing) return;  // another thread leads now; it drains what is queued
  }
}

void SagaExecutor::CommitLogAsync(std::shared_ptr<SagaRun> run, std::vector<SagaEvent> events, uint32_t attempt,
                                  std::function<void(Status)> then) {
  auto req = std::make_unique<CommitRequest>();
  req->events = events;
  req->on_done = [this, run, events = std::move(events), attempt, then = std::move(then)](Status st) mutable {
    if (st.ok() || !st.IsRetryable() || attempt >= options_.log_retry.max_attempts) return then(st);
    {
      std::lock_guard lock(mu_);
      stats_.log_retries++;
    }
    pool_.Submit([this, run, events = std::move(events), attempt, then = std::move(then)]() mutable {
      std::this_thread::sleep_for(options_.log_retry.Backoff(attempt + 1));
      CommitLogAsync(run, std::move(events), attempt + 1, std::move(then));
    });
  };
  CommitAsync(*run, std::move(req));
}

Status SagaExecutor::CommitLog(SagaRun& run, std::vector<SagaEvent> events, std::optional<SagaRecord> record) {
  for (uint32_t attempt = 1;; ++attempt) {
    CommitRequest req;
    req.events = events;
    req.record = record;
    Status st = Commit(run, &req);
    if (st.ok() || !st.IsRetryable() || attempt >= options_.log_retry.max_attempts) return st;
    {
      std::lock_guard lock(mu_);
      stats_.log_retries++;
    }
    std::this_thread::sleep_for(options_.log_retry.Backoff(attempt + 1));
  }
}

}  // namespace sagadb
