// The body of the decoder fuzz targets (decode_*.cc): any bytes given to a record's Decode.
//
// Decode must not crash, read out of bounds or hang, whatever the bytes: it either refuses them with a reason,
// or returns a record that encodes to bytes which decode again to the same record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "schema/codec.h"

namespace sagadb::fuzz {

template <typename Record>
int FuzzDecode(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Record record;
  std::string why;
  if (!Decode(bytes, &record, &why)) {
    if (why.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const std::string encoded = Encode(record);
  Record again;
  if (!Decode(encoded, &again, &why)) std::abort();
  if (!(again == record)) std::abort();
  return 0;
}

}  // namespace sagadb::fuzz
