// The JSON shapes the sagadb tool prints (documented field by field in docs/TOOL.md).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>

#include "log/saga_log.h"
#include "sagadb/history.h"
#include "schema/records.h"

namespace sagadb::tool {

using Json = nlohmann::json;

Json InstanceJson(const Instance& r);
Json DiskJson(const Disk& r);
// A saga's summary; `history` (when its log replayed) adds node counts.
Json SagaJson(const SagaRecord& r, const SagaHistory* history);
// One row per node: name, kind, action, state, attempts, started, duration_ms, error.
Json NodesJson(const SagaRecord& r, const SagaHistory& history);
Json EventJson(const SagaRecord& r, const LoggedEvent& e);
// What `saga prune` did or would do.
Json PruneJson(const PruneReport& r);

}  // namespace sagadb::tool
