#include "sagadb/status.h"

#include <fmt/format.h>

namespace sagadb {

std::string_view ToString(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kNotFound: return "NotFound";
    case Code::kInvalidRequest: return "InvalidRequest";
    case Code::kConflict: return "Conflict";
    case Code::kOverloaded: return "Overloaded";
    case Code::kTransient: return "Transient";
    case Code::kCorruption: return "Corruption";
    case Code::kIOError: return "IOError";
    case Code::kInternal: return "Internal";
    case Code::kNoSpace: return "NoSpace";
    case Code::kCancelled: return "Cancelled";
  }
  return "Unknown";
}

Status Status::FromCode(uint8_t code, std::string msg) {
  if (code == 0 || code > static_cast<uint8_t>(Code::kCancelled)) return Internal(std::move(msg));
  return Status(static_cast<Code>(code), std::move(msg));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return fmt::format("{}: {}", sagadb::ToString(code_), message_);
}

}  // namespace sagadb
