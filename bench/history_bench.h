// Benchmarks of a long history: an open, check and listing of a database holding a million finished sagas, and a
// long run of instance-creates with retention on.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "bench/engine_bench.h"

namespace sagadb::bench {

struct HistoryConfig {
  uint64_t finished = 1'000'000;  // finished sagas the generator writes
  int interrupted = 100;          // instance-creates then interrupted mid-flight
  int disks = 2;                  // disks of each instance-create (the template the finished ones are cloned from)
  std::string sagadb_binary;      // for check and the listing, run as child processes
};

// A database of `finished` finished instance-creates (clones of a real one, with their events and index
// entries, written straight through the store in large batches and compacted) and `interrupted` interrupted
// ones. Then, `runs` times: an open (until Database::Open returns, recovery's sagas resumed; their writes are
// refused so that every run finds the same database) with the time recovery took to load their logs; and
// `sagadb check` and `sagadb saga list --limit 100` as child processes, with their peak RSS and time.
nlohmann::json MeasureHistory(const BenchConfig& c, const HistoryConfig& h, int runs);

struct LongRunConfig {
  uint64_t sagas = 200'000;  // instance-creates
  uint64_t keep = 10'000;    // retention: finished sagas kept
  int concurrency = 32;
  int disks = 1;
  // Retention's interval between passes; 0: the library's default.
  int interval_ms = 0;
};

// `sagas` instance-creates at `concurrency`, with retention keeping the newest `keep` finished sagas (the
// background task, default interval and batches). Per tenth of the run: sagas per second, the database's size
// (volumes left out), this process's RSS and the finished sagas the index holds.
nlohmann::json MeasureLongRun(const BenchConfig& c, const LongRunConfig& l);

}  // namespace sagadb::bench
