// Walking the whole saga log once, in id order, for `check`: the records merged with their events and with the
// index's in-flight entries (all three tables are in saga id order), and each finished record's finished entry
// looked up; then the finished entries once more, only if their count says some belong to no finished record.
// One saga's record and events are in memory at a time, whatever the size of the history.
//
//   class Checker : public SagaLogVisitor { ... };
//   Checker c;
//   WalkSagaLog(store, snapshot, &c);
//
// Everything that is read is handed to the visitor, damage included: a record that cannot be decoded, an event
// that cannot, keys of the wrong shape, events or index entries of sagas that have no record, finished entries
// that say another finish time than their record. The walk itself never stops at damage; a read error of the
// store is handed over too (ReadError), and ends the walk of that table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store.h"
#include "log/replay.h"
#include "schema/records.h"

namespace sagadb {

struct WalkedSaga {
  SagaRecord record;
  std::vector<LoggedEvent> events;
  std::string events_error;                         // the first event that could not be read; then `events` is partial
  std::optional<SagaIndexEntry> in_flight_entry;    // the index's in-flight entry, if it has one
  std::optional<SagaIndexEntry> finished_entry;     // a finished record's entry at its finish time, if there is one
  std::string finished_entry_error;                 // that entry's bytes do not decode
};

class SagaLogVisitor {
 public:
  virtual ~SagaLogVisitor() = default;
  // A saga whose record decodes.
  virtual void Saga(const WalkedSaga& saga) = 0;
  // A record that cannot be read ("sagas/<id>: <why>"); `id` if its key is one. Its events and index entries are
  // passed over in silence.
  virtual void UnreadableRecord(const std::optional<Uuid>& id, const std::string& message) = 0;
  // A key of the wrong shape in `table` ("saga_events: malformed key").
  virtual void MalformedKey(std::string_view table, std::string_view key, const std::string& message) = 0;
  // Events of a saga that has no record.
  virtual void EventsWithoutRecord(const Uuid& saga) = 0;
  // An in-flight entry of a saga that has no record.
  virtual void InFlightEntryWithoutRecord(const Uuid& saga, const SagaIndexEntry& entry) = 0;
  // A finished entry whose saga has no record (`record` null), or whose record is not finished at that time.
  virtual void StaleFinishedEntry(const Uuid& saga, int64_t finished_ns, const SagaHeader* record) = 0;
  // The store could not be read.
  virtual void ReadError(const Status& status) = 0;
};

// REQUIRES: the database has the index (Store::HasTable(kSagaIndexTable) and schema version 2) when
// `with_index`; without it only records and events are walked.
void WalkSagaLog(Store& store, const Snapshot* snapshot, bool with_index, SagaLogVisitor* visitor);

}  // namespace sagadb
