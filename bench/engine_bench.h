// Benchmarks of the engine alone: the disk's ceiling (synced batches, raw fsyncs) and attach/detach.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace sagadb::bench {

struct BenchConfig {
  std::string root = "./bench-data";  // where scratch databases are made (put it on the disk under test)
  bool quick = false;                 // a smoke run: tiny op counts
  // instance-create sections only: put volume files under this directory instead of beside the database
  // (to time the engine apart from the file system the volumes live on).
  std::string volumes_root;
};

// Synced single-key WriteBatches per second at each concurrency, and raw fdatasyncs per second (one thread).
nlohmann::json MeasureCeiling(const BenchConfig& c, const std::vector<int>& concurrency);
// Attach + detach pairs per second (each is one synced batch), at each thread count.
nlohmann::json MeasureAttachDetach(const BenchConfig& c, const std::vector<int>& threads);

}  // namespace sagadb::bench
