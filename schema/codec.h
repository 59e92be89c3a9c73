// Encoding of records as FlatBuffers bytes, and verified decoding.
//
// Every Decode runs the FlatBuffers verifier (and checks the file identifier and the enum ranges) before it
// reads a field, so damaged bytes yield false and a reason, never a crash or a garbage value. Callers in
// engine/ turn that into a Corruption status naming the column family and key.
#pragma once

#include <string>
#include <string_view>

#include "schema/records.h"

namespace sagadb {

std::string Encode(const Instance& r);
std::string Encode(const Disk& r);
std::string Encode(const SagaRecord& r);
std::string Encode(const SagaEvent& r);
std::string Encode(const SagaIndexEntry& r);

// On failure returns false and sets *why; *out is then unspecified.
bool Decode(std::string_view bytes, Instance* out, std::string* why);
bool Decode(std::string_view bytes, Disk* out, std::string* why);
bool Decode(std::string_view bytes, SagaRecord* out, std::string* why);
bool Decode(std::string_view bytes, SagaEvent* out, std::string* why);
// The entry's state is taken as stored, whatever its value: the index leaves states to the saga record.
bool Decode(std::string_view bytes, SagaIndexEntry* out, std::string* why);
// A saga record's header alone. The whole buffer is verified, as Decode does; only the DAG, params and output
// are left unread.
bool DecodeHeader(std::string_view bytes, SagaHeader* out, std::string* why);

}  // namespace sagadb
