#include "bench/critical_path_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <utility>

#include "base/clock.h"
#include "bench/bench_util.h"
#include "controlplane/volumes.h"
#include "db/database_impl.h"
#include "engine/write_hooks.h"
#include "log/saga_log.h"
#include "sagadb/control_plane.h"

namespace sagadb::bench {
namespace {

using Interval = std::pair<int64_t, int64_t>;  // [begin, end] in ns since the epoch

// Records when each store write began and ended.
class WriteTimes : public StoreHooks {
 public:
  Status BeforeWrite(uint64_t) override {
    std::lock_guard lock(mu_);
    open_.push_back(NowNs());
    return Status::OK();
  }
  void AfterWrite(uint64_t) override {
    std::lock_guard lock(mu_);
    if (open_.empty()) return;
    done_.emplace_back(open_.front(), NowNs());
    open_.erase(open_.begin());
  }
  std::vector<Interval> Take() {
    std::lock_guard lock(mu_);
    std::vector<Interval> out = std::move(done_);
    done_.clear();
    open_.clear();
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<int64_t> open_;
  std::vector<Interval> done_;
};

// The number of waits one after another: intervals that overlap were waited for at once.
int SequentialRounds(std::vector<Interval> v) {
  std::sort(v.begin(), v.end());
  int rounds = 0;
  int64_t end = -1;
  for (const auto& [b, e] : v) {
    if (b > end) rounds++;
    end = std::max(end, e);
  }
  return rounds;
}

std::unique_ptr<ControlPlane> OpenSynced(const std::string& path) {
  DatabaseOptions o;
  o.path = path;
  auto db = ControlPlane::Open(o);
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  return std::move(*db);
}

}  // namespace

nlohmann::json MeasureCriticalPath(const BenchConfig& c, int disks) {
  BenchDir dir(c.root, "critical-path");
  auto cp = OpenSynced((std::filesystem::path(dir.path()) / "db").string());
  Store& store = cp->database().impl().store();
  const TableId scratch = *store.FindTable("names");
  const SagaLog log(&store);
  WriteTimes times;
  const int samples = c.quick ? 5 : 200;
  std::vector<double> floor_ms, saga_ms;
  std::vector<double> rounds, writes;
  // Warm-up: the first files of a shard directory and the first writes of a new database cost more.
  for (int i = 0; i < (c.quick ? 1 : 20); ++i) {
    InstanceCreateRequest r{"bench", fmt::format("warm-{}", i), 1, 1ull << 30, {}};
    for (int d = 0; d < disks; ++d) r.disks.push_back({fmt::format("warm-{}-d{}", i, d), 1ull << 30});
    auto h = cp->CreateInstance(r);
    if (h.ok()) (void)h->Wait();
  }
  for (int i = 0; i < samples; ++i) {
    // The floor: what an instance-create must wait for at the least, one after another: a synced batch (the
    // records and the volumes' starts), a volume file (the files are made in parallel: one of them), a synced
    // batch (the outcomes, the attaches, the end).
    {
      const auto start = std::chrono::steady_clock::now();
      Batch first;
      first.Put(scratch, fmt::format("floor-{}-a", i), std::string(2000, 'f'));
      Status st = store.Write(first);
      if (st.ok()) st = CreateVolume(cp->volumes_dir(), Uuid::Generate(), 1ull << 30);
      Batch last;
      last.Put(scratch, fmt::format("floor-{}-b", i), std::string(2000, 'f'));
      if (st.ok()) st = store.Write(last);
      if (!st.ok()) throw std::runtime_error(st.ToString());
      floor_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    // One instance-create alone, its durable waits timed: every store write (a hook) and every external step
    // (its succeeded event says when the attempt began and ended).
    {
      InstanceCreateRequest r{"bench", fmt::format("alone-{}", i), 1, 1ull << 30, {}};
      for (int d = 0; d < disks; ++d) r.disks.push_back({fmt::format("alone-{}-d{}", i, d), 1ull << 30});
      store.SetHooks(&times);
      const uint64_t writes_before = store.synced_writes();
      const auto start = std::chrono::steady_clock::now();
      auto h = cp->CreateInstance(r);
      auto result = h.ok() ? h->Wait() : Result<SagaResult>(h.status());
      saga_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      store.SetHooks(nullptr);
      if (!result.ok() || result->state != SagaState::kSucceeded) throw std::runtime_error("a saga alone failed");
      std::vector<Interval> waits = times.Take();
      writes.push_back(static_cast<double>(store.synced_writes() - writes_before));
      auto record = log.ReadRecord(result->id);
      auto events = log.ReadEvents(result->id);
      if (!record.ok() || !events.ok()) throw std::runtime_error("reading a saga's log failed");
      for (const auto& e : *events) {
        const DagNode& node = record->nodes[e.event.node];
        if (e.event.type == EventType::kSucceeded && node.action == "disk.create_volume") {
          waits.emplace_back(e.event.start_ns, e.event.time_ns);
        }
      }
      rounds.push_back(SequentialRounds(std::move(waits)));
    }
  }
  dir.DeferRemoval("db/volumes");
  const double floor_p50 = Percentile(floor_ms, 0.5);
  const double saga_p50 = Percentile(saga_ms, 0.5);
  return {{"disks", disks},
          {"samples", samples},
          {"floor_p50_ms", floor_p50},
          {"floor_p99_ms", Percentile(floor_ms, 0.99)},
          {"alone_p50_ms", saga_p50},
          {"alone_p99_ms", Percentile(saga_ms, 0.99)},
          {"alone_over_floor", floor_p50 > 0 ? saga_p50 / floor_p50 : 0},
          {"critical_path_rounds_p50", Percentile(rounds, 0.5)},
          {"critical_path_rounds_max", *std::max_element(rounds.begin(), rounds.end())},
          {"synced_writes_per_saga", Percentile(writes, 0.5)}};
}

}  // namespace sagadb::bench
