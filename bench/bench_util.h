// Small measuring helpers for the benchmark program: a scratch database directory, latency percentiles,
// running a function on N threads for a fixed count of operations, and peak RSS.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sagadb::bench {

// A fresh directory under `root`, removed by the destructor, except for subdirectories handed to
// DeferRemoval: those wait for RemoveDeferred() at the end of the program.
//
// Why defer: on ext4 without a journal, inode allocation skips every inode freed in the last ~30 s
// (recently_deleted in fs/ext4/ialloc.c), scanning them one by one. Removing the thousands of volume files one
// measurement made, right before the next one creates thousands more, made creates several times slower and
// the figures depend on what ran before.
class BenchDir {
 public:
  explicit BenchDir(const std::string& root, const std::string& name);
  ~BenchDir();
  const std::string& path() const { return path_; }
  // Moves <path>/<relative> aside (a rename: no inode is freed) to be removed by RemoveDeferred().
  void DeferRemoval(const std::string& relative);

 private:
  std::string path_;
  std::string root_;
};

// Removes every directory handed to BenchDir::DeferRemoval.
void RemoveDeferred();

struct Throughput {
  double ops_per_sec = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double seconds = 0;
  uint64_t ops = 0;
  uint64_t errors = 0;
  double cpu_seconds = 0;  // user + system CPU time of the whole process while the ops ran
};

// Runs `op(thread, i)` `total` times spread over `threads` threads (each op timed). An op returns false on error.
Throughput RunConcurrently(int threads, uint64_t total, const std::function<bool(int, uint64_t)>& op);

double Percentile(std::vector<double> v, double p);
// User + system CPU seconds this process has used so far.
double ProcessCpuSeconds();
// Peak resident set size of this process so far, in MiB.
double PeakRssMiB();
// This process's resident set size now (VmRSS), in MiB.
double CurrentRssMiB();
// The bytes of the files under `dir`, leaving out the subdirectory named `skip` (the volumes).
uint64_t DirBytes(const std::string& dir, const std::string& skip = "");

// A program run as a child process, and how it went.
struct ChildRun {
  int exit_code = -1;       // -1: killed by a signal or not started
  double seconds = 0;       // wall time
  double peak_rss_mib = 0;  // the child's own VmHWM, read as it exits
  bool rss_exact = false;   // false: sampled while it ran (ptrace was refused), a lower bound
};
// Runs argv (argv[0] a path) with stdout to `stdout_path` (or /dev/null) and waits for it. Its peak RSS is read
// from /proc/<pid>/status at its exit stop (ptrace's PTRACE_O_TRACEEXIT), when its memory is still mapped:
// rusage cannot tell it, since a posix_spawn child's maxrss includes the parent's from before the exec.
ChildRun RunMeasured(const std::vector<std::string>& argv, const std::string& stdout_path = "");

}  // namespace sagadb::bench
