#include "sagadb/uuid.h"

#include <uuid/uuid.h>

#include <algorithm>
#include <cstring>

namespace sagadb {

Uuid Uuid::Generate() {
  Uuid id;
  uuid_generate_random(id.bytes.data());
  return id;
}

std::optional<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  char buf[37];
  std::memcpy(buf, text.data(), 36);
  buf[36] = '\0';
  Uuid id;
  if (uuid_parse(buf, id.bytes.data()) != 0) return std::nullopt;
  return id;
}

std::optional<Uuid> Uuid::FromBytes(std::string_view raw) {
  if (raw.size() != 16) return std::nullopt;
  Uuid id;
  std::memcpy(id.bytes.data(), raw.data(), 16);
  return id;
}

bool Uuid::IsNil() const {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

std::string Uuid::ToString() const {
  char buf[37];
  uuid_unparse_lower(bytes.data(), buf);
  return std::string(buf, 36);
}

}  // namespace sagadb
