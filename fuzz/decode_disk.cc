// Fuzz target: schema/codec.h Decode of a Disk record (see decode_fuzzer.h).
#include "fuzz/decode_fuzzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sagadb::fuzz::FuzzDecode<sagadb::Disk>(data, size);
}
