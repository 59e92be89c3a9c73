#include "engine/names.h"

namespace sagadb {

Status ValidateName(std::string_view name, std::string_view what) {
  if (name.empty() || name.size() > 63) {
    return Status::InvalidRequest(fmt::format("{} must be 1-63 characters long (got {})", what, name.size()));
  }
  if (name[0] < 'a' || name[0] > 'z') {
    return Status::InvalidRequest(fmt::format("{} \"{}\" must start with a lowercase letter", what, name));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      return Status::InvalidRequest(
          fmt::format("{} \"{}\" may contain only lowercase letters, digits and '-'", what, name));
    }
  }
  return Status::OK();
}

}  // namespace sagadb
