// `sagadb stats`: the database's sagas counted by state and by kind, its oldest saga in flight, and the sagas
// that have stalled. An inspection command: it opens the database as a secondary (tools/cli.h), works beside a
// running owner, and writes nothing. Bounded memory: it reads the index of sagas one entry at a time
// (log/saga_census.h), and for the stalled sagas the in-flight entries and one event of each
// (log/saga_query.h ListStalledSagas).
#pragma once

#include <string>

#include "tools/cli.h"

namespace sagadb::tool {

// `stalled`: a duration ("30m"): running and unwinding sagas with no event for that long are listed.
int Stats(const GlobalOptions& g, const std::string& stalled);

}  // namespace sagadb::tool
