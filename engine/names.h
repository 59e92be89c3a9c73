// Validation of the names users give to records: 1-63 characters, lowercase letters, digits and '-', starting
// with a letter (the usual cloud rules; they also keep names safe inside composite keys and file names).
#pragma once

#include <string_view>

#include "engine/status.h"

namespace sagadb {

// OK, or InvalidRequest naming `what` ("disk name", "project") and the rule it breaks.
Status ValidateName(std::string_view name, std::string_view what);

}  // namespace sagadb
