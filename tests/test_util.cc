#include "tests/test_util.h"

#include <stdlib.h>

#include <fmt/format.h>

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
  for (int i = 0; i < kNumCfs; ++i) {
    const Cf cf = static_cast<Cf>(i);
    auto it = store.NewIterator(cf);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out[fmt::format("{}/{}", CfName(cf), Hex(it->key().ToStringView()))] = Hex(it->value().ToStringView());
    }
    if (!it->status().ok()) throw std::runtime_error("scanning " + std::string(CfName(cf)) + " failed");
  }
  return out;
}

}  // namespace sagadb::testing
