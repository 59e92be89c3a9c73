// Check's pass over the saga log (log/saga_log_walk.h walks it; this decides what is wrong): invariants 4 and 5,
// the index against the records, the notes on stuck and abandoned sagas, and the footprints of the sagas in
// flight.
#include <fmt/format.h>

#include "controlplane/check_state.h"
#include "controlplane/footprint.h"
#include "log/saga_index.h"
#include "log/saga_log_walk.h"

namespace sagadb::check_internal {
namespace {

using check_kind::kCorruption;
using check_kind::kSagaIndex;
using check_kind::kSagaLog;

bool Unfinished(SagaState st) { return st == SagaState::kRunning || st == SagaState::kUnwinding; }

class SagaChecker : public SagaLogVisitor {
 public:
  explicit SagaChecker(CheckState& s) : s_(s) {}

  void Saga(const WalkedSaga& w) override {
    s_.report->sagas++;
    CheckLog(w);
    if (has_index_) CheckIndexed(w);
    Classify(w.record);
  }

  void UnreadableRecord(const std::optional<Uuid>& id, const std::string& message) override {
    s_.Violation(kCorruption, {id ? id->ToString() : ""}, message);
  }

  void MalformedKey(std::string_view table, std::string_view key, const std::string& message) override {
    s_.Violation(kCorruption, {key.empty() ? std::string(table) : Printable(key)}, message);
  }

  void EventsWithoutRecord(const Uuid& saga) override {
    s_.Violation(kSagaLog, {saga.ToString()},
                 fmt::format("saga_events hold events of saga {}, which has no readable record", saga.ToString()));
  }

  void InFlightEntryWithoutRecord(const Uuid& saga, const SagaIndexEntry& e) override {
    s_.Violation(kSagaIndex, {saga.ToString()},
                 fmt::format("saga_index lists saga {} as in flight ({}), but it has no record", saga.ToString(),
                             ToString(e.state)));
  }

  void StaleFinishedEntry(const Uuid& saga, int64_t finished_ns, const SagaHeader* record) override {
    const std::string sid = saga.ToString();
    s_.Violation(kSagaIndex, {sid},
                 record == nullptr
                     ? fmt::format("saga_index lists saga {} as finished at {}, but it has no record", sid, finished_ns)
                     : fmt::format("saga_index lists saga {} as finished at {}, but its record is {} (finished at {})",
                                   sid, finished_ns, ToString(record->state), FinishTime(*record)));
  }

  void ReadError(const Status& status) override { s_.Violation(kCorruption, {}, status.ToString()); }

  void Run() {
    has_index_ = s_.store->HasTable(kSagaIndexTable) && s_.store->schema_version() >= 2;
    WalkSagaLog(*s_.store, s_.snap, has_index_, this);
    if (!has_index_) {
      s_.Note(kSagaIndex, {},
              fmt::format("the database is at schema version {} and has no saga index yet: its next read-write "
                          "open builds it (the index was not checked)",
                          s_.store->schema_version()));
    }
  }

 private:
  // Invariant 4: the saga's events replay legally and agree with its record.
  void CheckLog(const WalkedSaga& w) {
    const SagaRecord& rec = w.record;
    const std::string sid = rec.id.ToString();
    if (!w.events_error.empty()) {
      s_.Violation(kCorruption, {sid}, w.events_error);
    } else if (auto history = ReplaySagaLog(rec, w.events); !history.ok()) {
      s_.Violation(kSagaLog, {sid}, history.status().message());
    } else if (auto implied = StateFromLog(rec, *history); !implied.ok()) {
      s_.Violation(kSagaLog, {sid}, implied.status().message());
    } else if (*implied != rec.state && !(rec.state == SagaState::kRunning && *implied == SagaState::kUnwinding)) {
      // (A record still `running` whose log already has a failure is one commit behind its log, which recovery
      // accepts: a second node's `failed` can land just before the record's move to `unwinding`.)
      s_.Violation(kSagaLog, {sid},
                   fmt::format("saga {} ({}) is cached as {} but its log says {}", sid, rec.kind, ToString(rec.state),
                               ToString(*implied)));
    }
  }

  // The index agrees with the record: an in-flight entry, in its state, exactly while it has not finished; a
  // finished entry at its finish time once it has.
  void CheckIndexed(const WalkedSaga& w) {
    const SagaRecord& rec = w.record;
    const std::string sid = rec.id.ToString();
    if (!IsFinished(rec.state)) {
      if (!w.in_flight_entry) {
        s_.Violation(kSagaIndex, {sid},
                     fmt::format("saga {} ({}) is {} but the index does not list it as in flight: an open would "
                                 "not see it",
                                 sid, rec.kind, ToString(rec.state)));
      } else if (w.in_flight_entry->state != rec.state) {
        s_.Violation(kSagaIndex, {sid},
                     fmt::format("saga {} ({}) is {} but the index says {}", sid, rec.kind, ToString(rec.state),
                                 ToString(w.in_flight_entry->state)));
      }
      return;
    }
    if (w.in_flight_entry) {
      s_.Violation(kSagaIndex, {sid},
                   fmt::format("saga {} ({}) is {} but the index still lists it as in flight", sid, rec.kind,
                               ToString(rec.state)));
    }
    if (!w.finished_entry_error.empty()) {
      s_.Violation(kCorruption, {sid}, w.finished_entry_error);
    } else if (!w.finished_entry) {
      s_.Violation(kSagaIndex, {sid},
                   fmt::format("saga {} ({}) is {} but the index has no entry for it finishing at {}: retention "
                               "would never remove it",
                               sid, rec.kind, ToString(rec.state), FinishTime(rec)));
    } else if (w.finished_entry->state != rec.state) {
      s_.Violation(kSagaIndex, {sid},
                   fmt::format("saga {} ({}) is {} but its finished index entry says {}", sid, rec.kind,
                               ToString(rec.state), ToString(w.finished_entry->state)));
    }
  }

  // Invariant 5, the notes on stuck and abandoned sagas, and the footprints of the sagas in flight.
  void Classify(const SagaRecord& rec) {
    const std::string sid = rec.id.ToString();
    if (Unfinished(rec.state)) {
      if (s_.options.quiescent) {
        s_.Violation(check_kind::kUnfinishedSaga, {sid},
                     fmt::format("saga {} ({}) is {} while no saga is executing", sid, rec.kind, ToString(rec.state)));
      }
      Json params = Json::parse(rec.params, nullptr, /*allow_exceptions=*/false);
      SagaFootprint f = FootprintOf(rec.kind, params);
      s_.in_flight_instances.insert(f.instances.begin(), f.instances.end());
      s_.in_flight_disks.insert(f.disks.begin(), f.disks.end());
    } else if (rec.state == SagaState::kStuck || rec.state == SagaState::kAbandoned ||
               rec.state == SagaState::kPaused) {
      Json params = Json::parse(rec.params, nullptr, /*allow_exceptions=*/false);
      SagaFootprint f = FootprintOf(rec.kind, params);
      if (rec.state == SagaState::kAbandoned) {
        s_.abandoned.insert(rec.id);
        for (const Uuid& id : f.instances) s_.left_by.emplace(id, rec.id);
        for (const Uuid& id : f.disks) s_.left_by.emplace(id, rec.id);
      } else {
        // Stopped between steps, waiting for an operator: its records may be part way, as in flight.
        s_.in_flight_instances.insert(f.instances.begin(), f.instances.end());
        s_.in_flight_disks.insert(f.disks.begin(), f.disks.end());
      }
      s_.Note(check_kind::kStuckSaga, {sid},
              fmt::format("saga {} ({}) is {}: {} (an operator must resolve it)", sid, rec.kind, ToString(rec.state),
                          rec.error.empty() ? "no reason recorded" : rec.error));
    }
  }

  CheckState& s_;
  bool has_index_ = false;
};

}  // namespace

void CheckSagas(CheckState& s) { SagaChecker(s).Run(); }

}  // namespace sagadb::check_internal
