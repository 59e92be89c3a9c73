#include "tools/mutate_commands.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "controlplane/names.h"
#include "controlplane/check.h"
#include "controlplane/control_plane.h"
#include "controlplane/requests.h"
#include "sagadb/control_plane.h"
#include "controlplane/overload.h"
#include "controlplane/volumes.h"
#include "db/database_impl.h"
#include "tools/progress.h"
#include "tools/records_json.h"
#include "tools/units.h"

namespace sagadb::tool {
namespace {

// This process's peak resident set size (VmHWM of its own address space, so not inflated by whatever the
// parent had mapped before exec, as rusage's ru_maxrss can be), in MiB; 0 if unknown.
double PeakRssMiB() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  double kib = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "VmHWM: %lf kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib / 1024.0;
}

Result<std::unique_ptr<ControlPlane>> OpenOwned(const GlobalOptions& g, bool create) {
  SAGADB_ASSIGN_OR_RETURN(std::shared_ptr<FaultPlan> drill, DrillPlan(g.drills));
  SAGADB_RETURN_IF_ERROR(RefuseIfInUse(g.db));
  DatabaseOptions o;
  o.path = g.db;
  o.create_if_missing = create;
  o.logger = StderrLogger();
  SAGADB_ASSIGN_OR_RETURN(auto cp, OpenToChange(o));
  if (drill) cp->database().impl().executor().SetFaultPlan(std::move(drill));
  return cp;
}

// Waits for the saga and prints its outcome; the exit code says whether it succeeded. Every command checks its
// request before it takes the database (bad usage exits 2 there), so a saga refused at its start is the
// operation failing, whatever the error's code.
int Finish(const GlobalOptions& g, Result<SagaHandle> handle, const std::function<void()>& print_success) {
  if (!handle.ok()) return Fail(handle.status());
  auto r = handle->Wait();
  if (!r.ok()) return Fail(r.status());
  if (r->state == SagaState::kSucceeded) {
    print_success();
    return kExitOk;
  }
  const std::string what = r->state == SagaState::kStuck    ? "is stuck"
                           : r->state == SagaState::kPaused ? "is paused (the next open, or saga resume, retries it)"
                                                            : "failed and was unwound";
  std::fprintf(stderr, "sagadb: saga %s %s at %s: %s\n", r->id.ToString().c_str(), what.c_str(),
               r->error_node.c_str(), r->error.message().c_str());
  return kExitFailed;
}

// A name the request would create that is already taken is refused here, before anything is written: the saga
// would refuse it too, but only after recording itself as a failed saga.
Status RefuseTakenName(Store& store, RecordKind kind, const std::string& project, const std::string& name) {
  SAGADB_ASSIGN_OR_RETURN(auto ds, RecordsOf(store));
  const bool instance = kind == RecordKind::kInstance;
  auto id = instance ? ds->LookupInstance(project, name) : ds->LookupDisk(project, name);
  if (id.ok()) {
    return Status::Conflict(fmt::format("{} named \"{}\" already exists in project \"{}\"",
                                        instance ? "an instance" : "a disk", name, project));
  }
  return id.status().IsNotFound() ? Status::OK() : id.status();
}

void PrintInstance(const GlobalOptions& g, Datastore& ds, const Uuid& id) {
  auto inst = ds.GetInstance(id);
  if (!inst.ok()) return;
  if (g.json) {
    PrintJson(InstanceJson(*inst));
  } else {
    std::cout << "instance " << inst->name << " " << inst->id.ToString() << " " << ToString(inst->state) << ", "
              << inst->attached.size() << " disk(s)\n";
  }
}

void PrintDisk(const GlobalOptions& g, Datastore& ds, const Uuid& id) {
  auto disk = ds.GetDisk(id);
  if (!disk.ok()) return;
  if (g.json) {
    PrintJson(DiskJson(*disk));
  } else {
    std::cout << "disk " << disk->name << " " << disk->id.ToString() << " " << ToString(disk->state);
    if (disk->instance_id) std::cout << " on " << disk->instance_id->ToString() << " slot " << disk->slot;
    std::cout << "\n";
  }
}

// Runs a saga on records that must already exist. They are resolved twice: on a secondary first, so that an
// unknown name is refused before the database is taken, and then on the owned database, which is
// authoritative. `resolve(store)` gives the ids; `run(db, ids)` starts the saga and finishes the command.
template <typename Resolve, typename Run>
int OnExistingRecords(const GlobalOptions& g, const Resolve& resolve, const Run& run) {
  if (auto preflight = PrepareToOwn(g, false); !preflight.ok()) {
    return Fail(preflight.status());
  } else if (auto ids = resolve(**preflight); !ids.ok()) {
    return Fail(ids.status());
  }
  auto db = OpenOwned(g, false);
  if (!db.ok()) return Fail(db.status());
  auto ids = resolve(*(*db)->datastore().store());
  if (!ids.ok()) return Fail(ids.status());
  return run(**db, *ids);
}

}  // namespace

int InstanceCreate(const GlobalOptions& g, const InstanceCreateArgs& a) {
  // Everything the request alone can refuse is refused before the database is touched.
  if (Status st = ValidateName(a.name, "instance name"); !st.ok()) return UsageError(st.message());
  if (Status st = ValidateName(g.project, "project"); !st.ok()) return UsageError(st.message());
  auto disk_size = ParseSize(a.disk_size);
  if (!disk_size) return UsageError(fmt::format("--disk-size \"{}\" is not a size (e.g. 10GiB)", a.disk_size));
  auto memory = ParseSize(a.memory);
  if (!memory) return UsageError(fmt::format("--memory \"{}\" is not a size (e.g. 4GiB)", a.memory));
  if (a.disks < 0 || a.disks > kMaxDisksPerInstance) {
    return UsageError(fmt::format("--disks must be 0-{}", kMaxDisksPerInstance));
  }
  if (a.cpus == 0) return UsageError("--cpus must be at least 1");
  InstanceCreateRequest req{g.project, a.name, a.cpus, *memory, {}};
  for (int i = 0; i < a.disks; ++i) req.disks.push_back({fmt::format("{}-d{}", a.name, i), *disk_size});
  auto params = PlanInstanceCreate(req);
  if (!params.ok()) return UsageError(params.status().message());
  if (auto preflight = PrepareToOwn(g, true); !preflight.ok()) {
    return Fail(preflight.status());
  } else if (*preflight) {
    Status st = RefuseTakenName(**preflight, RecordKind::kInstance, g.project, a.name);
    for (size_t i = 0; st.ok() && i < req.disks.size(); ++i) {
      st = RefuseTakenName(**preflight, RecordKind::kDisk, g.project, req.disks[i].name);
    }
    if (!st.ok()) return Fail(st);
  }
  auto db = OpenOwned(g, true);
  if (!db.ok()) return Fail(db.status());
  return Finish(g, StartInstanceCreate(**db, *params),
                [&] { PrintInstance(g, (*db)->datastore(), params->instance_id); });
}

int InstanceDelete(const GlobalOptions& g, const std::string& id_or_name) {
  return OnExistingRecords(
      g, [&](Store& store) { return ResolveExistingRecord(store, g, RecordKind::kInstance, id_or_name); },
      [&](ControlPlane& cp, const Uuid& id) {
        return Finish(g, cp.DeleteInstance(id), [&] { PrintInstance(g, cp.datastore(), id); });
      });
}

int DiskCreate(const GlobalOptions& g, const std::string& name, const std::string& size_text) {
  if (Status st = ValidateName(name, "disk name"); !st.ok()) return UsageError(st.message());
  if (Status st = ValidateName(g.project, "project"); !st.ok()) return UsageError(st.message());
  auto size = ParseSize(size_text);
  if (!size) return UsageError(fmt::format("--size \"{}\" is not a size (e.g. 10GiB)", size_text));
  auto params = PlanDiskCreate(DiskCreateRequest{g.project, name, *size});
  if (!params.ok()) return UsageError(params.status().message());
  if (auto preflight = PrepareToOwn(g, true); !preflight.ok()) {
    return Fail(preflight.status());
  } else if (*preflight) {
    if (Status st = RefuseTakenName(**preflight, RecordKind::kDisk, g.project, name); !st.ok()) return Fail(st);
  }
  auto db = OpenOwned(g, true);
  if (!db.ok()) return Fail(db.status());
  return Finish(g, StartDiskCreate(**db, *params),
                [&] { PrintDisk(g, (*db)->datastore(), params->disk_id); });
}

namespace {

int AttachOrDetach(const GlobalOptions& g, const std::string& disk_text, const std::string& instance_text,
                   bool attach) {
  auto resolve = [&](Store& store) -> Result<std::pair<Uuid, Uuid>> {
    SAGADB_ASSIGN_OR_RETURN(Uuid disk, ResolveExistingRecord(store, g, RecordKind::kDisk, disk_text));
    SAGADB_ASSIGN_OR_RETURN(Uuid instance, ResolveExistingRecord(store, g, RecordKind::kInstance, instance_text));
    return std::make_pair(disk, instance);
  };
  return OnExistingRecords(g, resolve, [&](ControlPlane& cp, const std::pair<Uuid, Uuid>& ids) {
    const Uuid disk = ids.first;
    const Uuid instance = ids.second;
    return Finish(g, attach ? cp.AttachDisk(disk, instance) : cp.DetachDisk(disk, instance),
                  [&] { PrintDisk(g, cp.datastore(), disk); });
  });
}

}  // namespace

int DiskAttach(const GlobalOptions& g, const std::string& disk, const std::string& instance) {
  return AttachOrDetach(g, disk, instance, true);
}

int DiskDetach(const GlobalOptions& g, const std::string& disk, const std::string& instance) {
  return AttachOrDetach(g, disk, instance, false);
}

int DiskDelete(const GlobalOptions& g, const std::string& disk_text) {
  return OnExistingRecords(
      g, [&](Store& store) { return ResolveExistingRecord(store, g, RecordKind::kDisk, disk_text); },
      [&](ControlPlane& cp, const Uuid& disk) {
        return Finish(g, cp.DeleteDisk(disk), [&] { PrintDisk(g, cp.datastore(), disk); });
      });
}

int Recover(const GlobalOptions& g) {
  if (auto preflight = PrepareToOwn(g, false); !preflight.ok()) return Fail(preflight.status());
  auto db = OpenOwned(g, false);
  if (!db.ok()) return Fail(db.status());
  const RecoveryReport& r = (*db)->database().recovery();
  if (g.json) {
    auto ids = [](const std::vector<Uuid>& v) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& id : v) a.push_back(id.ToString());
      return a;
    };
    PrintJson({{"scanned", r.scanned},
               {"resumed_forward", ids(r.resumed_forward)},
               {"resumed_unwinding", ids(r.resumed_unwinding)},
               {"marked_stuck", ids(r.marked_stuck)},
               {"stuck_reasons", r.stuck_reasons},
               {"unreadable", r.unreadable},
               {"succeeded", ids(r.finished_succeeded)},
               {"failed", ids(r.finished_failed)},
               {"stuck", ids(r.finished_stuck)},
               {"halted", ids(r.halted)},
               {"indexed", r.indexed},
               {"load_seconds", r.load_seconds},
               {"finish_seconds", r.finish_seconds}});
  } else {
    std::cout << r.Summary() << "\n";
  }
  return r.finished_stuck.empty() && r.marked_stuck.empty() && r.halted.empty() ? kExitOk : kExitFailed;
}

int CheckCommand(const GlobalOptions& g, bool quiescent) {
  auto store = OpenForInspection(g);
  if (!store.ok()) return Fail(store.status());
  CheckOptions options;
  options.quiescent = quiescent;
  CheckReport report = Check(**store, VolumesDirFor(g.db), options);
  if (g.json) {
    PrintJson(ToJson(report));
  } else {
    std::cout << Describe(report);  // its first line is the summary, then one line per finding
  }
  return report.ok() ? kExitOk : kExitFailed;
}

int Demo(const GlobalOptions& g, const DemoArgs& a) {
  if (a.instances < 1 || a.instances > 10'000) return UsageError("--instances must be 1-10000");
  if (a.disks < 0 || a.disks > kMaxDisksPerInstance) {
    return UsageError(fmt::format("--disks must be 0-{}", kMaxDisksPerInstance));
  }
  if (a.fail_rate < 0 || a.fail_rate >= 1) return UsageError("--fail-rate must be in [0, 1)");
  if (a.permanent_rate < 0 || a.permanent_rate >= 1) return UsageError("--permanent-rate must be in [0, 1)");
  if (a.concurrency < 0) return UsageError("--concurrency must be positive");
  if (auto preflight = PrepareToOwn(g, true); !preflight.ok()) return Fail(preflight.status());
  auto db = OpenOwned(g, true);
  if (!db.ok()) return Fail(db.status());

  const auto now = std::chrono::system_clock::now().time_since_epoch();
  OverloadOptions o;
  o.instances = a.instances;
  o.disks_per_instance = a.disks;
  o.fail_rate = a.fail_rate;
  o.permanent_rate = a.permanent_rate;
  o.seed = a.seed != 0 ? a.seed : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  o.concurrency = a.concurrency > 0 ? a.concurrency : a.instances;
  // Unique per run, so the demo can run again on the same database.
  o.name_prefix = fmt::format("demo-{}", std::chrono::duration_cast<std::chrono::milliseconds>(now).count() % 100'000'000);
  if (!g.json) {
    std::cout << fmt::format("sagadb demo: {} instance-creates x {} disks, {:g}% transient store faults, {:g}% "
                             "permanent step faults, seed {}, concurrency {}, database {}\n",
                             o.instances, o.disks_per_instance, o.fail_rate * 100, o.permanent_rate * 100, o.seed,
                             o.concurrency, g.db);
    std::cout.flush();
  }
  // A run longer than a second shows how it goes on a terminal (stderr), rewritten in place.
  std::atomic<int> done{0}, succeeded{0}, failed{0}, stuck{0};
  o.progress = [&](const OverloadProgress& p) {
    succeeded = p.succeeded;
    failed = p.failed;
    stuck = p.stuck;
    done = p.done;
  };
  const Database& database = (*db)->database();
  ProgressLine progress([&](double seconds) {
    return fmt::format("  {:.1f} s  {}/{} sagas done: {} succeeded, {} failed, {} stuck; {} in flight", seconds,
                       done.load(), o.instances, succeeded.load(), failed.load(), stuck.load(), database.in_flight());
  });
  auto report = RunOverloadScenario(**db, o);
  progress.Finish();
  if (!report.ok()) return Fail(report.status());
  const OverloadReport& r = *report;
  if (g.json) {
    PrintJson({{"instances", o.instances},
               {"disks_per_instance", o.disks_per_instance},
               {"fail_rate", o.fail_rate},
               {"permanent_rate", o.permanent_rate},
               {"seed", o.seed},
               {"succeeded", r.succeeded},
               {"failed", r.failed},
               {"failed_by_permanent_faults", r.failed_permanent},
               {"stuck", r.stuck},
               {"unfinished", r.unfinished},
               {"injected_faults", r.injected_faults},
               {"injected_permanent_faults", r.permanent_faults},
               {"retries",
                {{"action", r.executor.action_retries},
                 {"undo", r.executor.undo_retries},
                 {"log", r.executor.log_retries},
                 {"lock_conflict", r.executor.lock_conflict_retries}}},
               {"rounds", r.executor.rounds},
               {"elapsed_seconds", r.elapsed.count()},
               {"sagas_per_second", r.sagas_per_second},
               {"peak_rss_mib", PeakRssMiB()},
               {"check", ToJson(r.check)},
               {"ok", r.ok()}});
  } else {
    std::cout << fmt::format("  succeeded              {}\n", r.succeeded)
              << fmt::format("  failed, cleanly unwound {}  ({} by an injected permanent fault, {} when retries of "
                             "transient faults ran out)\n",
                             r.failed, r.failed_permanent, r.failed - r.failed_permanent)
              << fmt::format("  stuck                  {}\n", r.stuck)
              << fmt::format("  unfinished             {}\n", r.unfinished)
              << fmt::format("  faults injected        {} transient, {} permanent\n", r.injected_faults,
                             r.permanent_faults)
              << fmt::format("  retries                {} action, {} undo, {} log, {} lock conflict\n",
                             r.executor.action_retries, r.executor.undo_retries, r.executor.log_retries,
                             r.executor.lock_conflict_retries)
              << fmt::format("  leaked / violations    {}\n", r.check.violations.size())
              << fmt::format("  elapsed                {:.2f} s\n", r.elapsed.count())
              << fmt::format("  sagas per second       {:.1f}\n", r.sagas_per_second)
              << fmt::format("  peak RSS               {:.1f} MiB\n", PeakRssMiB());
    // A few of the failed sagas, each with the node it failed at and why: `saga show ID` has the whole story.
    constexpr size_t kShown = 5;
    for (size_t i = 0; i < r.failures.size() && i < kShown; ++i) std::cout << "    " << r.failures[i] << "\n";
    if (r.failures.size() > kShown) {
      std::cout << fmt::format("    ... and {} more (sagadb saga list --state failed)\n", r.failures.size() - kShown);
    }
    for (const auto& p : r.problems) std::cout << "  problem: " << p << "\n";
    if (!r.check.ok()) std::cout << Describe(r.check);
    std::cout << (r.ok() ? "demo: OK (nothing stuck, every invariant holds)\n" : "demo: FAILED\n");
  }
  return r.ok() ? kExitOk : kExitFailed;
}

}  // namespace sagadb::tool
