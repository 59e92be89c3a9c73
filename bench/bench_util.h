// Small measuring helpers for the benchmark program: a scratch database directory, latency percentiles,
// running a function on N threads for a fixed count of operations, and peak RSS.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sagadb::bench {

// A fresh directory under `root`, removed by the destructor.
class BenchDir {
 public:
  explicit BenchDir(const std::string& root, const std::string& name);
  ~BenchDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Throughput {
  double ops_per_sec = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double seconds = 0;
  uint64_t ops = 0;
  uint64_t errors = 0;
};

// Runs `op(thread, i)` `total` times spread over `threads` threads (each op timed). An op returns false on error.
Throughput RunConcurrently(int threads, uint64_t total, const std::function<bool(int, uint64_t)>& op);

double Percentile(std::vector<double> v, double p);
// Peak resident set size of this process so far, in MiB.
double PeakRssMiB();

}  // namespace sagadb::bench
