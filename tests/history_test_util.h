// Helpers of the history suites (retention, the saga index, its build and their crash tests): a version-1
// database made from a current one, and the saga log of a database grouped by saga, to tell a saga that is
// whole from one that is gone or half gone.
//
//   Must(DowngradeToVersion1(path));                 // as a database written before the saga index
//   SagaLogBySaga before = ReadSagaLog(*store);
//   ... prune, crash ...
//   std::vector<std::string> broken = WholeOrGone(before, ReadSagaLog(*store));
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/store.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace sagadb::testing {

// Makes the (closed) database at `path` look as one written before the saga index: the index table dropped and
// the schema version set to 1. Uses RocksDB directly: no sagadb build writes such a database any more.
Status DowngradeToVersion1(const std::string& path);

// Every entry of the saga log's three tables (records, events, index), by the saga it belongs to:
// "<table>/<hex key>" -> "<hex value>". Entries whose key names no saga are under the nil id.
using SagaEntries = std::map<std::string, std::string>;
using SagaLogBySaga = std::map<Uuid, SagaEntries>;
SagaLogBySaga ReadSagaLog(const Store& store);

// The violations of "every saga of `before` is, in `after`, exactly as it was or entirely gone, and `after`
// holds nothing `before` did not": one line each.
std::vector<std::string> WholeOrGone(const SagaLogBySaga& before, const SagaLogBySaga& after);

// The violations, one per line, for a failure message ("" for none).
std::string JoinLines(const std::vector<std::string>& violations);

// The sagas of `before` that are gone from `after`.
std::set<Uuid> Gone(const SagaLogBySaga& before, const SagaLogBySaga& after);

}  // namespace sagadb::testing
