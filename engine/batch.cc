#include "engine/batch.h"

#include <cstring>

namespace sagadb {
namespace {

void PutFixed32(std::string* out, uint32_t v) {
  char buf[4];
  std::memcpy(buf, &v, 4);
  out->append(buf, 4);
}

uint32_t GetFixed32(std::string_view* in) {
  uint32_t v;
  std::memcpy(&v, in->data(), 4);
  in->remove_prefix(4);
  return v;
}

}  // namespace

void Batch::Add(Op op, TableId table, std::string_view key, std::string_view value) {
  rep_.push_back(static_cast<char>(op));
  PutFixed32(&rep_, table);
  PutFixed32(&rep_, static_cast<uint32_t>(key.size()));
  rep_.append(key);
  PutFixed32(&rep_, static_cast<uint32_t>(value.size()));
  rep_.append(value);
  ++count_;
  payload_ += key.size() + value.size();
}

void Batch::Put(TableId table, std::string_view key, std::string_view value) { Add(Op::kPut, table, key, value); }

void Batch::Delete(TableId table, std::string_view key) { Add(Op::kDelete, table, key, {}); }

void Batch::DeleteRange(TableId table, std::string_view begin, std::string_view end) {
  Add(Op::kDeleteRange, table, begin, end);
}

void Batch::Append(const Batch& other) {
  rep_.append(other.rep_);
  count_ += other.count_;
  payload_ += other.payload_;
}

void Batch::Clear() {
  rep_.clear();
  count_ = 0;
  payload_ = 0;
}

bool Batch::Reader::Next(Entry* e) {
  // The representation is only ever built by Add, so it is well formed: no bounds to check but the end.
  if (rep_.empty()) return false;
  e->op = static_cast<Op>(rep_[0]);
  rep_.remove_prefix(1);
  e->table = GetFixed32(&rep_);
  const uint32_t klen = GetFixed32(&rep_);
  e->key = rep_.substr(0, klen);
  rep_.remove_prefix(klen);
  const uint32_t vlen = GetFixed32(&rep_);
  e->value = rep_.substr(0, vlen);
  rep_.remove_prefix(vlen);
  return true;
}

}  // namespace sagadb
