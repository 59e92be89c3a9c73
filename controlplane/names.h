// Validation of the names users give to records: 1-63 characters, lowercase letters, digits and '-', starting
// with a letter (the usual cloud rules; they also keep names safe inside composite keys and file names).
#pragma once

#include <string>
#include <string_view>

#include "sagadb/status.h"

namespace sagadb {

// names key: project, kind and name separated by '\0' (none of them may contain '\0': names are validated).
enum class NameKind : char { kInstance = 'i', kDisk = 'd' };
std::string NameKey(std::string_view project, NameKind kind, std::string_view name);

// OK, or InvalidRequest naming `what` ("disk name", "project") and the rule it breaks.
Status ValidateName(std::string_view name, std::string_view what);

}  // namespace sagadb
