#include "recovery/recovery.h"

#include <chrono>
#include <cstdio>

#include "engine/clock.h"
#include "sagas/saga_log.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// Marks the saga stuck with the reason, in one synced write. The log is left as it is for the operator.
Status MarkStuck(Store& store, SagaRecord record, const std::string& reason) {
  record.state = SagaState::kStuck;
  record.error_code = static_cast<uint8_t>(Code::kCorruption);
  record.error = "recovery: " + reason;
  record.modified_ns = record.finished_ns = NowNs();
  record.generation++;
  rocksdb::WriteBatch batch;
  batch.Put(store.handle(Cf::kSagas), record.id.AsBytes(), Encode(record));
  return store.Write(&batch);
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
      "recovery: scanned {} sagas; resumed {} forward, {} unwinding; marked {} stuck; {} unreadable; ended {} "
      "succeeded, {} failed, {} stuck, {} halted; load {:.3f}s, finish {:.3f}s",
      scanned, resumed_forward.size(), resumed_unwinding.size(), marked_stuck.size(), unreadable.size(),
      finished_succeeded.size(), finished_failed.size(), finished_stuck.size(), halted.size(), load_seconds,
      finish_seconds);
}

Status RecoverSagas(Store& store, SagaExecutor& executor, const ActionRegistry& registry, RecoveryReport* report,
                    std::vector<SagaHandle>* handles) {
  const auto start = SteadyClock::now();
  struct Pending {
    SagaRecord record;
    SagaHistory history;
  };
  std::vector<Pending> resumable;

  auto it = store.NewIterator(Cf::kSagas);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    report->scanned++;
    SagaRecord record;
    std::string why;
    if (!Decode(it->value().ToStringView(), &record, &why)) {
      auto id = Uuid::FromBytes(it->key().ToStringView());
      report->unreadable.push_back(fmt::format("sagas/{}: {}", id ? id->ToString() : "?", why));
      continue;
    }
    if (record.state != SagaState::kRunning && record.state != SagaState::kUnwinding) continue;

    std::string reason = Unresumable(record, registry);
    SagaHistory history;
    if (reason.empty()) {
      auto events = ReadSagaEvents(store, record.id);
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
      SAGADB_RETURN_IF_ERROR(MarkStuck(store, record, reason));
      report->marked_stuck.push_back(record.id);
      report->stuck_reasons.push_back(reason);
      continue;
    }
    resumable.push_back(Pending{std::move(record), std::move(history)});
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning sagas");
  report->load_seconds = SecondsSince(start);

  for (Pending& p : resumable) {
    const Uuid id = p.record.id;
    const bool unwinding = p.history.first_failed >= 0;
    auto handle = executor.Resume(std::move(p.record), p.history);
    if (!handle.ok()) {
      // Validation passed but the executor refused it (a damaged DAG, say): the saga needs an operator.
      auto bytes = store.Get(Cf::kSagas, id.AsBytes());
      SagaRecord again;
      std::string why;
      if (bytes.ok() && Decode(*bytes, &again, &why)) {
        SAGADB_RETURN_IF_ERROR(MarkStuck(store, again, handle.status().message()));
      }
      report->marked_stuck.push_back(id);
      report->stuck_reasons.push_back(handle.status().message());
      continue;
    }
    (unwinding ? report->resumed_unwinding : report->resumed_forward).push_back(id);
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
    } else {
      report->finished_stuck.push_back(h.id());
    }
  }
  report->finish_seconds += SecondsSince(start);
}

}  // namespace sagadb

namespace sagadb {

Status RecoverAtOpen(Store& store, SagaExecutor& executor, const ActionRegistry& registry, bool wait,
                     const std::function<void(std::string_view)>& log, RecoveryReport* report) {
  std::vector<SagaHandle> handles;
  SAGADB_RETURN_IF_ERROR(RecoverSagas(store, executor, registry, report, &handles));
  if (wait) WaitForRecoveredSagas(handles, report);
  if (!report->empty() || !report->unreadable.empty()) {
    const std::string line = report->Summary();
    if (log) {
      log(line);
    } else {
      std::fprintf(stderr, "sagadb: %s\n", line.c_str());
    }
  }
  return Status::OK();
}

}  // namespace sagadb
