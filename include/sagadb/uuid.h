// Uuid: the 16-byte identifier of every record and saga.
//
//   Uuid id = Uuid::Generate();
//   std::string text = id.ToString();          // "8-4-4-4-12" lowercase hex
//   std::optional<Uuid> back = Uuid::Parse(text);
//
// Keys in RocksDB are the raw 16 bytes (AsBytes), so ids sort bytewise.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sagadb {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  // A random (version 4) id from libuuid.
  static Uuid Generate();
  // Accepts the canonical 36-character form, in either case. Anything else is nullopt.
  static std::optional<Uuid> Parse(std::string_view text);
  // Exactly 16 bytes, or nullopt.
  static std::optional<Uuid> FromBytes(std::string_view raw);

  bool IsNil() const;
  std::string ToString() const;
  std::string_view AsBytes() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }

  auto operator<=>(const Uuid&) const = default;
};

}  // namespace sagadb

template <>
struct std::hash<sagadb::Uuid> {
  size_t operator()(const sagadb::Uuid& id) const noexcept {
    uint64_t h = 0;
    for (int i = 0; i < 8; ++i) h = (h << 8) | id.bytes[i];
    return std::hash<uint64_t>{}(h ^ id.bytes[15]);
  }
};
