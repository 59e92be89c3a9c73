// Writes the fuzz targets' seed corpus, fuzz/corpus/<target>/: the stored bytes of the records and the logs of
// real sagas (run on a scratch database: instance-creates that succeed, one that unwinds, one that gets stuck,
// a disk-create, an attach and a detach), and command lines of the sagadb program.
//
//   sagadb_fuzz_seeds fuzz/corpus
//
// Each seed file is named by a hash of its content, so a second run adds only what differs (ids and times do).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "db/database_impl.h"
#include "engine/store.h"
#include "fuzz/replay_input.h"
#include "log/saga_log.h"
#include "sagadb/control_plane.h"
#include "sagas/fault_plan.h"

namespace sagadb::fuzz {
namespace {

namespace fs = std::filesystem;

std::string Hash(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

void Write(const fs::path& dir, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / Hash(bytes), std::ios::binary) << bytes;
}

// Every value of a table, as stored.
std::vector<std::string> Values(Store& store, std::string_view table) {
  std::vector<std::string> values;
  auto id = store.FindTable(table);
  if (!id.ok()) return values;
  auto cursor = store.NewCursor(*id);
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) values.emplace_back(cursor->value());
  return values;
}

Status RunSagas(const std::string& path) {
  DatabaseOptions options;
  options.path = path;
  SAGADB_ASSIGN_OR_RETURN(std::unique_ptr<ControlPlane> cp, ControlPlane::Open(options));
  SagaExecutor& executor = cp->database().impl().executor();
  auto run = [](Result<SagaHandle> h) -> Result<SagaResult> {
    SAGADB_RETURN_IF_ERROR(h.status());
    return h->Wait();
  };
  auto request = [](const std::string& name, int disks) {
    InstanceCreateRequest r{"proj", name, 2, 4ull << 30, {}};
    for (int i = 0; i < disks; ++i) r.disks.push_back({fmt::format("{}-d{}", name, i), 1ull << 30});
    return r;
  };
  SAGADB_ASSIGN_OR_RETURN(SagaResult ok, run(cp->CreateInstance(request("web", 2))));
  SAGADB_RETURN_IF_ERROR(run(cp->CreateInstance(request("bare", 0))).status());
  SAGADB_ASSIGN_OR_RETURN(SagaResult disk, run(cp->CreateDisk(DiskCreateRequest{"proj", "spare", 1ull << 30})));
  (void)ok;
  (void)disk;
  auto spare = cp->LookupDisk("proj", "spare");
  auto web = cp->LookupInstance("proj", "web");
  if (spare.ok() && web.ok()) {
    SAGADB_RETURN_IF_ERROR(run(cp->AttachDisk(*spare, *web)).status());
    SAGADB_RETURN_IF_ERROR(run(cp->DetachDisk(*spare, *web)).status());
  }
  // An unwind: the last step fails once everything else succeeded.
  auto unwind = std::make_shared<FaultPlan>();
  unwind->FailAction("set_boot", Status::InvalidRequest("injected"));
  executor.SetFaultPlan(unwind);
  SAGADB_RETURN_IF_ERROR(run(cp->CreateInstance(request("unwound", 2))).status());
  // Stuck: an undo fails for good during that unwind.
  auto stuck = std::make_shared<FaultPlan>();
  stuck->FailAction("set_boot", Status::InvalidRequest("injected"));
  stuck->FailUndo("disk_0.volume", Status::Internal("injected"), FaultPlan::kAlways);
  executor.SetFaultPlan(stuck);
  SAGADB_RETURN_IF_ERROR(run(cp->CreateInstance(request("stuck", 1))).status());
  executor.SetFaultPlan(nullptr);
  return Status::OK();
}

Status WriteSeeds(const std::string& path, const fs::path& corpus) {
  StoreConfig config;
  config.path = path;
  config.mode = OpenMode::kReadOnly;
  SAGADB_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(config));
  for (const auto& v : Values(*store, "instances")) Write(corpus / "decode_instance", v);
  for (const auto& v : Values(*store, "disks")) Write(corpus / "decode_disk", v);
  for (const auto& v : Values(*store, "sagas")) Write(corpus / "decode_saga_record", v);
  for (const auto& v : Values(*store, "saga_events")) Write(corpus / "decode_saga_event", v);
  const SagaLog log(store.get());
  auto sagas = store->FindTable("sagas");
  SAGADB_RETURN_IF_ERROR(sagas.status());
  auto cursor = store->NewCursor(*sagas);
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    auto id = Uuid::FromBytes(cursor->key());
    if (!id) continue;
    SAGADB_ASSIGN_OR_RETURN(SagaRecord record, log.ReadRecord(*id));
    SAGADB_ASSIGN_OR_RETURN(std::vector<LoggedEvent> events, log.ReadEvents(*id));
    Write(corpus / "replay", EncodeReplayInput(record, events));
  }
  return cursor->status();
}

void WriteCommandLines(const fs::path& corpus) {
  const std::vector<std::vector<std::string>> lines = {
      {"--help"},
      {"saga", "list", "--state", "stuck"},
      {"--db", "/var/lib/sagadb", "--json", "saga", "show", "3f2b9a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"},
      {"saga", "dot", "3f2b9a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "--svg"},
      {"saga", "abandon", "3f2b9a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "--reason", "operator"},
      {"instance", "create", "web", "--disks", "3", "--disk-size", "10GiB", "--cpus", "2", "--memory", "4GiB"},
      {"--project", "proj", "instance", "show", "web"},
      {"disk", "create", "spare", "--size", "1.5TiB"},
      {"disk", "attach", "spare", "web"},
      {"demo", "--instances", "30", "--disks", "11", "--fail-rate", "0.25", "--seed", "7", "--concurrency", "8"},
      {"check", "--quiescent"},
      {"recover"},
      {"--json", "salvage", "--repair-into", "/var/tmp/sagadb-repaired"},
  };
  for (const auto& line : lines) {
    std::string bytes;
    for (size_t i = 0; i < line.size(); ++i) bytes += (i > 0 ? std::string(1, '\0') : "") + line[i];
    Write(corpus / "cli_args", bytes);
  }
}

}  // namespace
}  // namespace sagadb::fuzz

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::error_code ec;
  const fs::path scratch = fs::temp_directory_path(ec) / fmt::format("sagadb-seeds-{}", ::getpid());
  const std::string db = (scratch / "db").string();
  sagadb::Status st = sagadb::fuzz::RunSagas(db);
  if (st.ok()) st = sagadb::fuzz::WriteSeeds(db, argv[1]);
  fs::remove_all(scratch, ec);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  sagadb::fuzz::WriteCommandLines(argv[1]);
  return 0;
}
