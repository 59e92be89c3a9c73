// Operator commands that change the log without running sagas: prune.
#pragma once

#include <string>

#include "tools/cli.h"

namespace sagadb::tool {

struct PruneArgs {
  bool dry_run = false;
  std::string keep;     // a count of finished sagas to keep, or "all"; empty: the library's default
  std::string max_age;  // a duration ("7d"), or "none"; empty: the library's default
};

// Removes the finished sagas the policy (RetentionPolicy's defaults, overridden by --keep and --max-age) lets
// go, with their events. With --dry-run it only says which, on a secondary (beside a running owner); otherwise
// it takes the database (recovery runs first, background retention does not), refused while another process
// owns it or sagas of another program are in flight.
int SagaPrune(const GlobalOptions& g, const PruneArgs& a);

}  // namespace sagadb::tool
