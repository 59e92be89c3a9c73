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

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

// By hand rather than libuuid's uuid_parse: ids are parsed for every saga step (they travel in the params as
// text), and uuid_parse's strtoul calls were 3% of an instance-create's instructions. The same form is accepted.
std::optional<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid id;
  size_t out = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = HexValue(text[i]), lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[out++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
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
  std::string out(36, '-');
  size_t i = 0;
  for (uint8_t b : bytes) {
    if (i == 8 || i == 13 || i == 18 || i == 23) ++i;
    out[i++] = kHexDigits[b >> 4];
    out[i++] = kHexDigits[b & 0xf];
  }
  return out;
}

}  // namespace sagadb
