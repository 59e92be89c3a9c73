// sagadb_bench: measures, in one run on one directory, the disk's ceiling and what sagadb makes of it.
//
//   sagadb_bench [--dir ./bench-data] [--runs 5] [--json] [--quick] [--only SECTION ...]
//                [--history-sagas 1000000] [--long-sagas 200000] [--long-keep 10000]
//
// Prints a table per section, the targets with their verdicts, and (with --json) every figure as JSON. Every
// figure is the median over --runs runs. See docs/PERFORMANCE.md for results and how to read them.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <iostream>

#include "bench/bench_util.h"
#include "bench/critical_path_bench.h"
#include "bench/engine_bench.h"
#include "bench/history_bench.h"
#include "bench/saga_bench.h"

namespace sagadb::bench {
namespace {

using nlohmann::json;

// The element-wise median of several runs of the same measurement (numbers are replaced by their median;
// everything else is taken from the first run).
json Median(const std::vector<json>& runs) {
  const json& first = runs.front();
  if (first.is_number() && !first.is_number_integer()) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.get<double>());
    return Percentile(v, 0.5);
  }
  if (first.is_number()) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.get<double>());
    return static_cast<int64_t>(Percentile(v, 0.5));
  }
  if (first.is_object()) {
    json out = json::object();
    for (auto it = first.begin(); it != first.end(); ++it) {
      std::vector<json> parts;
      for (const auto& r : runs) parts.push_back(r.at(it.key()));
      out[it.key()] = Median(parts);
    }
    return out;
  }
  if (first.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < first.size(); ++i) {
      std::vector<json> parts;
      for (const auto& r : runs) parts.push_back(r.at(i));
      out.push_back(Median(parts));
    }
    return out;
  }
  return first;
}

// The element-wise extreme (min or max) of several runs, numbers only.
json Extreme(const std::vector<json>& runs, bool max) {
  const json& first = runs.front();
  if (first.is_number()) {
    double v = first.get<double>();
    for (const auto& r : runs) v = max ? std::max(v, r.get<double>()) : std::min(v, r.get<double>());
    return v;
  }
  if (first.is_object() || first.is_array()) {
    json out = first.is_object() ? json::object() : json::array();
    for (auto it = first.begin(); it != first.end(); ++it) {
      std::vector<json> parts;
      for (const auto& r : runs) parts.push_back(first.is_object() ? r.at(it.key()) : r.at(out.size()));
      json e = Extreme(parts, max);
      if (first.is_object()) {
        out[it.key()] = e;
      } else {
        out.push_back(e);
      }
    }
    return out;
  }
  return first;
}

// Runs the measurement `runs` times: the medians, with the spread beside them ("min", "max": the same shape).
template <typename F>
json Repeat(int runs, F&& measure) {
  std::vector<json> all;
  for (int i = 0; i < runs; ++i) all.push_back(measure());
  json out = Median(all);
  if (out.is_object() && runs > 1) {
    out["min"] = Extreme(all, false);
    out["max"] = Extreme(all, true);
  }
  return out;
}

// "412.3 [398.0-430.1]" when the section has a spread, else the median alone.
std::string WithSpread(const json& section, const json& median, const std::function<json(const json&)>& pick,
                       const char* format) {
  std::string out = fmt::format(fmt::runtime(format), median.get<double>());
  if (section.contains("min")) {
    out += fmt::format(" [{}-{}]", fmt::format(fmt::runtime(format), pick(section["min"]).get<double>()),
                       fmt::format(fmt::runtime(format), pick(section["max"]).get<double>()));
  }
  return out;
}

void PrintSagaTable(const std::string& title, const json& s) {
  std::cout << "\n" << title << (s.contains("min") ? " (median [min-max] over the runs)" : "") << "\n";
  std::cout << fmt::format("  {:>4} {:>22} {:>9} {:>9} {:>8} {:>8} {:>10} {:>20} {:>6}\n", "conc", "sagas/s", "p50 ms",
                           "p99 ms", "wr/saga", "vol fs", "bytes", "cpu ms/saga", "cores");
  for (size_t i = 0; i < s["rows"].size(); ++i) {
    const json& r = s["rows"][i];
    auto row = [i](const char* field) { return [i, field](const json& t) { return t["rows"][i][field]; }; };
    std::cout << fmt::format("  {:>4} {:>22} {:>9.2f} {:>9.2f} {:>8.1f} {:>8.1f} {:>10.0f} {:>20} {:>6.2f}\n",
                             r["concurrency"].get<int>(),
                             WithSpread(s, r["sagas_per_sec"], row("sagas_per_sec"), "{:.1f}"),
                             r["p50_ms"].get<double>(), r["p99_ms"].get<double>(),
                             r["synced_writes_per_saga"].get<double>(), r["volume_fsyncs_per_saga"].get<double>(),
                             r["bytes_per_saga"].get<double>(),
                             WithSpread(s, r["cpu_ms_per_saga"], row("cpu_ms_per_saga"), "{:.2f}"),
                             r["cpu_cores_busy"].get<double>());
  }
}

int Main(int argc, char** argv) {
  BenchConfig c;
  int runs = 1;
  bool as_json = false;
  int recovery_sagas = 10'000;
  int recovery_disks = 2;
  std::string sagadb_binary = SAGADB_BINARY;
  std::vector<std::string> only;
  HistoryConfig history;
  LongRunConfig longrun;
  CLI::App app("sagadb_bench: throughput, latency, recovery time and write cost against the disk's limit");
  app.add_option("--dir", c.root, "where scratch databases are made")->capture_default_str();
  app.add_option("--volumes-dir", c.volumes_root,
                 "instance-create sections: make volume files under this directory instead of beside the database");
  app.add_option("--runs", runs, "runs per measurement; figures are medians")->capture_default_str();
  app.add_option("--recovery-sagas", recovery_sagas, "sagas interrupted for the recovery section")->capture_default_str();
  app.add_option("--recovery-disks", recovery_disks, "disks per interrupted saga")->capture_default_str();
  app.add_option("--sagadb", sagadb_binary, "the sagadb binary (for the overload scenario's RSS)");
  app.add_option("--history-sagas", history.finished, "history section: finished sagas in the database")
      ->capture_default_str();
  app.add_option("--history-interrupted", history.interrupted, "history section: interrupted sagas")
      ->capture_default_str();
  app.add_option("--history-disks", history.disks, "history section: disks of each instance-create")
      ->capture_default_str();
  app.add_option("--long-sagas", longrun.sagas, "longrun section: instance-creates in the run")->capture_default_str();
  app.add_option("--long-keep", longrun.keep, "longrun section: finished sagas retention keeps")->capture_default_str();
  app.add_option("--long-concurrency", longrun.concurrency, "longrun section: sagas in flight")->capture_default_str();
  app.add_flag("--json", as_json, "print the figures as JSON");
  app.add_flag("--quick", c.quick, "a smoke run with tiny counts");
  app.add_option("--only", only, "measure only these sections (targets need the sections they read)")
      ->check(CLI::IsMember({"ceiling", "volumes", "path", "sync", "nosync", "recovery", "attach", "overload",
                             "history", "longrun"}));
  CLI11_PARSE(app, argc, argv);
  if (c.quick) {
    recovery_sagas = std::min(recovery_sagas, 100);
    history.finished = std::min<uint64_t>(history.finished, 2'000);
    history.interrupted = std::min(history.interrupted, 10);
    longrun.sagas = std::min<uint64_t>(longrun.sagas, 600);
    longrun.keep = std::min<uint64_t>(longrun.keep, 100);
    longrun.interval_ms = 100;  // so that retention runs within the smoke run's seconds
  }
  history.sagadb_binary = sagadb_binary;
  runs = std::max(runs, 1);

  const std::vector<int> ceiling_levels = {1, 8, 32};
  const std::vector<int> saga_levels = {1, 8, 32, 64};
  auto wanted = [&](std::string_view section) {
    return only.empty() || std::find(only.begin(), only.end(), section) != only.end();
  };
  json report;
  report["runs"] = runs;
  report["allocator"] = SAGADB_ALLOCATOR;
  if (wanted("ceiling")) report["ceiling"] = Repeat(runs, [&] { return MeasureCeiling(c, ceiling_levels); });
  if (wanted("volumes")) report["volumes"] = Repeat(runs, [&] { return MeasureVolumes(c, ceiling_levels); });
  if (wanted("path")) report["critical_path"] = Repeat(runs, [&] { return MeasureCriticalPath(c, 11); });
  if (wanted("sync")) {
    report["instance_create_sync"] = Repeat(runs, [&] { return MeasureInstanceCreate(c, true, 11, saga_levels); });
  }
  if (wanted("nosync")) {
    report["instance_create_nosync"] = Repeat(runs, [&] { return MeasureInstanceCreate(c, false, 11, saga_levels); });
  }
  if (wanted("recovery")) {
    report["recovery"] = Repeat(runs, [&] { return MeasureRecovery(c, recovery_sagas, recovery_disks); });
  }
  if (wanted("attach")) report["attach_detach"] = Repeat(runs, [&] { return MeasureAttachDetach(c, {1, 8}); });
  if (wanted("overload")) report["overload_rss"] = Repeat(runs, [&] { return MeasureOverloadRss(c, sagadb_binary); });
  if (wanted("history")) {
    // One database, measured `runs` times: the medians of its runs.
    json h = MeasureHistory(c, history, runs);
    h["median"] = Median(h["runs"].get<std::vector<json>>());
    report["history"] = h;
  }
  if (wanted("longrun")) report["longrun"] = Repeat(runs, [&] { return MeasureLongRun(c, longrun); });

  // Targets, each from the sections it reads.
  json targets = json::array();
  auto target = [&](std::string name, double value, double limit, bool at_least, std::string unit) {
    bool met = at_least ? value >= limit : value <= limit;
    targets.push_back({{"target", name}, {"value", value}, {"limit", limit}, {"unit", unit}, {"met", met}});
  };
  double batches_at_32 = 0;
  double writes_per_saga = 0;
  double saga_ceiling = 0;
  if (report.contains("ceiling") && report.contains("instance_create_sync")) {
    for (const auto& r : report["ceiling"]["synced_batches"]) {
      if (r["concurrency"] == 32) batches_at_32 = r["batches_per_sec"].get<double>();
    }
    json row32;
    for (const auto& r : report["instance_create_sync"]["rows"]) {
      if (r["concurrency"] == 32) row32 = r;
    }
    writes_per_saga = row32["synced_writes_per_saga"].get<double>();
    saga_ceiling = writes_per_saga > 0 ? batches_at_32 / writes_per_saga : 0;
    const double sagas_at_32 = row32["sagas_per_sec"].get<double>();
    target("instance-create at 32 / saga ceiling (>= 0.75)", saga_ceiling > 0 ? sagas_at_32 / saga_ceiling : 0,
           0.75, true, "ratio");
    report["saga_ceiling_at_32"] = saga_ceiling;
    // The same ratio with the volume files' fsyncs counted as synced writes too (each is one fsync, dearer than
    // a store batch sharing its fsync with a group): context for the target above, not a replacement for it.
    const double all_writes = writes_per_saga + row32["volume_fsyncs_per_saga"].get<double>();
    report["saga_ceiling_at_32_counting_volume_fsyncs"] = all_writes > 0 ? batches_at_32 / all_writes : 0;
  }
  if (report.contains("instance_create_sync")) {
    for (const auto& r : report["instance_create_sync"]["rows"]) {
      if (r["concurrency"] != 32) continue;
      target("p99 / p50 at 32 (<= 2)", r["p99_ms"].get<double>() / std::max(1e-9, r["p50_ms"].get<double>()), 2,
             false, "ratio");
    }
  }
  if (report.contains("critical_path")) {
    const json& p = report["critical_path"];
    target("durable rounds on the critical path of one instance-create x 11 (<= 4)",
           p["critical_path_rounds_p50"].get<double>(), 4, false, "rounds");
    target("p50 of one instance-create alone / the disk's floor (<= 2)", p["alone_over_floor"].get<double>(), 2,
           false, "ratio");
  }
  if (report.contains("recovery")) {
    target("load + validate interrupted sagas' logs (< 1 s)",
           report["recovery"]["load_and_validate_seconds"].get<double>(), 1.0, false, "s");
  }
  if (report.contains("overload_rss")) {
    target("peak RSS of the 30 x 11 overload scenario (< 150 MiB)",
           report["overload_rss"]["peak_rss_mib"].get<double>(), 150, false, "MiB");
  }
  if (report.contains("history")) {
    const json& m = report["history"]["median"];
    target(fmt::format("open + recovery load, {} finished + {} interrupted sagas (< 100 ms)",
                       report["history"]["finished"].get<uint64_t>(), report["history"]["interrupted"].get<uint64_t>()),
           1e3 * m["open"]["open_seconds"].get<double>(), 100, false, "ms");
    target("peak RSS of sagadb check over that history (< 150 MiB)", m["check"]["peak_rss_mib"].get<double>(), 150,
           false, "MiB");
    target("peak RSS of sagadb saga list --limit 100 over it (< 150 MiB)", m["list_100"]["peak_rss_mib"].get<double>(),
           150, false, "MiB");
  }
  if (report.contains("longrun") && report["longrun"].contains("last_over_first")) {
    target("long run: last tenth's sagas/s over the first's (>= 0.85)",
           report["longrun"]["last_over_first"].get<double>(), 0.85, true, "ratio");
  }
  report["targets"] = targets;

  // A benchmark whose work failed measured nothing: say so in the exit code (the suite's smoke run relies on it).
  uint64_t errors = 0;
  for (const char* section : {"instance_create_sync", "instance_create_nosync"}) {
    if (!report.contains(section)) continue;
    for (const auto& r : report[section]["rows"]) errors += r["errors"].get<uint64_t>();
  }
  if (report.contains("ceiling")) {
    for (const auto& r : report["ceiling"]["synced_batches"]) errors += r["errors"].get<uint64_t>();
  }
  if (report.contains("attach_detach")) {
    for (const auto& r : report["attach_detach"]) errors += r["errors"].get<uint64_t>();
  }
  if (report.contains("recovery")) errors += report["recovery"]["stuck"].get<uint64_t>();
  if (report.contains("longrun")) errors += report["longrun"]["errors"].get<uint64_t>();
  if (report.contains("history")) {
    for (const auto& run : report["history"]["runs"]) {
      for (const char* tool : {"check", "list_100", "list_running", "stalled"}) {
        if (run[tool]["exit_code"].get<int>() != 0) errors++;
      }
    }
  }
  const bool demo_ok = !report.contains("overload_rss") || report["overload_rss"].value("exit_code", -1) == 0;
  if (report.contains("volumes")) {
    for (const auto& r : report["volumes"]) errors += r["errors"].get<uint64_t>();
  }
  const int exit_code = errors == 0 && demo_ok ? 0 : 1;
  report["errors"] = errors;
  RemoveDeferred();

  if (as_json) {
    std::cout << report.dump(2) << "\n";
    return exit_code;
  }
  std::cout << fmt::format("sagadb_bench: medians of {} run(s), scratch databases under {}, allocator {}\n", runs,
                           c.root, SAGADB_ALLOCATOR);
  if (report.contains("ceiling")) {
    std::cout << "\nceiling: synced single-key WriteBatches (raw fdatasync: "
              << fmt::format("{:.0f}/s)\n", report["ceiling"]["raw_fdatasync_per_sec"].get<double>());
    for (const auto& r : report["ceiling"]["synced_batches"]) {
      std::cout << fmt::format(
          "  concurrency {:>3}: {:>8.0f} batches/s  p50 {:.3f} ms  p99 {:.3f} ms  cpu {:.1f} us/batch ({:.2f} cores)\n",
          r["concurrency"].get<int>(), r["batches_per_sec"].get<double>(), r["p50_ms"].get<double>(),
          r["p99_ms"].get<double>(), r["cpu_us_per_batch"].get<double>(), r["cpu_cores_busy"].get<double>());
    }
  }
  if (report.contains("volumes")) {
    std::cout << "\nvolume files (disk-create's external step: create, size, fsync file and directory)\n";
    for (const auto& r : report["volumes"]) {
      std::cout << fmt::format(
          "  concurrency {:>3}: {:>8.0f} volumes/s  p50 {:.3f} ms  p99 {:.3f} ms  cpu {:.1f} us/volume ({:.2f} "
          "cores)\n",
          r["concurrency"].get<int>(), r["volumes_per_sec"].get<double>(), r["p50_ms"].get<double>(),
          r["p99_ms"].get<double>(), r["cpu_us_per_volume"].get<double>(), r["cpu_cores_busy"].get<double>());
    }
  }
  if (report.contains("critical_path")) {
    const json& p = report["critical_path"];
    std::cout << fmt::format(
        "\none instance-create x 11 alone against the disk's floor (batch, volume file, batch), {} samples\n"
        "  floor p50 {:.2f} ms (p99 {:.2f})   saga alone p50 {:.2f} ms (p99 {:.2f})   ratio {:.2f}\n"
        "  durable rounds on its critical path: median {:.0f}, most {:.0f}; synced writes {:.0f}\n",
        p["samples"].get<int>(), p["floor_p50_ms"].get<double>(), p["floor_p99_ms"].get<double>(),
        p["alone_p50_ms"].get<double>(), p["alone_p99_ms"].get<double>(), p["alone_over_floor"].get<double>(),
        p["critical_path_rounds_p50"].get<double>(), p["critical_path_rounds_max"].get<double>(),
        p["synced_writes_per_saga"].get<double>());
  }
  if (report.contains("instance_create_sync")) {
    PrintSagaTable("instance-create, 11 disks, sync on", report["instance_create_sync"]);
  }
  if (report.contains("instance_create_nosync")) {
    PrintSagaTable("instance-create, 11 disks, sync off (the engine's own CPU cost)", report["instance_create_nosync"]);
  }
  if (report.contains("recovery")) {
  const json& rec = report["recovery"];
  std::cout << fmt::format(
      "\nrecovery: {} sagas started ({} disks each), {} interrupted, {} resumed\n  load + validate {:.3f} s, until all "
      "finished {:.2f} s ({} succeeded, {} failed, {} stuck)\n",
      rec["sagas_started"].get<int>(), rec["disks_per_saga"].get<int>(), rec["interrupted"].get<int>(),
      rec["resumed"].get<int>(), rec["load_and_validate_seconds"].get<double>(),
      rec["until_all_finished_seconds"].get<double>(), rec["succeeded"].get<int>(), rec["failed"].get<int>(),
      rec["stuck"].get<int>());
  }
  if (report.contains("attach_detach")) {
    std::cout << "\nattach/detach (each one synced batch)\n";
    for (const auto& r : report["attach_detach"]) {
      std::cout << fmt::format("  {} thread(s): {:.0f} operations/s\n", r["threads"].get<int>(),
                               r["operations_per_sec"].get<double>());
    }
  }
  if (report.contains("overload_rss")) {
    std::cout << fmt::format("\noverload scenario (sagadb demo, 30 x 11, 5%): peak RSS {:.1f} MiB, exit {}\n",
                             report["overload_rss"]["peak_rss_mib"].get<double>(),
                             report["overload_rss"]["exit_code"].get<int>());
  }
  if (report.contains("history")) {
    const json& h = report["history"];
    const json& m = h["median"];
    std::cout << fmt::format(
        "\nhistory: {} finished sagas ({} disks each, {:.0f} bytes written per saga, generated in {:.0f} s) + {} "
        "interrupted; database {:.0f} MiB\n",
        h["finished"].get<uint64_t>(), h["disks_per_saga"].get<int>(), h["bytes_per_saga"].get<double>(),
        h["generate_seconds"].get<double>(), h["interrupted"].get<uint64_t>(), h["db_mib"].get<double>());
    std::cout << fmt::format("  open (until Open returns, interrupted sagas resumed): {:.1f} ms, recovery load {:.1f} ms, "
                             "{} read in flight\n",
                             1e3 * m["open"]["open_seconds"].get<double>(),
                             1e3 * m["open"]["recovery_load_seconds"].get<double>(),
                             m["open"]["in_flight_read"].get<uint64_t>());
    for (const char* tool : {"check", "list_100", "list_running", "stalled"}) {
      std::cout << fmt::format("  {:<13} {:>8.2f} s  peak RSS {:>6.1f} MiB{}  exit {}\n", tool,
                               m[tool]["seconds"].get<double>(), m[tool]["peak_rss_mib"].get<double>(),
                               m[tool]["rss_exact"].get<bool>() ? "" : " (sampled)", m[tool]["exit_code"].get<int>());
    }
  }
  if (report.contains("longrun")) {
    const json& l = report["longrun"];
    std::cout << fmt::format("\nlong run: {} instance-creates ({} disk), {} in flight, retention keeps {}\n",
                             l["sagas"].get<uint64_t>(), l["disks"].get<int>(), l["concurrency"].get<int>(),
                             l["keep"].get<uint64_t>());
    std::cout << fmt::format("  {:>6} {:>9} {:>12} {:>9} {:>9} {:>14} {:>9}\n", "tenth", "sagas/s", "cpu ms/saga",
                             "db MiB", "RSS MiB", "finished kept", "pruned");
    int k = 1;
    for (const auto& t : l["tenths"]) {
      std::cout << fmt::format("  {:>6} {:>9.1f} {:>12.2f} {:>9.1f} {:>9.1f} {:>14} {:>9}\n", k++,
                               t["sagas_per_sec"].get<double>(), t["cpu_ms_per_saga"].get<double>(),
                               t["db_mib"].get<double>(), t["rss_mib"].get<double>(),
                               t["finished_kept"].get<uint64_t>(), t["pruned"].get<uint64_t>());
    }
  }
  if (saga_ceiling > 0) {
    std::cout << fmt::format(
        "\nsaga ceiling at 32 = {:.0f} batches/s / {:.1f} synced writes per saga = {:.1f} sagas/s\n", batches_at_32,
        writes_per_saga, saga_ceiling);
    std::cout << fmt::format("  counting the volume files' fsyncs as synced writes too: {:.1f} sagas/s\n",
                             report["saga_ceiling_at_32_counting_volume_fsyncs"].get<double>());
  }
  std::cout << "\ntargets\n";
  for (const auto& t : targets) {
    std::cout << fmt::format("  [{}] {}: {:.3f} {}\n", t["met"].get<bool>() ? "met " : "MISS",
                             t["target"].get<std::string>(), t["value"].get<double>(), t["unit"].get<std::string>());
  }
  if (exit_code != 0) std::cout << fmt::format("\n{} operation(s) failed; demo exit ok: {}\n", errors, demo_ok);
  return exit_code;
}

}  // namespace
}  // namespace sagadb::bench

int main(int argc, char** argv) { return sagadb::bench::Main(argc, argv); }
