#include "tools/salvage_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include "engine/salvage.h"
#include "tools/salvage_survey.h"
#include "tools/units.h"

namespace sagadb::tool {
namespace {

namespace fs = std::filesystem;

struct Repair {
  std::string into;
  Status status;
  RepairCopyReport report;
  std::vector<TableSurvey> after;  // the copy's tables, when it opened
};

size_t Ranges(const SalvageSurvey& s, size_t* tables) {
  size_t ranges = 0;
  *tables = 0;
  for (const auto& t : s.tables) {
    ranges += t.unreadable.size();
    *tables += t.unreadable.empty() ? 0 : 1;
  }
  return ranges;
}

std::vector<std::string> Steps(const GlobalOptions& g, const std::optional<Repair>& repair) {
  const std::string copy = repair && repair->status.ok() ? repair->into : "COPY";
  std::vector<std::string> steps = {"keep this database as it is, its owner stopped: nothing is to be written to it"};
  if (!repair || !repair->status.ok()) {
    steps.push_back(fmt::format("make a repaired copy: sagadb --db {} salvage --repair-into COPY (RocksDB's repair, "
                                "run on the copy only)",
                                g.db));
  }
  steps.push_back(fmt::format("open the copy, which runs recovery: sagadb --db {} recover", copy));
  steps.push_back(fmt::format("check it: sagadb --db {} check", copy));
  steps.push_back(fmt::format("look at every saga named above in the copy (sagadb --db {} saga show ID) before the "
                              "copy takes the database's place",
                              copy));
  return steps;
}

constexpr char kWhatRepairDrops[] =
    "RocksDB's repair sets aside every damaged table file whole (into the copy's lost/ directory), its readable "
    "keys too; where an older table file holds another version of one of those keys, the copy holds that older "
    "version. The sagas, instances and disks named above have keys in the unreadable ranges or the damaged files: "
    "in the copy an acknowledged saga among them may have lost its record or events, or be back in an earlier "
    "state.";

nlohmann::json RangeJson(const std::string& table, const UnreadableRange& r) {
  return {{"after", r.from_start ? nlohmann::json(nullptr) : nlohmann::json(KeyText(table, r.after))},
          {"before", r.to_end ? nlohmann::json(nullptr) : nlohmann::json(KeyText(table, r.before))},
          {"error", r.error}};
}

// Why a record is affected: what is wrong now first, then what the repair would do.
std::vector<std::string> Ordered(const std::set<std::string>& why) {
  std::vector<std::string> out(why.begin(), why.end());
  std::stable_partition(out.begin(), out.end(),
                        [](const std::string& w) { return w.find("which repair sets aside") == std::string::npos; });
  return out;
}

nlohmann::json AffectedJson(const std::map<Uuid, AffectedRecord>& list, bool sagas) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, a] : list) {
    nlohmann::json j{{"id", id.ToString()}, {"why", Ordered(a.why)}};
    if (sagas) {
      j["kind"] = a.kind.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.kind);
      j["state"] = a.state.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.state);
    }
    out.push_back(std::move(j));
  }
  return out;
}

void PrintJsonReport(const GlobalOptions& g, const std::optional<SalvageSurvey>& s, const std::string& open_error,
                     const std::optional<Repair>& repair, bool ok) {
  nlohmann::json j{{"database", g.db}, {"ok", ok}};
  j["open_error"] = open_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(open_error);
  nlohmann::json tables = nlohmann::json::array(), files = nlohmann::json::array(), records = nlohmann::json::array();
  if (s) {
    for (const auto& t : s->tables) {
      nlohmann::json ranges = nlohmann::json::array();
      for (const auto& r : t.unreadable) ranges.push_back(RangeJson(t.name, r));
      tables.push_back({{"name", t.name}, {"keys", t.readable}, {"undecodable", t.undecodable}, {"unreadable", ranges}});
    }
    for (const auto& d : s->damaged_files) {
      files.push_back({{"file", d.file.name}, {"table", d.file.table}, {"level", d.file.level},
                       {"size_bytes", d.file.size_bytes}, {"entries", d.file.entries},
                       {"readable_keys", d.readable_keys}, {"error", d.error}});
    }
    for (const auto& r : s->damaged_records) records.push_back({{"table", r.table}, {"key", r.key}, {"error", r.error}});
    j["files_checked"] = s->files_checked;
    j["affected"] = {{"sagas", AffectedJson(s->sagas, true)},
                     {"instances", AffectedJson(s->instances, false)},
                     {"disks", AffectedJson(s->disks, false)}};
  }
  j["tables"] = tables;
  j["damaged_files"] = files;
  j["damaged_records"] = records;
  j["steps"] = ok ? nlohmann::json::array() : nlohmann::json(Steps(g, repair));
  j["repair_drops"] = ok ? nlohmann::json(nullptr) : nlohmann::json(kWhatRepairDrops);
  if (repair) {
    nlohmann::json counts = nlohmann::json::array();
    for (const auto& t : repair->after) {
      std::optional<uint64_t> before;
      if (s) {
        for (const auto& b : s->tables) {
          if (b.name == t.name) before = b.readable;
        }
      }
      counts.push_back({{"name", t.name}, {"before", before ? nlohmann::json(*before) : nlohmann::json(nullptr)},
                        {"after", t.readable}});
    }
    j["repair"] = {{"into", repair->into},
                   {"ok", repair->status.ok()},
                   {"error", repair->status.ok() ? nlohmann::json(nullptr) : nlohmann::json(repair->status.message())},
                   {"copied", repair->report.copied},
                   {"volumes_linked", repair->report.volumes_linked},
                   {"set_aside", repair->report.set_aside},
                   {"tables", counts}};
  } else {
    j["repair"] = nullptr;
  }
  PrintJson(j);
}

void PrintAffected(const char* what, const std::map<Uuid, AffectedRecord>& list) {
  if (list.empty()) return;
  std::cout << "affected " << what << ":\n";
  for (const auto& [id, a] : list) {
    std::cout << "  " << id.ToString();
    if (!a.kind.empty()) std::cout << " " << a.kind << " " << a.state;
    std::cout << ": " << fmt::format("{}", fmt::join(Ordered(a.why), "; ")) << "\n";
  }
}

void PrintTextReport(const GlobalOptions& g, const std::optional<SalvageSurvey>& s, const std::string& open_error,
                     const std::optional<Repair>& repair, bool ok) {
  if (!open_error.empty()) {
    std::cout << fmt::format("salvage: {}: the database cannot be opened for reading: {}\n", g.db, open_error);
  } else if (s->ok()) {
    uint64_t keys = 0;
    for (const auto& t : s->tables) keys += t.readable;
    std::cout << fmt::format("salvage: {}: every key of its {} tables reads and verifies ({} keys; {} table files "
                             "checked)\n",
                             g.db, s->tables.size(), keys, s->files_checked);
  } else {
    size_t damaged_tables = 0;
    const size_t ranges = Ranges(*s, &damaged_tables);
    std::cout << fmt::format("salvage: {}: {} unreadable range{} in {} table{}, {} damaged table file{}, {} record{} "
                             "failing verification; {} sagas, {} instances, {} disks affected\n",
                             g.db, ranges, ranges == 1 ? "" : "s", damaged_tables, damaged_tables == 1 ? "" : "s",
                             s->damaged_files.size(), s->damaged_files.size() == 1 ? "" : "s",
                             s->damaged_records.size(), s->damaged_records.size() == 1 ? "" : "s", s->sagas.size(),
                             s->instances.size(), s->disks.size());
  }
  if (s) {
    std::cout << fmt::format("  {:<14} {:>10}  {}\n", "table", "keys", "unreadable");
    for (const auto& t : s->tables) {
      std::cout << fmt::format("  {:<14} {:>10}", t.name, t.readable)
                << (t.unreadable.empty() ? "" : fmt::format("  {} range(s)", t.unreadable.size())) << "\n";
    }
    for (const auto& t : s->tables) {
      for (const auto& r : t.unreadable) {
        std::cout << fmt::format("unreadable: {} {}: {}\n", t.name, RangeText(t.name, r), r.error);
      }
    }
    for (const auto& d : s->damaged_files) {
      std::cout << fmt::format("damaged file: {} of {} (level {}, {}, {} entries, {} readable; repair sets it aside "
                               "whole): {}\n",
                               d.file.name, d.file.table, d.file.level, FormatSize(d.file.size_bytes), d.file.entries,
                               d.readable_keys, d.error);
    }
    for (const auto& r : s->damaged_records) {
      std::cout << fmt::format("fails verification: {}/{}: {}\n", r.table, r.key, r.error);
    }
    PrintAffected("sagas", s->sagas);
    PrintAffected("instances", s->instances);
    PrintAffected("disks", s->disks);
  }
  if (repair) {
    if (!repair->status.ok()) {
      std::cout << fmt::format("repair into {} failed: {}\n", repair->into, repair->status.message());
    } else {
      std::cout << fmt::format("repair: copied {} files into {} ({} volume files linked); set aside: {}\n",
                               repair->report.copied.size(), repair->into, repair->report.volumes_linked,
                               repair->report.set_aside.empty() ? "nothing"
                                                                : fmt::format("{}", fmt::join(repair->report.set_aside, ", ")));
      std::cout << fmt::format("  {:<14} {:>10} {:>10}\n", "table", "before", "after");
      for (const auto& t : repair->after) {
        std::string before = "-";
        for (const auto& b : s ? s->tables : std::vector<TableSurvey>{}) {
          if (b.name == t.name) before = std::to_string(b.readable);
        }
        std::cout << fmt::format("  {:<14} {:>10} {:>10}\n", t.name, before, t.readable);
      }
    }
  }
  if (ok) return;
  std::cout << "to get a working database back:\n";
  int n = 0;
  for (const auto& step : Steps(g, repair)) std::cout << fmt::format("  {}. {}\n", ++n, step);
  std::cout << "what the repair may drop: " << kWhatRepairDrops << "\n";
}

Repair RepairInto(const std::string& db, const std::string& into) {
  Repair r;
  r.into = into;
  r.status = RepairCopy(db, into, &r.report);
  if (!r.status.ok()) return r;
  StoreConfig config;
  config.path = into;
  config.mode = OpenMode::kReadOnly;
  auto copy = Store::Open(config);
  if (!copy.ok()) {
    r.status = Status::FromCode(static_cast<uint8_t>(copy.status().code()),
                                fmt::format("the repaired copy does not open: {}", copy.status().message()));
    return r;
  }
  auto counts = CountTables(**copy);
  if (counts.ok()) r.after = std::move(*counts);
  return r;
}

}  // namespace

int Salvage(const GlobalOptions& g, const SalvageArgs& a) {
  std::error_code ec;
  if (!a.repair_into.empty() && fs::weakly_canonical(a.repair_into, ec) == fs::weakly_canonical(g.db, ec)) {
    return UsageError("--repair-into must name a new directory, not the database itself");
  }
  // A copy of a database that another process is writing is not a database: refused before anything is read.
  if (!a.repair_into.empty()) {
    if (fs::exists(a.repair_into, ec) && (!fs::is_directory(a.repair_into, ec) || !fs::is_empty(a.repair_into, ec))) {
      return Fail(Status::InvalidRequest(fmt::format("{} exists and is not an empty directory: the repaired copy "
                                                     "goes into a new one",
                                                     a.repair_into)));
    }
    if (Status st = RefuseIfInUse(g.db); !st.ok()) return Fail(st);
  }
  std::optional<SalvageSurvey> survey;
  std::string open_error;
  {
    auto store = OpenForInspection(g);
    if (!store.ok()) {
      const Code code = store.status().code();
      if (code == Code::kNotFound || code == Code::kInvalidRequest || code == Code::kConflict) {
        return Fail(store.status());  // nothing here to salvage
      }
      open_error = store.status().message();
    } else {
      auto s = Survey(**store);
      if (!s.ok()) return Fail(s.status());
      survey = std::move(*s);
    }
  }
  std::optional<Repair> repair;
  if (!a.repair_into.empty()) repair = RepairInto(g.db, a.repair_into);
  const bool ok = open_error.empty() && survey->ok() && (!repair || repair->status.ok());
  if (g.json) {
    PrintJsonReport(g, survey, open_error, repair, ok);
  } else {
    PrintTextReport(g, survey, open_error, repair, ok);
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace sagadb::tool
