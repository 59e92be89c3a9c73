// Big-endian integers in keys, so that keys sort numerically.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sagadb {

std::string BigEndian32(uint32_t v);
std::string BigEndian64(uint64_t v);
// REQUIRES: s.size() >= 4 (resp. 8).
uint32_t DecodeBigEndian32(std::string_view s);
uint64_t DecodeBigEndian64(std::string_view s);

}  // namespace sagadb
