#include "recovery/recovery.h"

#include <fmt/format.h>

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

// Why the saga cannot be resumed, or "" if it can.
std::string Unresumable(const SagaRecord& record, const ActionRegistry& registry) {
  for (const DagNode& n : record.nodes) {
    if (n.kind == NodeKind::kAction && registry.Find(n.action) == nullptr) {
      return fmt::format("node {} names unknown action \"{}\"", n.name, n.action);
    }
  }
  return "";
}

}  // namespace

std::string RecoveryReport::Summary() const {
  return fmt::format(
      "recovery: scanned {} sagas in flight; resumed {} forward, {} unwinding, {} paused; marked {} stuck; {} "
      "unreadable; ended {} succeeded, {} failed, {} paused, {} stuck, {} halted; load {:.3f}s, finish {:.3f}s",
      scanned, resumed_forward.size(), resumed_unwinding.size(), retried_paused.size(), marked_stuck.size(),
      unreadable.size(), finished_succeeded.size(), finished_failed.size(), finished_paused.size(),
      finished_stuck.size(), halted.size(), load_seconds, finish_seconds) +
         (paused_left.empty() ? std::string() : fmt::format("; {} paused left as they are", paused_left.size())) +
         (indexed > 0 ? fmt::format(" (first built the saga index of {} sagas in {:.3f}s)", indexed, index_seconds)
                      : std::string());
}

Status RecoverSagas(SagaExecutor& executor, const ActionRegistry& registry, RecoveryReport* report,
                    std::vector<SagaHandle>* handles, bool retry_paused) {
  const auto start = SteadyClock::now();
  const SagaLog& log = executor.log();
  struct Pending {
    SagaRecord record;
    SagaHistory history;
  };
  std::vector<Pending> resumable;
  std::vector<Uuid> paused;

  // The in-flight entries of the index name every saga that may need resuming (they are written with the
  // records), so the cost of this loop is the sagas in flight, not the history.
  IndexCursor active(*log.store(), IndexCursor::kActive);
  for (active.SeekToFirst(); active.Valid(); active.Next()) {
    report->scanned++;
    const SagaState indexed = active.entry().state;
    if (indexed == SagaState::kPaused && retry_paused) paused.push_back(active.id());
    if (indexed != SagaState::kRunning && indexed != SagaState::kUnwinding) continue;
    auto read = log.ReadRecord(active.id());
    if (!read.ok()) {
      if (read.status().IsNotFound()) {
        report->unreadable.push_back(
            fmt::format("saga_index/{}: indexed as in flight but has no record", active.id().ToString()));
      } else if (read.status().code() == Code::kCorruption) {
        report->unreadable.push_back(read.status().message());
      } else {
        return read.status();
      }
      continue;
    }
    const SagaRecord& record = *read;
    if (record.state != SagaState::kRunning && record.state != SagaState::kUnwinding) continue;

    std::string reason = Unresumable(record, registry);
    SagaHistory history;
    if (reason.empty()) {
      auto events = log.ReadEvents(record.id);
      auto replayed = events.ok() ? ReplaySagaLog(record, *events) : Result<SagaHistory>(events.status());
      if (replayed.ok()) {
        auto state = StateFromLog(record, *replayed);
        if (state.ok()) {
          history = std::move(*replayed);
        } else {
          reason = state.status().message();
        }
      } else {
        reason = replayed.status().message();
      }
    }
    if (!reason.empty()) {
      SAGADB_RETURN_IF_ERROR(log.MarkStuck(record, reason));
      report->marked_stuck.push_back(record.id);
      report->stuck_reasons.push_back(reason);
      continue;
    }
    resumable.push_back(Pending{record, std::move(history)});
  }
  SAGADB_RETURN_IF_ERROR(active.status());
  if (active.malformed() > 0) report->unreadable.push_back(active.first_malformed());
  report->load_seconds = SecondsSince(start);

  for (Pending& p : resumable) {
    const Uuid id = p.record.id;
    const bool unwinding = p.history.first_failed >= 0 || p.history.cancelled;
    auto handle = executor.Resume(std::move(p.record), p.history);
    if (!handle.ok()) {
      // Validation passed but the executor refused it (a damaged DAG, say): the saga needs an operator.
      auto again = log.ReadRecord(id);
      if (again.ok()) SAGADB_RETURN_IF_ERROR(log.MarkStuck(*again, handle.status().message()));
      report->marked_stuck.push_back(id);
      report->stuck_reasons.push_back(handle.status().message());
      continue;
    }
    (unwinding ? report->resumed_unwinding : report->resumed_forward).push_back(id);
    handles->push_back(*handle);
  }
  // Paused sagas: what made their undo fail may have passed. Each retry is an operator event of the open's.
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
    logger->Log(report->marked_stuck.empty() && report->unreadable.empty() ? LogLevel::kInfo : LogLevel::kWarning,
                report->Summary());
  }
  return Status::OK();
}

}  // namespace sagadb
