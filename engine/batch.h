// Batch: writes to several tables that a Store applies atomically, all or nothing.
//
//   Batch b;
//   b.Put(kSagasTable, id.AsBytes(), Encode(record));
//   b.Put(kSagaEventsTable, SagaEventKey(id, 7), Encode(event));
//   SAGADB_RETURN_IF_ERROR(store.Write(b));
//
// It holds plain bytes, one entry after the other, so it costs one buffer however many writes it holds, and
// a backend translates it once when it applies it. The batch knows nothing of any backend.
//
// DeleteRange removes every key k of a table with begin <= k < end in one entry, whatever their number: what
// retention uses for a saga's events, which are contiguous (saga id, then sequence number). A backend may pay
// for a range deletion on later reads of the range until it compacts it away, so it is for runs of many keys
// that nothing reads again, not for a handful.
//
// Not thread-safe: one batch belongs to one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sagadb {

// A table of the database: a RocksDB column family. The engine's own tables have fixed ids; a domain's tables
// get theirs when the store opens (Store::FindTable).
using TableId = uint32_t;

class Batch {
 public:
  enum class Op : uint8_t { kPut = 1, kDelete = 2, kDeleteRange = 3 };
  struct Entry {
    Op op;
    TableId table;
    std::string_view key;    // kDeleteRange: the first key removed
    std::string_view value;  // empty for kDelete; kDeleteRange: the end of the range (not removed)
  };

  void Put(TableId table, std::string_view key, std::string_view value);
  void Delete(TableId table, std::string_view key);
  // Removes the keys in [begin, end). REQUIRES: begin <= end (an empty range removes nothing).
  void DeleteRange(TableId table, std::string_view begin, std::string_view end);
  // Appends every entry of `other`, in order.
  void Append(const Batch& other);
  void Clear();

  size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // The bytes of keys and values it holds (what a backend will write, before its own framing).
  size_t payload_bytes() const { return payload_; }

  // Reads the entries in order.
  class Reader {
   public:
    explicit Reader(const Batch& b) : rep_(b.rep_) {}
    // False at the end.
    bool Next(Entry* entry);

   private:
    std::string_view rep_;
  };

 private:
  void Add(Op op, TableId table, std::string_view key, std::string_view value);

  std::string rep_;  // entries: op (1 byte), table (4), key length (4), key, value length (4), value
  size_t count_ = 0;
  size_t payload_ = 0;
};

}  // namespace sagadb
