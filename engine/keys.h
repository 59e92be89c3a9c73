// Key encodings shared by the column families: big-endian integers (so keys sort numerically) and the
// composite keys of the saga log and the name index.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/uuid.h"

namespace sagadb {

std::string BigEndian32(uint32_t v);
std::string BigEndian64(uint64_t v);
// REQUIRES: s.size() >= 4 (resp. 8).
uint32_t DecodeBigEndian32(std::string_view s);
uint64_t DecodeBigEndian64(std::string_view s);

// saga_events key: saga id (16 bytes) + sequence (8 bytes, big-endian).
std::string SagaEventKey(const Uuid& saga, uint64_t seq);
inline constexpr size_t kSagaEventKeySize = 24;

// names key: project, kind and name separated by '\0' (none of them may contain '\0': names are validated).
enum class NameKind : char { kInstance = 'i', kDisk = 'd' };
std::string NameKey(std::string_view project, NameKind kind, std::string_view name);

}  // namespace sagadb
