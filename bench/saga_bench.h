// Benchmarks of whole sagas: instance-create throughput and latency against concurrency (sync on and off),
// recovery of many interrupted sagas, and the peak memory of the overload scenario.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "bench/engine_bench.h"
#include "sagadb/control_plane.h"

namespace sagadb::bench {

// instance-create sagas with `disks` disks each: sagas/s, p50/p99 latency, synced writes and bytes per saga.
nlohmann::json MeasureInstanceCreate(const BenchConfig& c, bool sync, int disks, const std::vector<int>& concurrency);
// The external step of disk-create alone: volume files created (sparse file, fsync of the file and of the
// directory) per second at each concurrency, in one directory as the control plane does.
nlohmann::json MeasureVolumes(const BenchConfig& c, const std::vector<int>& concurrency);
// `sagas` instance-creates interrupted mid-flight, then an open: time to load and validate their logs, and
// until all have finished.
nlohmann::json MeasureRecovery(const BenchConfig& c, int sagas, int disks);
// Starts `sagas` instance-creates on the database at `path` (names "<prefix>-<i>") and interrupts them all
// mid-flight, where a crash would have left their logs (the database is closed afterwards). Returns how many
// were interrupted.
uint64_t InterruptInstanceCreates(const std::string& path, int sagas, int disks, const std::string& prefix);
// The bench's instance-create: "<prefix>-<i>" in project "bench", with `disks` disks of 1 GiB.
InstanceCreateRequest Request(const std::string& prefix, uint64_t i, int disks);
// Runs `sagadb demo` (the 30 x 11 overload scenario) as a child process and reports its peak RSS.
nlohmann::json MeasureOverloadRss(const BenchConfig& c, const std::string& sagadb_binary);

}  // namespace sagadb::bench
