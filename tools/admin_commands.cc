#include "tools/admin_commands.h"

#include <fmt/format.h>

#include <iostream>

#include "log/prune.h"
#include "log/saga_log.h"
#include "sagadb/control_plane.h"
#include "tools/records_json.h"
#include "tools/units.h"

namespace sagadb::tool {
namespace {

Result<RetentionPolicy> PolicyOf(const PruneArgs& a) {
  RetentionPolicy p;
  if (a.keep == "all") {
    p.max_finished.reset();
  } else if (!a.keep.empty()) {
    uint64_t n = 0;
    for (char c : a.keep) {
      if (c < '0' || c > '9' || n > UINT64_MAX / 10) {
        return Status::InvalidRequest(fmt::format("--keep \"{}\" is not a count of sagas (or \"all\")", a.keep));
      }
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    p.max_finished = n;
  }
  if (a.max_age == "none") {
    p.max_age.reset();
  } else if (!a.max_age.empty()) {
    auto d = ParseDuration(a.max_age);
    if (!d) {
      return Status::InvalidRequest(fmt::format("--max-age \"{}\" is not a duration (e.g. 7d, 12h) or \"none\"",
                                                a.max_age));
    }
    p.max_age = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  if (!p.max_finished && !p.max_age) {
    return Status::InvalidRequest("--keep all with --max-age none lets nothing go: give a limit");
  }
  return p;
}

void PrintPrune(const GlobalOptions& g, const PruneReport& r) {
  if (g.json) {
    PrintJson(PruneJson(r));
    return;
  }
  if (r.sagas == 0) {
    std::cout << (r.dry_run ? "nothing would be pruned\n" : "nothing to prune\n");
    return;
  }
  std::cout << fmt::format("{} {} finished sagas ({} succeeded, {} failed, {} abandoned) with {} events, finished "
                           "{} to {}",
                           r.dry_run ? "would prune" : "pruned", r.sagas, r.succeeded, r.failed, r.abandoned,
                           r.events, FormatTime(r.oldest_finished_ns), FormatTime(r.newest_finished_ns));
  if (!r.dry_run) std::cout << fmt::format(", in {} batch{}", r.batches, r.batches == 1 ? "" : "es");
  std::cout << "\n";
}

}  // namespace

int SagaPrune(const GlobalOptions& g, const PruneArgs& a) {
  auto policy = PolicyOf(a);
  if (!policy.ok()) return UsageError(policy.status().message());
  PruneReport report;
  if (a.dry_run) {
    auto store = OpenForInspection(g);
    if (!store.ok()) return Fail(store.status());
    PruneOptions o;
    o.policy = *policy;
    o.dry_run = true;
    Status st = PruneFinishedSagas(store->get(), o, &report);
    if (!st.ok()) return Fail(st);
  } else {
    if (auto preflight = PrepareToOwn(g, false); !preflight.ok()) return Fail(preflight.status());
    DatabaseOptions o;
    o.path = g.db;
    o.create_if_missing = false;
    o.logger = StderrLogger();
    o.retention.enabled = false;  // this command's policy, not the default one, and once
    auto cp = OpenToChange(o);
    if (!cp.ok()) return Fail(cp.status());
    auto pruned = (*cp)->database().Prune(*policy);
    if (!pruned.ok()) return Fail(pruned.status());
    report = std::move(*pruned);
  }
  PrintPrune(g, report);
  return kExitOk;
}

}  // namespace sagadb::tool
