// The operator controls (docs/TOOL.md, "Operator controls"): cancel, resume and abandon a saga. Each is written
// to the saga's log as an operator event with who asked (--by, default the login name) and why. Each takes the
// database, so each is refused, with nothing changed, while another process holds it: that process offers the
// same controls through its library calls (Database::Cancel, Resume, Abandon).
#pragma once

#include <string>

#include "tools/cli.h"

namespace sagadb::tool {

struct OperatorArgs {
  std::string id;
  std::string by;      // empty: the login name
  std::string reason;
  std::string kind = "operator";  // abandon: operator, unrecoverable or orphaned
};

// Cancels a running saga: the cancel is written first (no recovery runs before it, so the saga is not resumed
// forward in between), then the database is opened, which unwinds the saga; prints how it ended.
int SagaCancel(const GlobalOptions& g, const OperatorArgs& a);
// Resumes a paused or stuck saga: opens the database (paused sagas are left to this command) and retries the
// saga's failed undo, then waits for the unwind; prints how it ended.
int SagaResume(const GlobalOptions& g, const OperatorArgs& a);
// Abandons a saga that has not ended (no recovery runs, so the saga is not resumed first).
int SagaAbandon(const GlobalOptions& g, const OperatorArgs& a);

}  // namespace sagadb::tool
