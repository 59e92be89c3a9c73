// KeyLocks: lock striping over record ids, so that every read-modify-write of a record is serialized with the
// others on that record. A WriteTxn takes the stripes of every record it reads before reading, and holds them
// until it has committed, so two attaches cannot both see the same free slot (no write skew).
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <string_view>

#include "schema/uuid.h"

namespace sagadb {

class KeyLocks {
 public:
  static constexpr size_t kStripes = 1024;

  size_t StripeOf(const Uuid& id) const { return std::hash<Uuid>{}(id) % kStripes; }
  // Any other key (a name index entry, say).
  size_t StripeOf(std::string_view key) const { return std::hash<std::string_view>{}(key) % kStripes; }
  std::mutex& stripe(size_t i) { return stripes_[i]; }

 private:
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace sagadb
