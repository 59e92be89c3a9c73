#include "tests/sample_saga_kit.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "base/mutex.h"
#include "controlplane/datastore.h"
#include "db/database_impl.h"
#include "tests/saga_test_util.h"
#include "testing/log_checks.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kDisksPerSaga = 4;  // a, b, sub.x, d
constexpr int kFilesPerSaga = 2;  // c, sub.y

// The test actions' domain, owning the context they keep.
class SampleDomain : public BasicDomain {
 public:
  explicit SampleDomain(std::string files_dir) : BasicDomain("test", TestTables()) {
    app_.files_dir = std::move(files_dir);
    std::error_code ec;
    fs::create_directories(app_.files_dir, ec);
    RegisterTestActions(&actions(), &app_);
  }

 private:
  TestApp app_;
};

// The owner of a file the external actions made: "<saga id>-<node>".
std::optional<Uuid> FileOwner(const std::string& name) {
  constexpr size_t kIdLength = 36;
  if (name.size() <= kIdLength || name[kIdLength] != '-') return std::nullopt;
  return Uuid::Parse(std::string_view(name).substr(0, kIdLength));
}

Status AsStatus(const std::vector<std::string>& violations) {
  if (violations.empty()) return Status::OK();
  std::string all;
  for (const std::string& v : violations) all += (all.empty() ? "" : "; ") + v;
  return Status::Internal(all);
}

}  // namespace

std::vector<std::string> SampleWorldViolations(Database& db, const std::string& dir) {
  std::vector<std::string> out;
  Store& store = db.impl().store();
  std::map<Uuid, SagaState> states = SagaStates(store);
  auto datastore = Datastore::Open(&store);
  if (!datastore.ok()) return {"the database has no control-plane tables: " + datastore.status().ToString()};
  std::map<Uuid, int> disks, files;
  Listing<Disk> listing = (*datastore)->ListDisks();
  for (const Status& e : listing.errors) out.push_back("a disk record does not read: " + e.ToString());
  for (const Disk& d : listing.records) {
    if (d.state == DiskState::kDestroyed) continue;
    if (!d.saga_id || !states.contains(*d.saga_id)) {
      out.push_back(fmt::format("live disk {} belongs to no saga", d.name));
    } else if (states[*d.saga_id] != SagaState::kSucceeded) {
      out.push_back(fmt::format("live disk {} belongs to saga {}, which is {}", d.name, d.saga_id->ToString(),
                                ToString(states[*d.saga_id])));
    } else {
      disks[*d.saga_id]++;
    }
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir + "/files", ec)) {
    const std::string name = entry.path().filename().string();
    auto owner = FileOwner(name);
    if (!owner || !states.contains(*owner)) {
      out.push_back(fmt::format("file {} belongs to no saga", name));
    } else if (states[*owner] != SagaState::kSucceeded) {
      out.push_back(fmt::format("file {} belongs to a saga that is {}", name, ToString(states[*owner])));
    } else {
      files[*owner]++;
    }
  }
  for (const auto& [id, state] : states) {
    if (state != SagaState::kSucceeded) continue;
    if (disks[id] != kDisksPerSaga) {
      out.push_back(fmt::format("succeeded saga {} has {} live disks, not {}", id.ToString(), disks[id], kDisksPerSaga));
    }
    if (files[id] != kFilesPerSaga) {
      out.push_back(fmt::format("succeeded saga {} has {} files, not {}", id.ToString(), files[id], kFilesPerSaga));
    }
  }
  return out;
}

namespace {

// The world rule is about all sagas at once, and the kit asks once per saga: with hundreds of sagas (random
// kills) checking it afresh each time is quadratic. Between two writes of one open the answer cannot change.
class WorldCheck {
 public:
  Status operator()(const RunContext& ctx) EXCLUDES(mu_) {
    Store& store = ctx.db.impl().store();
    const Key key{ctx.dir, store.open_generation(), store.write_attempts()};
    MutexLock lock(&mu_);
    if (!(key == key_) || !valid_) {
      violations_ = SampleWorldViolations(ctx.db, ctx.dir);
      key_ = key;
      valid_ = true;
    }
    return AsStatus(violations_);
  }

 private:
  struct Key {
    std::string dir;
    uint64_t generation = 0;
    uint64_t writes = 0;
    bool operator==(const Key&) const = default;
  };
  Mutex mu_;
  Key key_ GUARDED_BY(mu_);
  bool valid_ GUARDED_BY(mu_) = false;
  std::vector<std::string> violations_ GUARDED_BY(mu_);
};

}  // namespace

SagaUnderTest SampleSagaUnderTest() {
  SagaUnderTest saga;
  saga.name = "sample";
  saga.domains = [](const std::string& dir) { return Domains{std::make_shared<SampleDomain>(dir + "/files")}; };
  saga.dag = [](const Json&) -> Result<SagaDag> { return SampleDag(); };
  saga.params = Json{{"tag", "sample"}};
  saga.params_for = [](int i) { return Json{{"tag", fmt::format("s{}", i)}}; };
  // Both outcomes are the same world rule: only succeeded sagas own disks and files, exactly theirs.
  auto check = std::make_shared<WorldCheck>();
  saga.check_succeeded = [check](const RunContext& ctx) { return (*check)(ctx); };
  saga.check_unchanged = [check](const RunContext& ctx) { return (*check)(ctx); };
  return saga;
}

}  // namespace sagadb::testing
