#include "bench/bench_util.h"

#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace sagadb::bench {

BenchDir::BenchDir(const std::string& root, const std::string& name) {
  std::filesystem::create_directories(root);
  std::string tmpl = (std::filesystem::path(root) / (name + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed under " + root);
  path_ = tmpl;
}

BenchDir::~BenchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

Throughput RunConcurrently(int threads, uint64_t total, const std::function<bool(int, uint64_t)>& op) {
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> errors{0};
  std::mutex mu;
  std::vector<double> latencies;
  latencies.reserve(total);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<double> mine;
      for (uint64_t i = next++; i < total; i = next++) {
        auto s = std::chrono::steady_clock::now();
        if (!op(t, i)) errors++;
        mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
      }
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& th : pool) th.join();
  Throughput r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.ops = total;
  r.errors = errors;
  r.ops_per_sec = static_cast<double>(total) / r.seconds;
  r.p50_ms = Percentile(latencies, 0.50);
  r.p99_ms = Percentile(latencies, 0.99);
  return r;
}

double PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace sagadb::bench
