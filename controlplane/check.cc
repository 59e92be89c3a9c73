#include "controlplane/check.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <memory>

#include "controlplane/check_state.h"
#include "controlplane/volumes.h"
#include "db/database_impl.h"

namespace sagadb {
namespace check_internal {

std::string Printable(std::string_view key) {
  if (auto id = Uuid::FromBytes(key)) return id->ToString();
  std::string hex;
  for (unsigned char c : key) hex += fmt::format("{:02x}", c);
  return hex;
}

void CheckState::AttributeLeftovers() {
  if (abandoned.empty()) return;
  auto saga_of = [&](const Finding& f) -> std::optional<Uuid> {
    for (const std::string& text : f.ids) {
      auto id = Uuid::Parse(text);
      if (!id) continue;
      if (auto it = left_by.find(*id); it != left_by.end()) return it->second;
      if (abandoned.count(*id) > 0) return *id;  // a finding that names the abandoned saga itself
    }
    return std::nullopt;
  };
  std::vector<Finding> kept;
  for (Finding& f : report->violations) {
    auto saga = saga_of(f);
    if (!saga || f.kind == check_kind::kCorruption || f.kind == check_kind::kSagaLog ||
        f.kind == check_kind::kSagaIndex) {
      kept.push_back(std::move(f));
      continue;
    }
    const std::string sid = saga->ToString();
    f.message = fmt::format("left by abandoned saga {}: {}", sid, f.message);
    f.kind = check_kind::kLeftover;
    if (std::find(f.ids.begin(), f.ids.end(), sid) == f.ids.end()) f.ids.push_back(sid);
    report->notes.push_back(std::move(f));
  }
  report->violations = std::move(kept);
  for (Finding& n : report->notes) {
    if (n.kind == check_kind::kCreatingInstance || n.kind == check_kind::kCreatingDisk) {
      if (auto saga = saga_of(n)) {
        n.kind = check_kind::kLeftover;
        n.message = fmt::format("left by abandoned saga {}: {}", saga->ToString(), n.message);
      }
    }
  }
}

}  // namespace check_internal

CheckReport Check(Store& store, const std::string& volumes_dir, const CheckOptions& options) {
  CheckReport report;
  check_internal::CheckState s;
  s.options = options;
  s.volumes_dir = volumes_dir;
  s.store = &store;
  s.report = &report;
  auto instances = store.FindTable(kInstancesTable);
  auto disks = store.FindTable(kDisksTable);
  if (!instances.ok() || !disks.ok()) {
    s.Violation(check_kind::kCorruption, {}, (instances.ok() ? disks : instances).status().ToString());
    return report;
  }
  s.instances_table = *instances;
  s.disks_table = *disks;

  if (store.mode() == OpenMode::kSecondary) {
    // As new as the moment the check starts: records written before it are seen.
    Status st = store.CatchUp();
    if (!st.ok()) s.Violation(check_kind::kCorruption, {}, st.ToString());
  }
  {
    // Every pass but the volumes' shares one snapshot.
    std::shared_ptr<const Snapshot> snapshot = store.NewSnapshot();
    s.snap = snapshot.get();
    check_internal::CheckSagas(s);
    check_internal::CheckDisks(s);
    check_internal::CheckInstances(s);
    s.snap = nullptr;
  }
  // Last: on an inspection store it catches up shard by shard.
  check_internal::CheckVolumes(s);
  s.AttributeLeftovers();
  return report;
}

CheckReport Check(ControlPlane& control_plane, const CheckOptions& options) {
  return Check(control_plane.database().impl().store(), control_plane.volumes_dir(), options);
}

Result<CheckReport> CheckDatabase(const std::string& path, const std::string& volumes_dir,
                                  const CheckOptions& options) {
  StoreConfig config;
  config.path = path;
  config.mode = OpenMode::kSecondary;
  SAGADB_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(config));
  return Check(*store, volumes_dir.empty() ? VolumesDirFor(path) : volumes_dir, options);
}

std::string Describe(const CheckReport& report) {
  std::string out = fmt::format("{} violation(s), {} note(s) over {} instances, {} disks, {} sagas, {} volumes\n",
                                report.violations.size(), report.notes.size(), report.instances, report.disks,
                                report.sagas, report.volumes);
  auto line = [&](std::string_view what, const Finding& f) {
    out += fmt::format("{} {} [{}]: {}\n", what, f.kind, fmt::join(f.ids, " "), f.message);
  };
  for (const auto& f : report.violations) line("violation", f);
  for (const auto& f : report.notes) line("note", f);
  return out;
}

nlohmann::json ToJson(const CheckReport& report) {
  auto findings = [](const std::vector<Finding>& list) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& f : list) a.push_back({{"kind", f.kind}, {"ids", f.ids}, {"message", f.message}});
    return a;
  };
  return {{"ok", report.ok()},
          {"violations", findings(report.violations)},
          {"notes", findings(report.notes)},
          {"instances", report.instances},
          {"disks", report.disks},
          {"sagas", report.sagas},
          {"volumes", report.volumes}};
}

}  // namespace sagadb
