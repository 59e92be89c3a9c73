#include "bench/bench_util.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace sagadb::bench {

namespace {

// A "<field> <kB> kB" line of /proc/<pid>/status, in MiB; 0 if there is none.
double StatusField(pid_t pid, const char* field) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(pid));
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return 0;
  char line[256];
  double kib = 0;
  const size_t n = std::strlen(field);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, field, n) == 0 && std::sscanf(line + n, "%lf", &kib) == 1) break;
  }
  std::fclose(f);
  return kib / 1024.0;
}

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

double CurrentRssMiB() { return StatusField(getpid(), "VmRSS:"); }

uint64_t DirBytes(const std::string& dir, const std::string& skip) {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!skip.empty() && it->is_directory(ec) && it->path().filename() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

ChildRun RunMeasured(const std::vector<std::string>& args, const std::string& stdout_path) {
  ChildRun run;
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.empty() ? "/dev/null" : stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return run;
  run.rss_exact = ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACEEXIT)) == 0;
  int status = 0;
  for (;;) {
    const pid_t got = waitpid(pid, &status, run.rss_exact ? 0 : WNOHANG);
    if (got == 0) {  // not traced: sample while it runs
      run.peak_rss_mib = std::max(run.peak_rss_mib, StatusField(pid, "VmHWM:"));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (got < 0) break;
    if (WIFEXITED(status) || WIFSIGNALED(status)) break;
    if (WIFSTOPPED(status)) {
      int signal = WSTOPSIG(status);
      if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
        run.peak_rss_mib = StatusField(pid, "VmHWM:");
        signal = 0;
      } else if (signal == SIGTRAP) {
        signal = 0;
      }
      ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<intptr_t>(signal)));
    }
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace sagadb::bench
