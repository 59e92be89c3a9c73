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

namespace {

std::mutex g_deferred_mu;
std::vector<std::string> g_deferred;  // guarded by g_deferred_mu

}  // namespace

BenchDir::BenchDir(const std::string& root, const std::string& name) : root_(root) {
  std::filesystem::create_directories(root);
  std::string tmpl = (std::filesystem::path(root) / (name + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed under " + root);
  path_ = tmpl;
}

BenchDir::~BenchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void BenchDir::DeferRemoval(const std::string& relative) {
  namespace fs = std::filesystem;
  const fs::path from = fs::path(path_) / relative;
  std::error_code ec;
  if (!fs::exists(from, ec)) return;
  std::string tmpl = (fs::path(root_) / ".deferred-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return;  // not fatal: the destructor removes it with the rest
  const fs::path to = fs::path(tmpl) / from.filename();
  fs::rename(from, to, ec);
  std::lock_guard lock(g_deferred_mu);
  g_deferred.push_back(tmpl);
}

void RemoveDeferred() {
  std::lock_guard lock(g_deferred_mu);
  for (const auto& dir : g_deferred) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  g_deferred.clear();
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
  const double cpu_start = ProcessCpuSeconds();
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
  r.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  r.ops = total;
  r.errors = errors;
  r.ops_per_sec = static_cast<double>(total) / r.seconds;
  r.p50_ms = Percentile(latencies, 0.50);
  r.p99_ms = Percentile(latencies, 0.99);
  return r;
}

double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

double PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace sagadb::bench
