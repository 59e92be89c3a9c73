#include "bench/saga_bench.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "bench/bench_util.h"
#include "engine/write_hooks.h"
#include "db/database_impl.h"
#include "sagadb/control_plane.h"
#include "controlplane/volumes.h"

extern char** environ;

namespace sagadb::bench {
namespace {

std::unique_ptr<ControlPlane> OpenDb(const std::string& path, bool sync, size_t max_in_flight,
                                    const std::string& volumes_dir = "") {
  DatabaseOptions o;
  o.path = path;
  o.store.sync = sync;
  o.executor.max_in_flight = max_in_flight;
  // The benchmarks' databases keep their history: retention would only add its reads to what they measure (and
  // the history section's million sagas must stay).
  o.retention.enabled = false;
  ControlPlaneOptions cp;
  cp.volumes_dir = volumes_dir;
  auto db = ControlPlane::Open(o, cp);
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  return std::move(*db);
}

Store& StoreOf(ControlPlane& cp) { return cp.database().impl().store(); }

// The "kill" of the recovery section: each saga's first round (its record, the instance and disk records, the
// starts of its volume files) is written by the thread that starts it; every later write fails as if the
// process had died right after that round, so each saga halts mid-flight exactly where a crash at that moment
// would have left its log, with its volume files made or being made but not recorded.
thread_local bool tls_starting_thread = false;

class InterruptHooks : public StoreHooks {
 public:
  Status BeforeWrite(uint64_t) override {
    return tls_starting_thread ? Status::OK() : Status::IOError("benchmark: simulated crash");
  }
  void AfterWrite(uint64_t) override {}
};

}  // namespace

InstanceCreateRequest Request(const std::string& prefix, uint64_t i, int disks) {
  InstanceCreateRequest r;
  r.project = "bench";
  r.name = fmt::format("{}-{}", prefix, i);
  for (int d = 0; d < disks; ++d) r.disks.push_back({fmt::format("{}-{}-d{}", prefix, i, d), 1ull << 30});
  return r;
}


nlohmann::json MeasureInstanceCreate(const BenchConfig& c, bool sync, int disks, const std::vector<int>& concurrency) {
  BenchDir dir(c.root, sync ? "sagas-sync" : "sagas-nosync");
  std::optional<BenchDir> volumes;
  if (!c.volumes_root.empty()) volumes.emplace(c.volumes_root, "volumes");
  auto db = OpenDb((std::filesystem::path(dir.path()) / "db").string(), sync, 1024,
                   volumes ? VolumesDirFor(volumes->path()) : std::string());
  nlohmann::json rows = nlohmann::json::array();
  for (int threads : concurrency) {
    // Several seconds per level, after a warm-up at the same concurrency (not measured).
    const uint64_t sagas = c.quick ? static_cast<uint64_t>(2 * threads)
                                   : static_cast<uint64_t>(threads == 1 ? 300 : std::max(600, 60 * threads));
    const std::string prefix = fmt::format("c{}", threads);
    if (!c.quick) {
      RunConcurrently(threads, static_cast<uint64_t>(2 * threads), [&](int, uint64_t i) {
        auto h = db->CreateInstance(Request(prefix + "w", i, disks));
        return h.ok() && h->Wait().ok();
      });
    }
    const uint64_t writes_before = StoreOf(*db).synced_writes();
    const uint64_t bytes_before = StoreOf(*db).bytes_written();
    const uint64_t attempts_before = StoreOf(*db).write_attempts();
    const uint64_t volume_syncs_before = VolumeSyncCount();
    std::atomic<uint64_t> failed{0};
    Throughput t = RunConcurrently(threads, sagas, [&](int, uint64_t i) {
      auto h = db->CreateInstance(Request(prefix, i, disks));
      if (!h.ok()) return false;
      auto r = h->Wait();
      if (!r.ok() || r->state != SagaState::kSucceeded) {
        failed++;
        return false;
      }
      return true;
    });
    const double n = static_cast<double>(sagas);
    const double store_writes = (StoreOf(*db).synced_writes() - writes_before) / n;
    const double volume_syncs = (VolumeSyncCount() - volume_syncs_before) / n;
    rows.push_back({{"concurrency", threads},
                    {"sagas", sagas},
                    {"sagas_per_sec", t.ops_per_sec},
                    {"p50_ms", t.p50_ms},
                    {"p99_ms", t.p99_ms},
                    {"synced_writes_per_saga", store_writes},
                    {"volume_fsyncs_per_saga", volume_syncs},
                    {"writes_per_saga", (StoreOf(*db).write_attempts() - attempts_before) / n},
                    {"bytes_per_saga", (StoreOf(*db).bytes_written() - bytes_before) / n},
                    {"cpu_ms_per_saga", 1e3 * t.cpu_seconds / n},
                    {"cpu_cores_busy", t.cpu_seconds / t.seconds},
                    {"errors", t.errors}});
  }
  db.reset();
  dir.DeferRemoval("db/volumes");
  if (volumes) volumes->DeferRemoval("volumes");  // same reason, wherever they were made
  return {{"sync", sync},
          {"disks", disks},
          {"volumes_dir", volumes ? "under " + c.volumes_root : "beside the database"},
          {"rows", rows},
          {"peak_rss_mib_so_far", PeakRssMiB()}};
}

nlohmann::json MeasureVolumes(const BenchConfig& c, const std::vector<int>& concurrency) {
  BenchDir dir(c.root, "volumes");
  const std::string volumes = VolumesDirFor(dir.path());
  nlohmann::json rows = nlohmann::json::array();
  for (int threads : concurrency) {
    const uint64_t count = c.quick ? 20 : static_cast<uint64_t>(1000 + 100 * threads);
    const uint64_t syncs_before = VolumeSyncCount();
    Throughput t = RunConcurrently(threads, count, [&](int, uint64_t) {
      return CreateVolume(volumes, Uuid::Generate(), 1ull << 30).ok();
    });
    const double n = static_cast<double>(count);
    rows.push_back({{"concurrency", threads},
                    {"volumes_per_sec", t.ops_per_sec},
                    {"p50_ms", t.p50_ms},
                    {"p99_ms", t.p99_ms},
                    {"fsyncs_per_volume", (VolumeSyncCount() - syncs_before) / n},
                    {"cpu_us_per_volume", 1e6 * t.cpu_seconds / n},
                    {"cpu_cores_busy", t.cpu_seconds / t.seconds},
                    {"errors", t.errors}});
  }
  dir.DeferRemoval("volumes");
  return rows;
}

uint64_t InterruptInstanceCreates(const std::string& path, int sagas, int disks, const std::string& prefix) {
  uint64_t interrupted = 0;
  auto db = OpenDb(path, true, static_cast<size_t>(sagas) + 16);
  InterruptHooks interrupt;
  StoreOf(*db).SetHooks(&interrupt);
  std::vector<SagaHandle> handles;
  std::mutex mu;
  RunConcurrently(16, static_cast<uint64_t>(sagas), [&](int, uint64_t i) {
    tls_starting_thread = true;
    auto h = db->CreateInstance(Request(prefix, i, disks));
    if (!h.ok()) return false;
    std::lock_guard lock(mu);
    handles.push_back(*h);
    return true;
  });
  for (auto& h : handles) {
    auto r = h.Wait();
    if (!r.ok()) interrupted++;
  }
  StoreOf(*db).SetHooks(nullptr);
  return interrupted;
}

nlohmann::json MeasureRecovery(const BenchConfig& c, int sagas, int disks) {
  BenchDir dir(c.root, "recovery");
  const std::string path = (std::filesystem::path(dir.path()) / "db").string();
  const uint64_t interrupted = InterruptInstanceCreates(path, sagas, disks, "r");
  const auto start = std::chrono::steady_clock::now();
  auto db = OpenDb(path, true, static_cast<size_t>(sagas) + 16);
  const double open_total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const RecoveryReport r = db->database().recovery();
  db.reset();
  dir.DeferRemoval("db/volumes");
  return {{"sagas_started", sagas},
          {"disks_per_saga", disks},
          {"interrupted", interrupted},
          {"resumed", r.resumed_forward.size() + r.resumed_unwinding.size()},
          {"load_and_validate_seconds", r.load_seconds},
          {"until_all_finished_seconds", open_total},
          {"succeeded", r.finished_succeeded.size()},
          {"failed", r.finished_failed.size()},
          {"stuck", r.finished_stuck.size() + r.marked_stuck.size()}};
}

nlohmann::json MeasureOverloadRss(const BenchConfig& c, const std::string& sagadb_binary) {
  BenchDir dir(c.root, "overload");
  const std::string db = (std::filesystem::path(dir.path()) / "db").string();
  const std::string out = (std::filesystem::path(dir.path()) / "demo.json").string();
  std::vector<std::string> args = {sagadb_binary, "--db", db, "--json", "demo", "--instances", c.quick ? "4" : "30",
                                   "--disks", "11", "--fail-rate", "0.05", "--seed", "7"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return {{"error", "cannot run " + sagadb_binary}, {"exit_code", -1}, {"peak_rss_mib", 0.0}};
  int status = 0;
  waitpid(pid, &status, 0);
  // The demo reports its own peak RSS (VmHWM): rusage of a spawned child would include the parent's memory.
  std::ifstream in(out);
  nlohmann::json demo = nlohmann::json::parse(in, nullptr, false);
  const double rss = demo.is_object() ? demo.value("peak_rss_mib", 0.0) : 0.0;
  dir.DeferRemoval("db/volumes");
  return {{"command", "sagadb demo --instances 30 --disks 11 --fail-rate 0.05"},
          {"exit_code", WIFEXITED(status) ? WEXITSTATUS(status) : -1},
          {"sagas_per_second", demo.is_object() ? demo.value("sagas_per_second", 0.0) : 0.0},
          {"peak_rss_mib", rss}};
}

}  // namespace sagadb::bench
