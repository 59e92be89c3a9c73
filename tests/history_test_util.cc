#include "tests/history_test_util.h"

#include <fmt/format.h>
#include <rocksdb/db.h>

#include "engine/keys.h"
#include "log/saga_index.h"
#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

std::string Hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

// The saga an entry of the saga log belongs to.
Uuid Owner(TableId table, std::string_view key) {
  std::optional<Uuid> id;
  if (table == kSagasTable) id = Uuid::FromBytes(key);
  if (table == kSagaEventsTable && key.size() >= 16) id = Uuid::FromBytes(key.substr(0, 16));
  if (table == kSagaIndexTable) {
    if (auto k = ParseIndexKey(key)) id = k->id;
  }
  return id.value_or(Uuid{});
}

}  // namespace

Status DowngradeToVersion1(const std::string& path) {
  std::vector<std::string> names;
  rocksdb::DBOptions options;
  auto s = rocksdb::DB::ListColumnFamilies(options, path, &names);
  if (!s.ok()) return Status::IOError(s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::Open(options, path, descriptors, &handles, &raw);
  if (!s.ok()) return Status::IOError(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  Status out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "saga_index") s = db->DropColumnFamily(handles[i]);
    if (names[i] == "meta") s = db->Put(rocksdb::WriteOptions(), handles[i], "schema_version", BigEndian32(1));
    if (!s.ok() && out.ok()) out = Status::IOError(s.ToString());
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  s = db->Close();
  if (!s.ok() && out.ok()) out = Status::IOError(s.ToString());
  return out;
}

SagaLogBySaga ReadSagaLog(const Store& store) {
  SagaLogBySaga out;
  std::shared_ptr<const Snapshot> snapshot = store.NewSnapshot();
  for (TableId table : {kSagasTable, kSagaEventsTable, kSagaIndexTable}) {
    if (!store.HasTable(table)) continue;
    auto it = store.NewCursor(table, snapshot.get());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out[Owner(table, it->key())][fmt::format("{}/{}", store.TableName(table), Hex(it->key()))] = Hex(it->value());
    }
    if (!it->status().ok()) throw std::runtime_error("reading the saga log: " + it->status().ToString());
  }
  return out;
}

std::vector<std::string> WholeOrGone(const SagaLogBySaga& before, const SagaLogBySaga& after) {
  std::vector<std::string> out;
  for (const auto& [id, entries] : after) {
    auto b = before.find(id);
    if (b == before.end()) {
      out.push_back(fmt::format("saga {} appeared ({} entries)", id.ToString(), entries.size()));
    } else if (entries != b->second) {
      std::vector<std::string> missing, changed;
      for (const auto& [k, v] : b->second) {
        auto a = entries.find(k);
        if (a == entries.end()) {
          missing.push_back(k);
        } else if (a->second != v) {
          changed.push_back(k);
        }
      }
      out.push_back(fmt::format("saga {} is neither whole nor gone: {} of {} entries missing (first: {}), {} changed",
                                id.ToString(), missing.size(), b->second.size(),
                                missing.empty() ? "-" : missing.front(), changed.size()));
    }
  }
  return out;
}

std::string JoinLines(const std::vector<std::string>& violations) {
  std::string all;
  for (const std::string& v : violations) all += "\n  " + v;
  return all;
}

std::set<Uuid> Gone(const SagaLogBySaga& before, const SagaLogBySaga& after) {
  std::set<Uuid> out;
  for (const auto& [id, entries] : before) {
    if (after.count(id) == 0) out.insert(id);
  }
  return out;
}

}  // namespace sagadb::testing
