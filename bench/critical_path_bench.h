// The disk's floor for one instance-create, and how close one saga alone comes to it.
//
// An instance-create has one external stage on its critical path (the volume files, made in parallel), so the
// least it can wait for is three durable rounds one after another: a synced batch (the records, the volumes'
// starts), a volume file, a synced batch (the outcomes, the attaches, the end). The floor is exactly that,
// measured in the same run; the saga alone is timed beside it, and its durable waits (every store write, every
// volume file) are merged where they overlap to count the rounds it really waited for one after another.
#pragma once

#include <nlohmann/json.hpp>

#include "bench/engine_bench.h"

namespace sagadb::bench {

// Samples alternate floor and saga: floor and saga p50/p99, their ratio, the saga's rounds on the critical path
// (median and most) and its synced writes.
nlohmann::json MeasureCriticalPath(const BenchConfig& c, int disks);

}  // namespace sagadb::bench
