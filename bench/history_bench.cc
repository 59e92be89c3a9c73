#include "bench/history_bench.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "bench/bench_util.h"
#include "bench/saga_bench.h"
#include "controlplane/control_plane.h"
#include "controlplane/volumes.h"
#include "db/database_impl.h"
#include "engine/fault_injector.h"
#include "log/saga_index.h"
#include "log/saga_log.h"
#include "sagadb/control_plane.h"

namespace sagadb::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

DatabaseOptions Options(const std::string& path) {
  DatabaseOptions o;
  o.path = path;
  o.executor.max_in_flight = 1024;
  return o;
}

// Writes `count` finished instance-creates, each a copy of a real one under a new id with its times moved, 1 ms
// apart, ending now: the record, every event and the index entries, as the saga log writes them.
void Generate(const std::string& path, uint64_t count, int disks, json* out) {
  DatabaseOptions o = Options(path);
  o.retention.enabled = false;
  auto cp = ControlPlane::Open(o);
  if (!cp.ok()) throw std::runtime_error(cp.status().ToString());
  auto h = (*cp)->CreateInstance(Request("template", 0, disks));
  if (!h.ok() || !h->Wait().ok()) throw std::runtime_error("the template saga failed");
  Store& store = (*cp)->database().impl().store();
  const SagaLog log(&store);
  const SagaRecord tmpl = *log.ReadRecord(h->id());
  const std::vector<LoggedEvent> events = *log.ReadEvents(h->id());
  const auto start = std::chrono::steady_clock::now();
  const uint64_t bytes_before = store.bytes_written();
  Batch batch;
  for (uint64_t i = 0; i < count; ++i) {
    SagaRecord r = tmpl;
    r.id = Uuid::Generate();
    const int64_t shift = -static_cast<int64_t>(count - i) * 1'000'000;
    r.created_ns += shift;
    r.modified_ns += shift;
    r.finished_ns += shift;
    log.StageRecord(&batch, r);
    for (const LoggedEvent& e : events) {
      SagaEvent moved = e.event;
      moved.time_ns += shift;
      if (moved.start_ns != 0) moved.start_ns += shift;
      log.StageEvent(&batch, r.id, e.seq, moved);
    }
    if (batch.count() >= 20'000 || i + 1 == count) {
      Status st = store.Write(batch);
      if (!st.ok()) throw std::runtime_error(st.ToString());
      batch.Clear();
    }
  }
  (*out)["generated"] = count;
  (*out)["generate_seconds"] = Since(start);
  (*out)["bytes_per_saga"] = count ? static_cast<double>(store.bytes_written() - bytes_before) / count : 0;
  (*out)["events_per_saga"] = events.size();
}

// Every table compacted: the database as it settles after years, not as a bulk load leaves it.
void Compact(const std::string& path) {
  std::vector<std::string> names;
  rocksdb::DBOptions options;
  if (!rocksdb::DB::ListColumnFamilies(options, path, &names).ok()) return;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, path, descriptors, &handles, &raw).ok()) return;
  for (auto* h : handles) raw->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr).PermitUncheckedError();
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  raw->Close().PermitUncheckedError();
  delete raw;
}

// One open as an appliance does it after a crash: recovery resumes the interrupted sagas (their writes are
// refused, so that the database stays as it was for the next run).
json MeasureOpen(const std::string& path) {
  DatabaseOptions o = Options(path);
  o.wait_for_recovery = false;
  o.retention.policy.max_finished.reset();
  o.retention.policy.max_age.reset();
  FaultInjector refuse;
  refuse.FailWritesFrom(1, Status::IOError("benchmark: writes refused"));
  OpenSeams seams;
  seams.hooks = &refuse;
  const auto start = std::chrono::steady_clock::now();
  auto db = OpenDatabase(o, {std::make_shared<ControlPlaneDomain>(path, ControlPlaneOptions{})}, seams);
  const double open = Since(start);
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  const RecoveryReport& r = (*db)->recovery();
  json j = {{"open_seconds", open},
            {"recovery_load_seconds", r.load_seconds},
            {"in_flight_read", r.scanned},
            {"resumed", r.resumed_forward.size() + r.resumed_unwinding.size()}};
  db->reset();
  return j;
}

json Tool(const std::string& binary, const std::string& db, std::vector<std::string> args, const std::string& out) {
  args.insert(args.begin(), {binary, "--db", db});
  ChildRun run = RunMeasured(args, out);
  json j = {{"exit_code", run.exit_code}, {"seconds", run.seconds}, {"peak_rss_mib", run.peak_rss_mib},
            {"rss_exact", run.rss_exact}};
  std::ifstream in(out);
  json printed = json::parse(in, nullptr, false);
  if (printed.is_object() && printed.contains("sagas")) {
    j["rows"] = printed["sagas"].is_array() ? printed["sagas"].size() : printed["sagas"].get<size_t>();
  }
  if (printed.is_object() && printed.contains("ok")) j["ok"] = printed["ok"];
  return j;
}

}  // namespace

json MeasureHistory(const BenchConfig& c, const HistoryConfig& h, int runs) {
  BenchDir dir(c.root, "history");
  const std::string path = (fs::path(dir.path()) / "db").string();
  json out = {{"finished", h.finished}, {"interrupted_started", h.interrupted}, {"disks_per_saga", h.disks}};
  Generate(path, h.finished, h.disks, &out);
  out["interrupted"] = InterruptInstanceCreates(path, h.interrupted, h.disks, "live");
  auto start = std::chrono::steady_clock::now();
  Compact(path);
  out["compact_seconds"] = Since(start);
  out["db_mib"] = static_cast<double>(DirBytes(path, "volumes")) / (1 << 20);

  const std::string printed = (fs::path(dir.path()) / "out.json").string();
  std::vector<json> all;
  for (int i = 0; i < runs; ++i) {
    json run;
    run["open"] = MeasureOpen(path);
    run["check"] = Tool(h.sagadb_binary, path, {"check", "--json"}, printed);
    run["list_100"] = Tool(h.sagadb_binary, path, {"saga", "list", "--limit", "100", "--json"}, printed);
    run["list_running"] =
        Tool(h.sagadb_binary, path, {"saga", "list", "--state", "running", "--limit", "100", "--json"}, printed);
    run["stalled"] = Tool(h.sagadb_binary, path, {"saga", "list", "--stalled", "1s", "--json"}, printed);
    all.push_back(run);
  }
  out["runs"] = all;
  dir.DeferRemoval("db/volumes");
  return out;
}

json MeasureLongRun(const BenchConfig& c, const LongRunConfig& l) {
  BenchDir dir(c.root, "longrun");
  const std::string path = (fs::path(dir.path()) / "db").string();
  std::optional<BenchDir> volumes;
  if (!c.volumes_root.empty()) volumes.emplace(c.volumes_root, "long-volumes");
  DatabaseOptions o = Options(path);
  o.retention.policy.max_finished = l.keep;
  o.retention.policy.max_age.reset();
  if (l.interval_ms > 0) o.retention.interval = std::chrono::milliseconds(l.interval_ms);
  ControlPlaneOptions cpo;
  if (volumes) cpo.volumes_dir = VolumesDirFor(volumes->path());
  auto cp = ControlPlane::Open(o, cpo);
  if (!cp.ok()) throw std::runtime_error(cp.status().ToString());
  Store& store = (*cp)->database().impl().store();

  const uint64_t tenth = std::max<uint64_t>(1, l.sagas / 10);
  std::atomic<uint64_t> next{0}, done{0}, errors{0};
  std::mutex mu;
  std::vector<json> tenths;  // guarded by mu
  auto last = std::chrono::steady_clock::now();  // guarded by mu
  const double cpu_start = ProcessCpuSeconds();
  double cpu_last = cpu_start;  // guarded by mu
  auto finished_kept = [&] {
    uint64_t n = 0;
    IndexCursor f(store, IndexCursor::kFinished);
    for (f.SeekToFirst(); f.Valid(); f.Next()) n++;
    return n;
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < l.concurrency; ++t) {
    workers.emplace_back([&] {
      for (uint64_t i = next++; i < l.sagas; i = next++) {
        auto hnd = (*cp)->CreateInstance(Request("long", i, l.disks));
        auto r = hnd.ok() ? hnd->Wait() : Result<SagaResult>(hnd.status());
        if (!r.ok() || r->state != SagaState::kSucceeded) {
          // The first few are said: a count alone does not tell a halted saga from a failed one.
          if (errors++ < 5) {
            std::fprintf(stderr, "long run: saga %llu: %s\n", static_cast<unsigned long long>(i),
                         r.ok() ? fmt::format("{} at {}: {}", ToString(r->state), r->error_node, r->error.ToString()).c_str()
                                : r.status().ToString().c_str());
          }
        }
        const uint64_t d = ++done;
        if (d % tenth != 0) continue;
        std::lock_guard lock(mu);
        const auto now = std::chrono::steady_clock::now();
        const double secs = std::chrono::duration<double>(now - last).count();
        const double cpu = ProcessCpuSeconds();
        tenths.push_back({{"done", d},
                          {"sagas_per_sec", static_cast<double>(tenth) / secs},
                          {"cpu_ms_per_saga", 1e3 * (cpu - cpu_last) / static_cast<double>(tenth)},
                          {"db_mib", static_cast<double>(DirBytes(path, "volumes")) / (1 << 20)},
                          {"rss_mib", CurrentRssMiB()},
                          {"finished_kept", finished_kept()},
                          {"pruned", (*cp)->database().impl().retention()->removed()}});
        last = now;
        cpu_last = cpu;
      }
    });
  }
  for (auto& w : workers) w.join();
  std::sort(tenths.begin(), tenths.end(), [](const json& a, const json& b) { return a["done"] < b["done"]; });
  json out = {{"sagas", l.sagas}, {"keep", l.keep}, {"concurrency", l.concurrency}, {"disks", l.disks},
              {"errors", errors.load()}, {"tenths", tenths}};
  if (tenths.size() >= 10) {
    const double first = tenths.front()["sagas_per_sec"].get<double>();
    const double lastrate = tenths.back()["sagas_per_sec"].get<double>();
    out["last_over_first"] = first > 0 ? lastrate / first : 0;
    // Flat once retention has kicked in: the last tenth against the third (the first tenths fill up to `keep`).
    out["db_last_over_third"] = tenths[9]["db_mib"].get<double>() / std::max(1e-9, tenths[2]["db_mib"].get<double>());
    out["rss_last_over_third"] =
        tenths[9]["rss_mib"].get<double>() / std::max(1e-9, tenths[2]["rss_mib"].get<double>());
  }
  cp->reset();
  dir.DeferRemoval("db/volumes");
  if (volumes) volumes->DeferRemoval("volumes");
  return out;
}

}  // namespace sagadb::bench
