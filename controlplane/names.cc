#include "controlplane/names.h"

#include <fmt/format.h>

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

std::string NameKey(std::string_view project, NameKind kind, std::string_view name) {
  std::string key;
  key.reserve(project.size() + name.size() + 3);
  key.append(project).push_back('\0');
  key.push_back(static_cast<char>(kind));
  key.push_back('\0');
  key.append(name);
  return key;
}

}  // namespace sagadb
