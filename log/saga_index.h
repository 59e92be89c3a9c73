// The saga index: which sagas are in flight, and which finished when, in the `saga_index` table. It is written
// in the same batch as every saga record (SagaLog::StageRecord), so it always agrees with the records:
//
//   'a' + saga id (16 bytes)                              -> entry   one per saga that has not finished
//   'f' + finish time (8 bytes, big-endian ns) + saga id  -> entry   one per finished saga, oldest first
//
// "Finished" is succeeded, failed or abandoned: a saga in any other state (running, unwinding, stuck, a state
// added later) has the 'a' entry, so a new state is in flight until it is said otherwise here, and nothing in
// flight is ever taken for history. An open reads the 'a' entries alone: its cost follows the sagas in flight,
// not the history. Retention walks the 'f' entries oldest first. Entries (schema/saga_index.fbs) repeat the
// saga's state, kind and times, so listings and the stalled-saga report filter without reading records.
//
//   Batch b;
//   StageIndex(&b, record);                      // what SagaLog::StageRecord adds to every record it stages
//   for (IndexCursor c(store, IndexCursor::kActive); c.Valid(); c.Next()) resume(c.id());
//   SAGADB_RETURN_IF_ERROR(c.status());
//
// Contract with the writers of records: a finished record is written once. Its finish time never changes
// afterwards (or its old 'f' entry would be left behind; `check` would report it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/batch.h"
#include "engine/store.h"
#include "schema/records.h"

namespace sagadb {

inline constexpr char kActivePrefix = 'a';
inline constexpr char kFinishedPrefix = 'f';

// Succeeded, failed or abandoned: a state retention may remove. Every other state is in flight.
bool IsFinished(SagaState state);
// A state's name, ToString(state), or "state_<n>" for a number this build has no name for (an entry written by a
// newer sagadb): figures counted by state keep such states apart instead of calling them all "unknown".
std::string StateName(SagaState state);
// When a finished saga finished: its finished_ns, or (a record that never had one) its modified_ns.
int64_t FinishTime(const SagaRecord& record);
int64_t FinishTime(const SagaHeader& header);

std::string ActiveIndexKey(const Uuid& saga);
std::string FinishedIndexKey(int64_t finished_ns, const Uuid& saga);
// The first finished-entry key at or after `finished_ns` (for seeking by time).
std::string FinishedIndexBound(int64_t finished_ns);

struct IndexKey {
  bool active = false;
  int64_t finished_ns = 0;  // finished entries only
  Uuid id;
};
std::optional<IndexKey> ParseIndexKey(std::string_view key);

SagaHeader HeaderOf(const SagaRecord& record);
SagaIndexEntry IndexEntryOf(const SagaHeader& header);
// Stages the entries of the saga as its record is now: its 'a' entry while it is in flight; once finished, the
// removal of the 'a' entry and its 'f' entry.
void StageIndex(Batch* batch, const SagaRecord& record);
void StageIndex(Batch* batch, const SagaHeader& header);
// Stages the removal of every entry `record` may have (the 'a' entry, and the 'f' entry of its finish time).
void StageUnindex(Batch* batch, const SagaRecord& record);
void StageUnindex(Batch* batch, const Uuid& id, int64_t finish_time);

// Walks one part of the index in key order: the sagas in flight by id, or the finished ones oldest first. An
// entry whose key or value does not parse stops nothing: it is counted in malformed() (with the first one's
// description) and skipped. A read error ends the walk (status()).
class IndexCursor {
 public:
  enum Part { kActive, kFinished };
  IndexCursor(const Store& store, Part part, const Snapshot* snapshot = nullptr);

  // Positions at the first entry of the part; at the first with key > ActiveIndexKey(after) (kActive); at the
  // first finished at or after `finished_ns` (kFinished).
  void SeekToFirst();
  void SeekAfter(const Uuid& after);
  // The first entry with a key > `key` (a raw_key() seen before).
  void SeekPast(std::string_view key);
  void SeekToTime(int64_t finished_ns);
  // The newest finished entry (kFinished), then Prev() walks to older ones.
  void SeekToLast();

  bool Valid() const { return valid_; }
  void Next();
  void Prev();
  // REQUIRES: Valid().
  const Uuid& id() const { return key_.id; }
  int64_t finished_ns() const { return key_.finished_ns; }
  const SagaIndexEntry& entry() const { return entry_; }
  std::string_view raw_key() const { return cursor_->key(); }

  uint64_t malformed() const { return malformed_; }
  const std::string& first_malformed() const { return first_malformed_; }
  Status status() const { return cursor_->status(); }

 private:
  // Skips malformed entries in the direction given; stops outside the part.
  void Settle(bool forward);

  std::unique_ptr<Cursor> cursor_;
  char prefix_;
  bool valid_ = false;
  IndexKey key_;
  SagaIndexEntry entry_;
  uint64_t malformed_ = 0;
  std::string first_malformed_;
};

}  // namespace sagadb
