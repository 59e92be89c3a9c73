#include "tools/salvage_survey.h"

#include <fmt/format.h>

#include <functional>
#include <utility>

#include "controlplane/datastore.h"
#include "engine/keys.h"
#include "log/saga_index.h"
#include "log/saga_log.h"
#include "schema/codec.h"
#include "tools/units.h"

namespace sagadb::tool {
namespace {

bool Printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string Hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

// The saga, instance or disk a key of the table is about, if it is one of the tables that key by id.
std::optional<Uuid> IdOf(const std::string& table, std::string_view key) {
  if (table == "sagas" || table == kInstancesTable || table == kDisksTable) return Uuid::FromBytes(key);
  if (table == "saga_events" && key.size() == kSagaEventKeySize) return Uuid::FromBytes(key.substr(0, 16));
  if (table == "saga_index") {
    if (auto k = ParseIndexKey(key)) return k->id;
  }
  return std::nullopt;
}

// What a key of the table holds, for a saga, instance or disk: "record", "events", "index entry".
std::string_view PartOf(const std::string& table) {
  if (table == "saga_events") return "events";
  if (table == "saga_index") return "index entry";
  return "record";
}

// The list of affected records a key of the table is about.
std::map<Uuid, AffectedRecord>* ListFor(SalvageSurvey* s, const std::string& table) {
  if (table == "sagas" || table == "saga_events" || table == "saga_index") return &s->sagas;
  if (table == kInstancesTable) return &s->instances;
  if (table == kDisksTable) return &s->disks;
  return nullptr;
}

// Verifies a record of a table the tool knows; "" if it is sound (or the table is not one it knows).
std::string Verify(const std::string& table, std::string_view key, std::string_view value) {
  std::string why;
  auto id_of_key = [&](size_t size) { return key.size() == size ? "" : fmt::format("key has {} bytes", key.size()); };
  if (table == "sagas") {
    SagaRecord r;
    if (!id_of_key(16).empty()) return id_of_key(16);
    if (!Decode(value, &r, &why)) return why;
    if (r.id.AsBytes() != key) return fmt::format("the record says it is saga {}", r.id.ToString());
  } else if (table == "saga_events") {
    SagaEvent e;
    if (!id_of_key(kSagaEventKeySize).empty()) return id_of_key(kSagaEventKeySize);
    if (!Decode(value, &e, &why)) return why;
  } else if (table == "saga_index") {
    SagaIndexEntry e;
    if (!ParseIndexKey(key)) return "not an index key";
    if (!Decode(value, &e, &why)) return why;
  } else if (table == kInstancesTable) {
    Instance r;
    if (!id_of_key(16).empty()) return id_of_key(16);
    if (!Decode(value, &r, &why)) return why;
  } else if (table == kDisksTable) {
    Disk r;
    if (!id_of_key(16).empty()) return id_of_key(16);
    if (!Decode(value, &r, &why)) return why;
  } else if (table == kNamesTable) {
    if (value.size() != 16) return "entry is not a 16-byte id";
  }
  return "";
}

struct Table {
  std::string name;
  TableId id;
};

std::vector<Table> TablesOf(Store& store) {
  std::vector<Table> tables;
  for (TableId t = 0; t < kFirstDomainTable; ++t) {
    if (store.HasTable(t)) tables.push_back({std::string(store.TableName(t)), t});
  }
  for (const auto& name : store.DomainTables()) {
    if (auto t = store.FindTable(name); t.ok()) tables.push_back({name, *t});
  }
  return tables;
}

// The damage of one table: its unreadable ranges now, and those of its files the repair sets aside.
struct Damage {
  std::vector<UnreadableRange> now;
  std::vector<std::pair<std::string, UnreadableRange>> in_files;  // file name, range
};

class CrossReference {
 public:
  CrossReference(SalvageSurvey* survey, std::map<std::string, Damage> damage)
      : s_(survey), damage_(std::move(damage)) {}

  bool any() const {
    for (const auto& [table, d] : damage_) {
      if (!d.now.empty() || !d.in_files.empty()) return true;
    }
    return false;
  }

  // Names `id` in `list` if the key range [lo, hi] of `table`, which holds its `part`, meets the damage.
  void Check(std::map<Uuid, AffectedRecord>& list, const Uuid& id, const std::string& table, std::string_view lo,
             std::string_view hi, std::string_view part) {
    auto it = damage_.find(table);
    if (it == damage_.end()) return;
    for (const auto& r : it->second.now) {
      if (r.Overlaps(lo, hi)) list[id].why.insert(fmt::format("{} unreadable ({} {})", part, table, RangeText(table, r)));
    }
    for (const auto& [file, r] : it->second.in_files) {
      if (r.Overlaps(lo, hi)) {
        list[id].why.insert(fmt::format("{} unreadable in {} of {}, which repair sets aside", part, file, table));
      }
    }
  }
  void Check(std::map<Uuid, AffectedRecord>& list, const Uuid& id, const std::string& table, std::string_view key,
             std::string_view part) {
    Check(list, id, table, key, key, part);
  }

  // What a readable key of `table` says about the records of the other tables.
  void Visit(const std::string& table, std::string_view key, std::string_view value) {
    if (table == "saga_events" || table == "saga_index") {
      if (auto id = IdOf(table, key)) {
        Check(s_->sagas, *id, "sagas", id->AsBytes(), "record");
        CheckEvents(*id);
      }
    } else if (table == "sagas") {
      SagaHeader h;
      std::string why;
      auto id = Uuid::FromBytes(key);
      if (!id || !DecodeHeader(value, &h, &why)) return;
      CheckEvents(*id);
      Check(s_->sagas, *id, "saga_index",
            IsFinished(h.state) ? FinishedIndexKey(FinishTime(h), *id) : ActiveIndexKey(*id), "index entry");
      if (auto it = s_->sagas.find(*id); it != s_->sagas.end()) {
        it->second.kind = h.kind;
        it->second.state = std::string(ToString(h.state));
      }
    } else if (table == kInstancesTable) {
      Instance r;
      std::string why;
      if (!Decode(value, &r, &why)) return;
      for (const auto& a : r.attached) Check(s_->disks, a.disk_id, kDisksTable, a.disk_id.AsBytes(), "record");
    } else if (table == kDisksTable) {
      Disk r;
      std::string why;
      if (!Decode(value, &r, &why) || !r.instance_id) return;
      Check(s_->instances, *r.instance_id, kInstancesTable, r.instance_id->AsBytes(), "record");
    } else if (table == kNamesTable) {
      if (auto id = Uuid::FromBytes(value)) {
        Check(s_->instances, *id, kInstancesTable, id->AsBytes(), "record");
        Check(s_->disks, *id, kDisksTable, id->AsBytes(), "record");
      }
    }
  }

 private:
  void CheckEvents(const Uuid& id) {
    Check(s_->sagas, id, "saga_events", SagaEventKey(id, 0), SagaEventKey(id, ~uint64_t{0}), "events");
  }

  SalvageSurvey* s_;
  std::map<std::string, Damage> damage_;
};

// Walks a table, stepping over damage, with a visitor.
TableWalk Walk(Store& store, TableId table, const std::function<void(std::string_view, std::string_view)>& visit) {
  TableWalk walk;
  WalkReadable([&] { return store.NewCursor(table); }, visit, &walk);
  return walk;
}

}  // namespace

bool SalvageSurvey::ok() const {
  for (const auto& t : tables) {
    if (!t.unreadable.empty()) return false;
  }
  return damaged_records.empty() && damaged_files.empty();
}

std::string KeyText(const std::string& table, std::string_view key) {
  if (table == "saga_events" && key.size() == kSagaEventKeySize) {
    if (auto id = Uuid::FromBytes(key.substr(0, 16))) {
      return fmt::format("{}#{}", id->ToString(), DecodeBigEndian64(key.substr(16)));
    }
  }
  if (table == "saga_index") {
    if (auto k = ParseIndexKey(key)) {
      return k->active ? fmt::format("a/{}", k->id.ToString())
                       : fmt::format("f/{}/{}", FormatTime(k->finished_ns), k->id.ToString());
    }
  }
  if (key.size() == 16 && IdOf(table, key)) return Uuid::FromBytes(key)->ToString();
  if (Printable(key)) return std::string(key);
  std::string text;
  for (char c : key) text += c == '\0' ? '/' : c;  // the names table's separators
  return Printable(text) ? text : "0x" + Hex(key);
}

std::string RangeText(const std::string& table, const UnreadableRange& r) {
  return fmt::format("{} {}", r.from_start ? "from the start" : "after " + KeyText(table, r.after),
                     r.to_end ? "to the end" : "before " + KeyText(table, r.before));
}

Result<std::vector<TableSurvey>> CountTables(Store& store) {
  std::vector<TableSurvey> out;
  for (const Table& t : TablesOf(store)) {
    TableWalk walk = Walk(store, t.id, [](std::string_view, std::string_view) {});
    out.push_back(TableSurvey{t.name, walk.keys, 0, std::move(walk.unreadable)});
  }
  return out;
}

Result<SalvageSurvey> Survey(Store& store) {
  SalvageSurvey s;
  std::map<std::string, Damage> damage;
  // 1. Every table: what reads, what verifies, what does not read.
  for (const Table& t : TablesOf(store)) {
    TableSurvey table{t.name, 0, 0, {}};
    TableWalk walk = Walk(store, t.id, [&](std::string_view key, std::string_view value) {
      const std::string why = Verify(t.name, key, value);
      if (why.empty()) return;
      table.undecodable++;
      s.damaged_records.push_back(DamagedRecord{t.name, KeyText(t.name, key), why});
      auto* list = ListFor(&s, t.name);
      if (auto id = IdOf(t.name, key); list != nullptr && id) {
        (*list)[*id].why.insert(fmt::format("{} fails verification: {}", PartOf(t.name), why));
      }
    });
    table.readable = walk.keys;
    table.unreadable = std::move(walk.unreadable);
    damage[t.name].now = table.unreadable;
    s.tables.push_back(std::move(table));
  }
  // 2. The table files: those the repair would set aside, and what they hold.
  for (const TableFile& f : store.TableFiles()) {
    s.files_checked++;
    const Status st = VerifyTableFile(store.path(), f);
    if (st.ok() || st.IsNotFound()) continue;  // sound, or compacted away by a running owner meanwhile
    DamagedFile d{f, st.message(), 0};
    auto* list = ListFor(&s, f.table);
    auto cursor = OpenTableFile(store.path(), f);
    if (cursor.ok()) {
      TableWalk walk;
      WalkReadable([&] { return *OpenTableFile(store.path(), f); },
                   [&](std::string_view key, std::string_view) {
                     auto id = IdOf(f.table, key);
                     if (list == nullptr || !id) return;
                     (*list)[*id].why.insert(
                         fmt::format("{} in {} of {}, which repair sets aside", PartOf(f.table), f.name, f.table));
                   },
                   &walk);
      d.readable_keys = walk.keys;
      for (auto& r : walk.unreadable) damage[f.table].in_files.emplace_back(f.name, std::move(r));
    } else {
      UnreadableRange whole{false, f.smallest, false, f.largest, cursor.status().message()};
      damage[f.table].in_files.emplace_back(f.name, std::move(whole));
    }
    s.damaged_files.push_back(std::move(d));
  }
  // 3. What the readable keys say about the damaged ones. The sagas table last, so that every saga named by
  // then gets its kind and state.
  CrossReference refs(&s, std::move(damage));
  if (refs.any() || !s.sagas.empty()) {
    std::vector<Table> order = TablesOf(store);
    std::stable_partition(order.begin(), order.end(), [](const Table& t) { return t.name != "sagas"; });
    for (const Table& t : order) {
      Walk(store, t.id, [&](std::string_view key, std::string_view value) { refs.Visit(t.name, key, value); });
    }
  }
  return s;
}

}  // namespace sagadb::tool
