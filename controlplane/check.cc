#include "controlplane/check.h"

#include <fmt/ranges.h>

#include <memory>
#include <optional>

#include "controlplane/datastore.h"
#include "controlplane/check_state.h"
#include "controlplane/footprint.h"
#include "controlplane/volumes.h"
#include "db/database_impl.h"
#include "log/saga_log.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

using check_internal::CheckState;

std::string Printable(std::string_view key) {
  if (auto id = Uuid::FromBytes(key)) return id->ToString();
  std::string hex;
  for (unsigned char c : key) hex += fmt::format("{:02x}", c);
  return hex;
}

// Decodes every record of one column family into `out`; what does not decode (or names another id than its key)
// is a corruption finding.
template <typename T>
void Load(const Store& store, const Snapshot* snap, std::string_view table, CheckState& s, std::map<Uuid, T>* out) {
  auto t = store.FindTable(table);
  if (!t.ok()) {
    s.Violation(check_kind::kCorruption, {}, t.status().ToString());
    return;
  }
  auto it = store.NewCursor(*t, snap);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key();
    T record;
    std::string why;
    auto id = Uuid::FromBytes(key);
    if (!id) {
      s.Violation(check_kind::kCorruption, {Printable(key)}, fmt::format("{}: key is not a 16-byte id", table));
    } else if (!Decode(it->value(), &record, &why)) {
      s.unreadable.insert(*id);
      s.Violation(check_kind::kCorruption, {id->ToString()}, fmt::format("{}/{}: {}", table, id->ToString(), why));
    } else if (record.id != *id) {
      s.Violation(check_kind::kCorruption, {id->ToString(), record.id.ToString()},
                  fmt::format("{}/{}: the record says it is {}", table, id->ToString(), record.id.ToString()));
    } else {
      out->emplace(*id, std::move(record));
    }
  }
  if (!it->status().ok()) s.Violation(check_kind::kCorruption, {}, it->status().ToString());
}

void LoadSagas(const SagaLog& log, const Snapshot* snap, CheckState& s) {
  SagaRecordCursor c = log.Records(snap);
  for (; c.Valid(); c.Next()) s.sagas.emplace(c.record().id, c.record());
  for (const auto& u : c.unreadable()) {
    if (u.id) s.unreadable.insert(*u.id);
    s.Violation(check_kind::kCorruption, {u.id ? u.id->ToString() : ""}, u.message);
  }
  if (!c.status().ok()) s.Violation(check_kind::kCorruption, {}, c.status().ToString());
}

bool Unfinished(SagaState st) { return st == SagaState::kRunning || st == SagaState::kUnwinding; }

// Invariants 4 and 5, and the footprints of the sagas still executing.
void CheckSagas(const SagaLog& log, const Snapshot* snap, CheckState& s) {
  for (const auto& [id, rec] : s.sagas) {
    const std::string sid = id.ToString();
    auto events = log.ReadEvents(id, snap);
    if (!events.ok()) {
      s.Violation(events.status().code() == Code::kCorruption ? check_kind::kCorruption : check_kind::kSagaLog,
                  {sid}, events.status().message());
    } else if (auto history = ReplaySagaLog(rec, *events); !history.ok()) {
      s.Violation(check_kind::kSagaLog, {sid}, history.status().message());
    } else if (auto implied = StateFromLog(rec, *history); !implied.ok()) {
      s.Violation(check_kind::kSagaLog, {sid}, implied.status().message());
    } else if (*implied != rec.state &&
               !(rec.state == SagaState::kRunning && *implied == SagaState::kUnwinding)) {
      // (A record still `running` whose log already has a failure is one commit behind its log, which recovery
      // accepts: a second node's `failed` can land just before the record's move to `unwinding`.)
      s.Violation(check_kind::kSagaLog, {sid},
                  fmt::format("saga {} ({}) is cached as {} but its log says {}", sid, rec.kind, ToString(rec.state),
                              ToString(*implied)));
    }

    if (Unfinished(rec.state)) {
      if (s.options.quiescent) {
        s.Violation(check_kind::kUnfinishedSaga, {sid},
                    fmt::format("saga {} ({}) is {} while no saga is executing", sid, rec.kind, ToString(rec.state)));
      }
      Json params = Json::parse(rec.params, nullptr, /*allow_exceptions=*/false);
      SagaFootprint f = FootprintOf(rec.kind, params);
      s.in_flight_instances.insert(f.instances.begin(), f.instances.end());
      s.in_flight_disks.insert(f.disks.begin(), f.disks.end());
    } else if (rec.state == SagaState::kStuck || rec.state == SagaState::kAbandoned) {
      s.Note(check_kind::kStuckSaga, {sid},
             fmt::format("saga {} ({}) is {}: {} (an operator must resolve it)", sid, rec.kind, ToString(rec.state),
                         rec.error.empty() ? "no reason recorded" : rec.error));
    }
  }

  // Events with no saga record: nothing will ever read them, so they are a log that lost its saga.
  Status st = log.ForEachSagaWithEvents(snap, [&](const std::optional<Uuid>& id, std::string_view key) {
    if (!id) {
      s.Violation(check_kind::kCorruption, {Printable(key)}, "saga_events: malformed key");
    } else if (s.sagas.count(*id) == 0 && s.unreadable.count(*id) == 0) {
      s.Violation(check_kind::kSagaLog, {id->ToString()},
                  fmt::format("saga_events hold events of saga {}, which has no readable record", id->ToString()));
    }
  });
  if (!st.ok()) s.Violation(check_kind::kCorruption, {}, st.ToString());
}

}  // namespace

CheckReport Check(Store& store, const std::string& volumes_dir, const CheckOptions& options) {
  CheckReport report;
  CheckState s;
  s.options = options;
  s.volumes_dir = volumes_dir;
  s.report = &report;

  // Listed before the snapshot is taken: see check.h.
  auto volumes = ListVolumes(volumes_dir);
  if (volumes.ok()) {
    s.volumes = std::move(*volumes);
    s.volumes_listed = true;
  } else {
    s.Violation(check_kind::kVolume, {volumes_dir}, volumes.status().ToString());
  }

  if (store.mode() == OpenMode::kSecondary) {
    // The view must not predate the listing, or a volume whose disk record came after the view looks stray.
    Status st = store.CatchUp();
    if (!st.ok()) s.Violation(check_kind::kVolume, {volumes_dir}, st.ToString());
  }
  // Every read shares one snapshot.
  std::shared_ptr<const Snapshot> snapshot = store.NewSnapshot();
  const Snapshot* snap = snapshot.get();
  const SagaLog log(&store);
  Load(store, snap, kInstancesTable, s, &s.instances);
  Load(store, snap, kDisksTable, s, &s.disks);
  LoadSagas(log, snap, s);
  report.instances = s.instances.size();
  report.disks = s.disks.size();
  report.sagas = s.sagas.size();
  report.volumes = s.volumes.volumes.size();

  CheckSagas(log, snap, s);
  check_internal::CheckAttachments(s);
  check_internal::CheckLeaks(s);
  check_internal::CheckCreating(s);
  check_internal::CheckVolumes(s);
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
