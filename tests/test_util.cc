#include "tests/test_util.h"

#include <stdlib.h>

#include <fmt/format.h>

#include <vector>

namespace sagadb {

void PrintTo(const Status& status, std::ostream* os) { *os << status.ToString(); }

void PrintTo(const Uuid& id, std::ostream* os) { *os << id.ToString(); }

void PrintTo(const AttachedDisk& a, std::ostream* os) { *os << "{slot " << a.slot << ", " << a.disk_id.ToString() << "}"; }

namespace {
std::string OptionalId(const std::optional<Uuid>& id) { return id ? id->ToString() : "none"; }
}  // namespace

void PrintTo(const Instance& r, std::ostream* os) {
  *os << fmt::format("Instance{{id {}, {}/{}, state {}, cpus {}, memory {}, boot {}, attached [", r.id.ToString(),
                     r.project, r.name, ToString(r.state), r.cpus, r.memory_bytes, OptionalId(r.boot_disk_id));
  for (const auto& a : r.attached) {
    PrintTo(a, os);
    *os << " ";
  }
  *os << fmt::format("], generation {}, created {}, modified {}, saga {}}}", r.generation, r.created_ns,
                     r.modified_ns, OptionalId(r.saga_id));
}

void PrintTo(const Disk& r, std::ostream* os) {
  *os << fmt::format(
      "Disk{{id {}, {}/{}, state {}, size {}, instance {}, slot {}, generation {}, created {}, modified {}, "
      "saga {}}}",
      r.id.ToString(), r.project, r.name, ToString(r.state), r.size_bytes, OptionalId(r.instance_id), r.slot,
      r.generation, r.created_ns, r.modified_ns, OptionalId(r.saga_id));
}

void PrintTo(InstanceState s, std::ostream* os) { *os << ToString(s); }

void PrintTo(DiskState s, std::ostream* os) { *os << ToString(s); }

}  // namespace sagadb

namespace sagadb::testing {

ScratchDir::ScratchDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sagadb-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
std::string Hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}
}  // namespace

std::map<std::string, std::string> RawContents(const Store& store) {
  std::map<std::string, std::string> out;
  std::vector<TableId> tables = {kMetaTable, kSagasTable, kSagaEventsTable, kSagaIndexTable};
  for (const std::string& name : store.DomainTables()) {
    auto t = store.FindTable(name);
    if (!t.ok()) throw std::runtime_error("finding table " + name + " failed: " + t.status().ToString());
    tables.push_back(*t);
  }
  // One snapshot, so that the tables agree with each other.
  std::shared_ptr<const Snapshot> snapshot = store.NewSnapshot();
  for (TableId table : tables) {
    const std::string name(store.TableName(table));
    auto it = store.NewCursor(table, snapshot.get());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out[fmt::format("{}/{}", name, Hex(it->key()))] = Hex(it->value());
    }
    if (!it->status().ok()) throw std::runtime_error("scanning " + name + " failed: " + it->status().ToString());
  }
  return out;
}

StoreConfig ConfigAt(const std::string& path) {
  StoreConfig config;
  config.path = path;
  return config;
}

Batch OneWrite(const std::string& key, size_t value_bytes) {
  Batch batch;
  batch.Put(kSagasTable, key, std::string(value_bytes, 'v'));
  return batch;
}

}  // namespace sagadb::testing
