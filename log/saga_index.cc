#include "log/saga_index.h"

#include <fmt/format.h>

#include "engine/keys.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

constexpr size_t kActiveKeySize = 1 + 16;
constexpr size_t kFinishedKeySize = 1 + 8 + 16;

// Finish times are stored as unsigned big-endian numbers so that they sort; a negative time (a clock before
// 1970) sorts as 0.
uint64_t TimeKey(int64_t ns) { return ns < 0 ? 0 : static_cast<uint64_t>(ns); }

std::string Hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

}  // namespace

bool IsFinished(SagaState state) {
  // Stuck and paused sagas stay in flight: an operator, or the next open, is to act on them.
  return state == SagaState::kSucceeded || state == SagaState::kFailed || state == SagaState::kAbandoned;
}

std::string StateName(SagaState state) {
  const std::string_view name = ToString(state);
  if (ParseSagaState(name) != state) return "state_" + std::to_string(static_cast<unsigned>(state));
  return std::string(name);
}

int64_t FinishTime(const SagaRecord& record) {
  return record.finished_ns != 0 ? record.finished_ns : record.modified_ns;
}

int64_t FinishTime(const SagaHeader& header) {
  return header.finished_ns != 0 ? header.finished_ns : header.modified_ns;
}

std::string ActiveIndexKey(const Uuid& saga) {
  std::string key(1, kActivePrefix);
  key += saga.AsBytes();
  return key;
}

std::string FinishedIndexKey(int64_t finished_ns, const Uuid& saga) {
  std::string key = FinishedIndexBound(finished_ns);
  key += saga.AsBytes();
  return key;
}

std::string FinishedIndexBound(int64_t finished_ns) {
  std::string key(1, kFinishedPrefix);
  key += BigEndian64(TimeKey(finished_ns));
  return key;
}

std::optional<IndexKey> ParseIndexKey(std::string_view key) {
  IndexKey k;
  if (key.size() == kActiveKeySize && key[0] == kActivePrefix) {
    auto id = Uuid::FromBytes(key.substr(1));
    if (!id) return std::nullopt;
    k.active = true;
    k.id = *id;
    return k;
  }
  if (key.size() == kFinishedKeySize && key[0] == kFinishedPrefix) {
    auto id = Uuid::FromBytes(key.substr(9));
    if (!id) return std::nullopt;
    k.finished_ns = static_cast<int64_t>(DecodeBigEndian64(key.substr(1, 8)));
    k.id = *id;
    return k;
  }
  return std::nullopt;
}

SagaHeader HeaderOf(const SagaRecord& r) {
  return SagaHeader{r.id, r.kind, r.state, r.created_ns, r.modified_ns, r.finished_ns, r.generation};
}

SagaIndexEntry IndexEntryOf(const SagaHeader& h) {
  SagaIndexEntry e;
  e.state = h.state;
  e.kind = h.kind;
  e.created_ns = h.created_ns;
  e.finished_ns = IsFinished(h.state) ? FinishTime(h) : 0;
  return e;
}

void StageIndex(Batch* batch, const SagaRecord& record) { StageIndex(batch, HeaderOf(record)); }

void StageIndex(Batch* batch, const SagaHeader& header) {
  const std::string value = Encode(IndexEntryOf(header));
  if (IsFinished(header.state)) {
    batch->Delete(kSagaIndexTable, ActiveIndexKey(header.id));
    batch->Put(kSagaIndexTable, FinishedIndexKey(FinishTime(header), header.id), value);
  } else {
    batch->Put(kSagaIndexTable, ActiveIndexKey(header.id), value);
  }
}

void StageUnindex(Batch* batch, const SagaRecord& record) { StageUnindex(batch, record.id, FinishTime(record)); }

void StageUnindex(Batch* batch, const Uuid& id, int64_t finish_time) {
  batch->Delete(kSagaIndexTable, ActiveIndexKey(id));
  if (finish_time != 0) batch->Delete(kSagaIndexTable, FinishedIndexKey(finish_time, id));
}

IndexCursor::IndexCursor(const Store& store, Part part, const Snapshot* snapshot)
    : cursor_(store.NewCursor(kSagaIndexTable, snapshot)), prefix_(part == kActive ? kActivePrefix : kFinishedPrefix) {}

void IndexCursor::SeekToFirst() {
  cursor_->Seek(std::string_view(&prefix_, 1));
  Settle(true);
}

void IndexCursor::SeekAfter(const Uuid& after) { SeekPast(ActiveIndexKey(after)); }

void IndexCursor::SeekPast(std::string_view key) {
  cursor_->Seek(key);
  if (cursor_->Valid() && cursor_->key() == key) cursor_->Next();
  Settle(true);
}

void IndexCursor::SeekToTime(int64_t finished_ns) {
  cursor_->Seek(FinishedIndexBound(finished_ns));
  Settle(true);
}

void IndexCursor::SeekToLast() {
  const char next = static_cast<char>(prefix_ + 1);
  cursor_->SeekForPrev(std::string_view(&next, 1));
  if (cursor_->Valid() && cursor_->key() == std::string_view(&next, 1)) cursor_->Prev();
  Settle(false);
}

void IndexCursor::Next() {
  cursor_->Next();
  Settle(true);
}

void IndexCursor::Prev() {
  cursor_->Prev();
  Settle(false);
}

void IndexCursor::Settle(bool forward) {
  valid_ = false;
  for (; cursor_->Valid(); forward ? cursor_->Next() : cursor_->Prev()) {
    const std::string_view key = cursor_->key();
    if (key.empty() || key[0] != prefix_) return;
    auto parsed = ParseIndexKey(key);
    std::string why;
    if (!parsed) {
      why = "malformed key";
    } else if (Decode(cursor_->value(), &entry_, &why)) {
      key_ = *parsed;
      valid_ = true;
      return;
    }
    if (malformed_++ == 0) first_malformed_ = fmt::format("saga_index/{}: {}", Hex(key), why);
  }
}

}  // namespace sagadb
