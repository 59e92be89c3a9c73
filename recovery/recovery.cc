#include "recovery/recovery.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>

#include "log/replay.h"
#include "log/saga_index.h"
#include "log/saga_log.h"

namespace sagadb {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// The actions of the saga's DAG that the registry does not know, each once, in DAG order.
std::vector<std::string> UnknownActionsOf(const SagaRecord& record, const ActionRegistry& registry) {
  std::vector<std::string> unknown;
  for (const DagNode& n : record.nodes) {
    if (n.kind != NodeKind::kAction || registry.Find(n.action) != nullptr) continue;
    if (std::find(unknown.begin(), unknown.end(), n.action) == unknown.end()) unknown.push_back(n.action);
  }
  return unknown;
}

// Recovery may resume a saga in this state (or find it damaged).
bool Resumable(SagaState state) { return state == SagaState::kRunning || state == SagaState::kUnwinding; }

// At most this many sagas are named in a description; the rest are counted.
constexpr size_t kNamedSagas = 8;

}  // namespace

std::string DescribeUnknownActions(const std::vector<UnknownActionSaga>& sagas) {
  std::string out;
  for (size_t i = 0; i < sagas.size() && i < kNamedSagas; ++i) {
    const UnknownActionSaga& s = sagas[i];
    out += fmt::format("{}saga {} ({}) needs {}", i == 0 ? "" : "; ", s.id.ToString(), s.kind,
                       fmt::join(s.actions, ", "));
  }
  if (sagas.size() > kNamedSagas) out += fmt::format("; and {} more", sagas.size() - kNamedSagas);
  return out;
}

std::string RecoveryReport::Summary() const {
  std::string summary = fmt::format(
      "recovery: scanned {} sagas in flight; resumed {} forward, {} unwinding, {} paused; marked {} stuck; {} "
      "unreadable; ended {} succeeded, {} failed, {} paused, {} stuck, {} halted; load {:.3f}s, finish {:.3f}s",
      scanned, resumed_forward.size(), resumed_unwinding.size(), retried_paused.size(), marked_stuck.size(),
      unreadable.size(), finished_succeeded.size(), finished_failed.size(), finished_paused.size(),
      finished_stuck.size(), halted.size(), load_seconds, finish_seconds);
  if (!paused_left.empty()) summary += fmt::format("; {} paused left as they are", paused_left.size());
  if (indexed > 0) summary += fmt::format(" (first built the saga index of {} sagas in {:.3f}s)", indexed, index_seconds);
  if (!left_unknown.empty()) {
    summary += fmt::format("; left {} saga{} as {} (this program does not know {} actions: {}; a program that "
                           "registers them resumes {})",
                           left_unknown.size(), left_unknown.size() == 1 ? "" : "s",
                           left_unknown.size() == 1 ? "it is" : "they are", left_unknown.size() == 1 ? "its" : "their",
                           DescribeUnknownActions(left_unknown), left_unknown.size() == 1 ? "it" : "them");
  }
  return summary;
}

Result<std::vector<UnknownActionSaga>> FindUnknownActions(Store& store, const ActionRegistry& registry) {
  std::vector<UnknownActionSaga> found;
  if (!store.HasTable(kSagaIndexTable)) return found;  // an older database: its first open builds the index
  const SagaLog log(&store);
  IndexCursor active(store, IndexCursor::kActive);
  for (active.SeekToFirst(); active.Valid(); active.Next()) {
    if (!Resumable(active.entry().state)) continue;
    auto record = log.ReadRecord(active.id());
    if (!record.ok()) {
      if (record.status().IsNotFound() || record.status().code() == Code::kCorruption) continue;  // recovery's to tell
      return record.status();
    }
    if (!Resumable(record->state)) continue;
    auto unknown = UnknownActionsOf(*record, registry);
    if (!unknown.empty()) found.push_back(UnknownActionSaga{record->id, record->kind, std::move(unknown)});
  }
  SAGADB_RETURN_IF_ERROR(active.status());
  return found;
}

Status RecoverSagas(SagaExecutor& executor, const ActionRegistry& registry, RecoveryReport* report,
                    std::vector<SagaHandle>* handles, bool retry_paused) {
  const auto start = SteadyClock::now();
  const SagaLog& log = executor.log();
  struct Prepared {
    std::shared_ptr<SagaRun> run;
    bool unwinding = false;
  };
  struct Damaged {
    SagaRecord record;
    std::string reason;
  };
  std::vector<Prepared> prepared;
  std::vector<Damaged> damaged;
  // Only a proof that THIS saga is damaged (its log is impossible, its bytes fail verification, the executor
  // finds its record unusable: all Corruption) makes it stuck. Any other error proves nothing about the saga (a
  // device that failed a read, a refusal for a passing reason): it fails the open, and since nothing has been
  // written yet, the database is left as it was.
  auto judge = [&](const SagaRecord& record, const Status& error) -> Status {
    if (error.code() != Code::kCorruption) return error;
    damaged.push_back(Damaged{record, error.message()});
    return Status::OK();
  };
  std::vector<Uuid> paused;

  // 1. Read and judge every saga in flight, writing nothing. The in-flight entries of the index name every saga
  // that may need resuming (they are written with the records), so this costs the sagas in flight, not the
  // history.
  IndexCursor active(*log.store(), IndexCursor::kActive);
  for (active.SeekToFirst(); active.Valid(); active.Next()) {
    report->scanned++;
    if (active.entry().state == SagaState::kPaused && retry_paused) paused.push_back(active.id());
    if (!Resumable(active.entry().state)) continue;
    auto read = log.ReadRecord(active.id());
    if (!read.ok()) {
      if (read.status().IsNotFound()) {
        report->unreadable.push_back(
            fmt::format("saga_index/{}: indexed as in flight but has no record", active.id().ToString()));
      } else if (read.status().code() == Code::kCorruption) {
        report->unreadable.push_back(read.status().message());  // no record to mark: left as it is
      } else {
        return read.status();
      }
      continue;
    }
    const SagaRecord& record = *read;
    if (!Resumable(record.state)) continue;
    if (auto unknown = UnknownActionsOf(record, registry); !unknown.empty()) {
      // Another program's saga (or one whose actions this version lost): not this program's to run or to judge.
      // Left exactly as it is; the open says so, and a program that registers the actions resumes it.
      report->left_unknown.push_back(UnknownActionSaga{record.id, record.kind, std::move(unknown)});
      continue;
    }
    auto events = log.ReadEvents(record.id);
    if (!events.ok()) {
      SAGADB_RETURN_IF_ERROR(judge(record, events.status()));
      continue;
    }
    auto history = ReplaySagaLog(record, *events);
    Result<SagaState> state = history.ok() ? StateFromLog(record, *history) : Result<SagaState>(history.status());
    if (!state.ok()) {
      SAGADB_RETURN_IF_ERROR(judge(record, state.status()));
      continue;
    }
    const bool unwinding = history->first_failed >= 0 || history->cancelled;
    auto run = executor.PrepareResume(record, *history);
    if (!run.ok()) {
      SAGADB_RETURN_IF_ERROR(judge(record, run.status()));
      continue;
    }
    prepared.push_back(Prepared{std::move(*run), unwinding});
  }
  SAGADB_RETURN_IF_ERROR(active.status());
  if (active.malformed() > 0) report->unreadable.push_back(active.first_malformed());
  report->load_seconds = SecondsSince(start);

  // 2. The stuck marks, recovery's only writes of its own; its log stays as it is, for an operator.
  for (const Damaged& d : damaged) {
    SAGADB_RETURN_IF_ERROR(log.MarkStuck(d.record, d.reason));
    report->marked_stuck.push_back(d.record.id);
    report->stuck_reasons.push_back(d.reason);
  }

  // 3. Resume the others.
  for (const Prepared& p : prepared) {
    SAGADB_ASSIGN_OR_RETURN(SagaHandle handle, executor.Launch(p.run));
    (p.unwinding ? report->resumed_unwinding : report->resumed_forward).push_back(handle.id());
    handles->push_back(std::move(handle));
  }
  // 4. Paused sagas: what made their undo fail may have passed. Each retry is an operator event of the open's.
  for (const Uuid& id : paused) {
    auto handle = executor.ResumeSaga(id, OperatorRequest{"sagadb", "retried at open"});
    if (!handle.ok()) {
      if (handle.status().code() != Code::kInvalidRequest) return handle.status();
      report->paused_left.push_back(fmt::format("{}: {}", id.ToString(), handle.status().message()));
      continue;
    }
    report->retried_paused.push_back(id);
    handles->push_back(*handle);
  }
  report->finish_seconds = SecondsSince(start);
  return Status::OK();
}

void WaitForRecoveredSagas(const std::vector<SagaHandle>& handles, RecoveryReport* report) {
  const auto start = SteadyClock::now();
  for (const SagaHandle& h : handles) {
    auto r = h.Wait();
    if (!r.ok()) {
      report->halted.push_back(h.id());
    } else if (r->state == SagaState::kSucceeded) {
      report->finished_succeeded.push_back(h.id());
    } else if (r->state == SagaState::kFailed) {
      report->finished_failed.push_back(h.id());
    } else if (r->state == SagaState::kPaused) {
      report->finished_paused.push_back(h.id());
    } else {
      report->finished_stuck.push_back(h.id());
    }
  }
  report->finish_seconds += SecondsSince(start);
}

Status RecoverAtOpen(SagaExecutor& executor, const ActionRegistry& registry, bool wait, bool retry_paused,
                     Logger* logger, RecoveryReport* report) {
  std::vector<SagaHandle> handles;
  SAGADB_RETURN_IF_ERROR(RecoverSagas(executor, registry, report, &handles, retry_paused));
  if (wait) WaitForRecoveredSagas(handles, report);
  if (logger != nullptr && (!report->empty() || !report->unreadable.empty())) {
    const bool warn = !report->marked_stuck.empty() || !report->unreadable.empty() || !report->left_unknown.empty();
    logger->Log(warn ? LogLevel::kWarning : LogLevel::kInfo, report->Summary());
  }
  return Status::OK();
}

}  // namespace sagadb
