#include "bench/engine_bench.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "bench/bench_util.h"
#include "controlplane/datastore.h"
#include "engine/keys.h"
#include "engine/store.h"

namespace sagadb::bench {
namespace {

std::unique_ptr<Store> OpenStore(const std::string& path) {
  StoreConfig config;
  config.path = path;
  config.tables = {kInstancesTable, kDisksTable, kNamesTable};
  auto store = Store::Open(config);
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  return std::move(*store);
}

double RawFsyncsPerSecond(const std::string& dir, int count) {
  const std::string path = (std::filesystem::path(dir) / "fsync-probe").string();
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return 0;
  char block[512] = {};
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    if (::write(fd, block, sizeof(block)) != static_cast<ssize_t>(sizeof(block)) || ::fdatasync(fd) != 0) break;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  return count / secs;
}

}  // namespace

nlohmann::json MeasureCeiling(const BenchConfig& c, const std::vector<int>& concurrency) {
  BenchDir dir(c.root, "ceiling");
  nlohmann::json out;
  out["raw_fdatasync_per_sec"] = RawFsyncsPerSecond(dir.path(), c.quick ? 50 : 3000);
  auto store = OpenStore((std::filesystem::path(dir.path()) / "db").string());
  const std::string value(100, 'v');
  const TableId table = *store->FindTable(kNamesTable);
  nlohmann::json rows = nlohmann::json::array();
  for (int threads : concurrency) {
    const uint64_t ops = c.quick ? 100 : static_cast<uint64_t>(threads == 1 ? 4000 : 4000 + 500 * threads);
    Throughput t = RunConcurrently(threads, ops, [&](int, uint64_t i) {
      Batch b;
      b.Put(table, BigEndian64(i * 1000 + static_cast<uint64_t>(threads)), value);
      return store->Write(b).ok();
    });
    rows.push_back({{"concurrency", threads}, {"batches_per_sec", t.ops_per_sec}, {"p50_ms", t.p50_ms},
                    {"p99_ms", t.p99_ms}, {"cpu_us_per_batch", 1e6 * t.cpu_seconds / static_cast<double>(t.ops)},
                    {"cpu_cores_busy", t.cpu_seconds / t.seconds}, {"errors", t.errors}});
  }
  out["synced_batches"] = rows;
  return out;
}

nlohmann::json MeasureAttachDetach(const BenchConfig& c, const std::vector<int>& thread_counts) {
  nlohmann::json rows = nlohmann::json::array();
  for (int threads : thread_counts) {
    BenchDir dir(c.root, "attach");
    auto store = OpenStore((std::filesystem::path(dir.path()) / "db").string());
    KeyLocks locks;
    auto opened = Datastore::Open(store.get(), &locks);
    if (!opened.ok()) throw std::runtime_error(opened.status().ToString());
    Datastore& ds = **opened;
    // One instance per thread, with one disk it attaches and detaches over and over.
    std::vector<Uuid> vms, disks;
    const DiskState creating[] = {DiskState::kCreating};
    for (int t = 0; t < threads; ++t) {
      InstanceSpec vm{Uuid::Generate(), "bench", "vm-" + std::to_string(t)};
      DiskSpec disk{Uuid::Generate(), "bench", "disk-" + std::to_string(t), 1 << 30};
      if (!ds.CreateInstance(vm).ok() || !ds.CreateDisk(disk).ok() ||
          !ds.SetDiskState(disk.id, creating, DiskState::kDetached).ok()) {
        throw std::runtime_error("attach bench setup failed");
      }
      vms.push_back(vm.id);
      disks.push_back(disk.id);
    }
    const uint64_t pairs = c.quick ? 50 : static_cast<uint64_t>(2000 + 400 * threads);
    Throughput t = RunConcurrently(threads, pairs, [&](int th, uint64_t) {
      return ds.AttachDisk(disks[th], vms[th]).ok() && ds.DetachDisk(disks[th], vms[th]).ok();
    });
    rows.push_back({{"threads", threads},
                    {"attach_detach_pairs_per_sec", t.ops_per_sec},
                    {"operations_per_sec", 2 * t.ops_per_sec},
                    {"errors", t.errors}});
  }
  return rows;
}

}  // namespace sagadb::bench
