// Operator commands that change the log without running sagas.
#pragma once

#include <string>

#include "tools/cli.h"

namespace sagadb::tool {

// Marks a stuck or running saga `abandoned` with the reason. Takes the database (no recovery runs, so the saga
// is not resumed first); refused while another process owns it.
int SagaAbandon(const GlobalOptions& g, const std::string& id, const std::string& reason);

}  // namespace sagadb::tool
