#include "sagas/executor.h"

#include <fmt/format.h>

#include "base/clock.h"
#include "sagas/scheduler.h"

#include <vector>

namespace sagadb {
namespace {

Result<Json> ParseJson(const std::string& text, std::string_view what) {
  if (text.empty()) return Json();
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Corruption(fmt::format("{} is not valid JSON", what));
  return j;
}

bool IsAction(const DagNode& n) { return n.kind == NodeKind::kAction; }

}  // namespace

// ---------------------------------------------------------------------------------------------- handle

const Uuid& SagaHandle::id() const { return run_->id(); }

bool SagaHandle::Done() const {
  MutexLock lock(&run_->mu);
  return run_->complete;
}

Result<SagaResult> SagaHandle::Wait() const {
  MutexLock lock(&run_->mu);
  while (!run_->complete) run_->done_cv.Wait();
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

SagaExecutor::SagaExecutor(Store* store, KeyLocks* locks, const ActionRegistry* registry, ExecutorOptions options,
                           Logger* logger)
    : store_(store),
      registry_(registry),
      options_(options),
      log_(store),
      driver_(this, store, locks, &options_, &pool_, &counters_),
      pool_(options.threads) {
  counters_.metrics.IndexActions(*registry);
}

SagaExecutor::~SagaExecutor() { Shutdown(); }

void SagaExecutor::Shutdown() {
  std::vector<std::shared_ptr<SagaRun>> runs;
  {
    MutexLock lock(&mu_);
    shutting_down_ = true;
    stop_.store(true, std::memory_order_release);
    admission_cv_.SignalAll();
    for (auto& [id, run] : runs_) runs.push_back(run);
  }
  // A step waiting out a backoff sees the stop now instead of when its delay ends.
  pool_.Expedite();
  // Each run notices the stop once its steps in flight end, and completes (halted) with none left.
  for (auto& run : runs) driver_.Kick(run);
  MutexLock lock(&mu_);
  while (!runs_.empty()) idle_cv_.Wait();
}

void SagaExecutor::WaitIdle() {
  MutexLock lock(&mu_);
  while (!runs_.empty()) idle_cv_.Wait();
}

size_t SagaExecutor::in_flight() const {
  MutexLock lock(&mu_);
  return in_flight_;
}

ExecutorStats SagaExecutor::stats() const { return counters_.Snapshot(); }

void SagaExecutor::SetFaultPlan(std::shared_ptr<FaultPlan> plan) {
  MutexLock lock(&mu_);
  faults_ = std::move(plan);
}

std::shared_ptr<FaultPlan> SagaExecutor::faults() const {
  MutexLock lock(&mu_);
  return faults_;
}

Status SagaExecutor::Admit(const StartOptions& options) {
  MutexLock lock(&mu_);
  if (!shutting_down_ && in_flight_ >= options_.max_in_flight && options.admission_wait) {
    const auto deadline = std::chrono::steady_clock::now() + *options.admission_wait;
    while (!shutting_down_ && in_flight_ >= options_.max_in_flight && admission_cv_.WaitUntil(deadline)) {
    }
  }
  if (shutting_down_) return Status::InvalidRequest("the executor is shutting down");
  if (in_flight_ >= options_.max_in_flight) {
    counters_.rejected++;
    return Status::Overloaded(fmt::format("{} sagas are in flight, the limit; try again later", in_flight_));
  }
  in_flight_++;
  return Status::OK();
}

void SagaExecutor::Release() {
  MutexLock lock(&mu_);
  in_flight_--;
  admission_cv_.Signal();
  if (runs_.empty() && in_flight_ == 0) idle_cv_.SignalAll();
}

SagaExecutor::Tracked SagaExecutor::Track(const std::shared_ptr<SagaRun>& run, bool resumed,
                                          std::shared_ptr<SagaRun>* existing) {
  MutexLock lock(&mu_);
  if (shutting_down_) return Tracked::kShuttingDown;
  auto [it, added] = runs_.try_emplace(run->id(), run);
  if (!added) {
    if (existing != nullptr) *existing = it->second;
    return Tracked::kTaken;
  }
  if (resumed) in_flight_++;
  (resumed ? counters_.resumed : counters_.started)++;
  counters_.metrics.Started(run->kind_metrics, resumed);
  return Tracked::kYes;
}

void SagaExecutor::Untrack(const std::shared_ptr<SagaRun>& run) {
  MutexLock lock(&mu_);
  auto it = runs_.find(run->id());
  if (it != runs_.end() && it->second == run) {
    runs_.erase(it);
    counters_.started--;
    counters_.metrics.Unstarted(run->kind_metrics);
  }
  if (runs_.empty() && in_flight_ == 0) idle_cv_.SignalAll();
}

namespace {

Status NotTheSameSaga(const SagaRecord& mine, const SagaRecord& theirs) {
  return Status::Conflict(fmt::format(
      "saga {} exists already as another saga ({} with other params); a saga's id names one saga", theirs.id.ToString(),
      theirs.kind == mine.kind ? "a " + theirs.kind : "kind " + theirs.kind));
}

}  // namespace

Result<SagaHandle> SagaExecutor::StartedBefore(const std::shared_ptr<SagaRun>& run,
                                               const std::shared_ptr<SagaRun>& existing) {
  SagaRecord theirs;
  {
    MutexLock lock(&existing->mu);
    theirs.id = existing->record.id;
    theirs.kind = existing->record.kind;
    theirs.params = existing->record.params;
  }
  MutexLock lock(&run->mu);
  if (theirs.kind != run->record.kind || theirs.params != run->record.params) return NotTheSameSaga(run->record, theirs);
  return SagaHandle(existing);
}

Result<SagaHandle> SagaExecutor::StartedBefore(const std::shared_ptr<SagaRun>& run, const SagaRecord& existing) {
  {
    MutexLock lock(&run->mu);
    if (existing.kind != run->record.kind || existing.params != run->record.params) {
      return NotTheSameSaga(run->record, existing);
    }
  }
  // Its handle says what the log says: its end, or, for a saga this process does not run (one that halted
  // here), that the next open resumes it.
  SAGADB_ASSIGN_OR_RETURN(Json params, ParseJson(existing.params, "saga params"));
  SAGADB_ASSIGN_OR_RETURN(auto done, NewRun(existing, std::move(params), 0));
  MutexLock lock(&done->mu);
  done->complete = true;
  const SagaRecord& r = existing;  // what `done` holds (the analysis cannot follow an alias of done->record)
  if (r.state == SagaState::kRunning || r.state == SagaState::kUnwinding) {
    done->halted = Status::InvalidRequest("it is not running in this process");
    return SagaHandle(done);
  }
  SagaResult result;
  result.id = r.id;
  result.state = r.state;
  if (r.state == SagaState::kSucceeded && !r.output.empty()) {
    SAGADB_ASSIGN_OR_RETURN(result.output, ParseJson(r.output, "saga output"));
  }
  if (r.error_node >= 0 && static_cast<size_t>(r.error_node) < done->qualified_names.size()) {
    result.error_node = done->qualified_names[r.error_node];
  }
  if (r.state != SagaState::kSucceeded) result.error = Status::FromCode(r.error_code, r.error);
  done->result = std::move(result);
  return SagaHandle(done);
}

// ---------------------------------------------------------------------------------------------- start / resume

Result<std::shared_ptr<SagaRun>> SagaExecutor::NewRun(SagaRecord record, Json params, uint64_t next_seq) {
  const size_t n = record.nodes.size();
  if (record.scopes.empty()) return Status::Corruption("saga record has no scopes");
  std::vector<const ActionDef*> actions(n, nullptr);
  std::vector<std::vector<uint32_t>> children(n);
  std::vector<std::string> names;
  names.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    const DagNode& node = record.nodes[i];
    names.push_back(QualifiedName(record.nodes, record.scopes, i));
    if (node.scope >= record.scopes.size()) return Status::Corruption(fmt::format("node {} names no scope", i));
    for (uint32_t d : node.deps) {
      // Dependencies always point backwards: the DAG is stored in a topological order.
      if (d >= i) return Status::Corruption(fmt::format("node {} depends on node {}, not an earlier one", i, d));
      children[d].push_back(i);
    }
    if (IsAction(node)) {
      actions[i] = registry_->Find(node.action);
      if (actions[i] == nullptr) {
        return Status::InvalidRequest(
            fmt::format("saga {} node {} names unknown action \"{}\"", record.kind, names[i], node.action));
      }
    } else if (node.kind != NodeKind::kConstant && (node.link < 0 || static_cast<uint32_t>(node.link) >= i)) {
      return Status::Corruption(fmt::format("subsaga node {} links to node {}", i, node.link));
    }
  }
  const size_t scopes = record.scopes.size();
  SagaMetrics::Kind* const kind_metrics = counters_.metrics.ForKind(record.kind);
  auto run = std::make_shared<SagaRun>(std::move(record), std::move(params), &log_, next_seq);
  run->kind_metrics = kind_metrics;
  run->actions = std::move(actions);
  run->children = std::move(children);
  run->qualified_names = std::move(names);
  run->nodes.resize(n);
  run->scope_params.assign(scopes, NullJson());
  run->scope_params[0] = std::make_shared<const Json>(run->params);
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
  SAGADB_ASSIGN_OR_RETURN(auto run, NewRun(std::move(record), std::move(params), 1));
  SAGADB_RETURN_IF_ERROR(Admit(options));
  {
    MutexLock lock(&run->mu);
    run->record_durable = false;  // its first round creates it
  }
  std::shared_ptr<SagaRun> existing;
  std::optional<Result<SagaRecord>> before;
  {
    // Starts take turns from the claim of their id to the look in the log, so that a run another caller finds
    // under an id has always passed that look (one that found its id in the log is never seen). Only a caller's
    // id is looked up: a new random one is not in the log.
    MutexLock turn(&start_ids_mu_);
    switch (Track(run, /*resumed=*/false, &existing)) {
      case Tracked::kYes:
        break;
      case Tracked::kShuttingDown:
        Release();
        return Status::InvalidRequest("the executor is shutting down");
      case Tracked::kTaken:
        break;
    }
    if (!existing && options.id) {
      // The id is this run's now: no other Start of it can write until it ends. A saga that had it before is in
      // the log, and is never overwritten.
      auto found = log_.ReadRecord(*options.id);
      if (found.ok() || !found.status().IsNotFound()) {
        Untrack(run);
        before = std::move(found);
      }
    }
  }
  if (existing) {
    Release();
    return StartedBefore(run, existing);
  }
  if (before) {
    Release();
    if (!before->ok()) return before->status();
    return StartedBefore(run, **before);
  }
  // The first round runs here, so a saga whose steps are all local may be done before Start returns.
  driver_.Kick(run);
  MutexLock lock(&run->mu);
  while (!run->first_round_done) run->done_cv.Wait();
  if (!run->first_round.ok()) return run->first_round;  // nothing of it was written
  return SagaHandle(run);
}

Result<SagaResult> SagaExecutor::Run(const SagaDag& dag, Json params, const StartOptions& options) {
  SAGADB_ASSIGN_OR_RETURN(SagaHandle handle, Start(dag, std::move(params), options));
  return handle.Wait();
}

Result<SagaHandle> SagaExecutor::Resume(SagaRecord record, const SagaHistory& history) {
  SAGADB_ASSIGN_OR_RETURN(auto run, PrepareResume(std::move(record), history));
  return Launch(run);
}

Result<std::shared_ptr<SagaRun>> SagaExecutor::PrepareResume(SagaRecord record, const SagaHistory& history) {
  SAGADB_ASSIGN_OR_RETURN(Json params, ParseJson(record.params, "saga params"));
  if (history.nodes.size() != record.nodes.size()) return Status::Internal("history does not match the saga");
  if (history.undo_failed >= 0) return Status::Corruption("a saga with a failed undo is stuck, not resumable");
  SAGADB_ASSIGN_OR_RETURN(auto run, NewRun(std::move(record), std::move(params), history.next_seq));
  {
    MutexLock lock(&run->mu);
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
          SAGADB_ASSIGN_OR_RETURN(Json output, ParseJson(h.output, fmt::format("output of node {}", i)));
          n.output = std::make_shared<const Json>(std::move(output));
          n.status = h.status == LoggedStatus::kUndone       ? NodeStatus::kUndone
                     : h.status == LoggedStatus::kUndoFailed ? NodeStatus::kUndoFailed
                                                             : NodeStatus::kSucceeded;
          n.started_logged = true;
          n.undo_started_logged = h.status == LoggedStatus::kUndoStarted;
          break;
        }
      }
    }
    // Resolve constant and subsaga nodes whose dependencies have (at some point) succeeded, as they were when
    // those ran: an undone dependency still gave its output. Indexes are a topological order.
    std::vector<NodeStatus> actual(rec.nodes.size());
    for (uint32_t i = 0; i < rec.nodes.size(); ++i) {
      actual[i] = run->nodes[i].status;
      if (actual[i] == NodeStatus::kUndone || actual[i] == NodeStatus::kUndoFailed) {
        run->nodes[i].status = NodeStatus::kSucceeded;
      }
    }
    ResolvePseudoNodes(*run);
    for (uint32_t i = 0; i < rec.nodes.size(); ++i) {
      if (IsAction(rec.nodes[i])) run->nodes[i].status = actual[i];
    }
    if (history.first_failed >= 0 || history.cancelled) {
      run->mode = SagaState::kUnwinding;
      run->failing = true;
      rec.state = SagaState::kUnwinding;
      if (rec.error_node < 0 && rec.error_code == 0) {
        if (history.first_failed >= 0) {
          const NodeHistory& f = history.nodes[history.first_failed];
          rec.error_node = history.first_failed;
          rec.error_code = f.error_code;
          rec.error = f.error;
        } else {
          rec.error_code = static_cast<uint8_t>(Code::kCancelled);
          rec.error = history.cancel_error;
        }
      }
    } else {
      run->mode = SagaState::kRunning;
      rec.state = SagaState::kRunning;
    }
  }
  {
    MutexLock lock(&run->mu);
    run->first_round_done = true;  // it was written long ago
  }
  return run;
}

Result<SagaHandle> SagaExecutor::Launch(const std::shared_ptr<SagaRun>& run) {
  switch (Track(run, /*resumed=*/true)) {
    case Tracked::kYes:
      break;
    case Tracked::kShuttingDown:
      return Status::InvalidRequest("the executor is shutting down");
    case Tracked::kTaken:
      return Status::Internal(fmt::format("saga {} is resumed twice", run->id().ToString()));
  }
  pool_.Submit([this, run] { driver_.Kick(run); });
  return SagaHandle(run);
}

// ---------------------------------------------------------------------------------------------- completion

void SagaExecutor::Complete(const std::shared_ptr<SagaRun>& run, std::optional<SagaResult> result) {
  if (!result && !run->halted) run->halted = Status::InvalidRequest("the executor shut down");
  run->complete = true;
  run->result = std::move(result);
  run->done_cv.SignalAll();
  if (run->halted) {
    counters_.halted++;
  } else if (run->result->state == SagaState::kSucceeded) {
    counters_.succeeded++;
  } else if (run->result->state == SagaState::kFailed) {
    counters_.failed++;
  } else if (run->result->state == SagaState::kPaused) {
    counters_.paused++;
  } else {
    counters_.stuck++;
  }
  counters_.metrics.Completed(run->kind_metrics, run->halted ? nullptr : &*run->result, run->record.created_ns);
  MutexLock lock(&mu_);
  runs_.erase(run->id());
  in_flight_--;
  admission_cv_.Signal();
  if (runs_.empty()) idle_cv_.SignalAll();
}

}  // namespace sagadb
