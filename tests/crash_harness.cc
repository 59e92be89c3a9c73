#include "tests/crash_harness.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/crash_check.h"
#include "tests/crash_outcomes.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

// Replaces `to` with a copy of `from` (which may be missing: then `to` is just removed).
void CopyTree(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  if (fs::exists(from)) fs::copy(from, to, fs::copy_options::recursive);
}

}  // namespace

std::string CrashPoint::ToString() const {
  if (write == 0) return "no crash point";
  return fmt::format("{} write {}", when == When::kBefore ? "before" : "after", write);
}

uint64_t CrashSeed(std::string_view test, uint64_t fallback) {
  uint64_t seed = fallback;
  if (const char* env = std::getenv("SAGADB_CRASH_SEED"); env != nullptr && *env != '\0') {
    seed = std::strtoull(env, nullptr, 10);
  }
  std::printf("%.*s: seed %llu (set SAGADB_CRASH_SEED to replay another)\n", static_cast<int>(test.size()),
              test.data(), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

std::string Lines(const std::vector<std::string>& violations) {
  std::string all;
  for (const std::string& v : violations) all += "\n  " + v;
  return all;
}

CrashHarness::CrashHarness(std::string root)
    : root_(std::move(root)),
      db_((fs::path(root_) / "db").string()),
      files_((fs::path(root_) / "files").string()),
      outcomes_((fs::path(root_) / "outcomes").string()),
      writes_((fs::path(root_) / "writes").string()) {
  app_.files_dir = files_;
  Reset();
}

void CrashHarness::Reset() {
  for (const std::string& p : {db_, files_, outcomes_, writes_}) fs::remove_all(p);
  fs::create_directories(files_);
}

void CrashHarness::Save() {
  for (const std::string& p : {db_, files_, outcomes_}) CopyTree(p, p + ".saved");
}

void CrashHarness::Restore() {
  for (const std::string& p : {db_, files_, outcomes_}) CopyTree(p + ".saved", p);
  fs::remove_all(writes_);
}

std::vector<std::string> CrashHarness::Args(const std::string& workload, CrashPoint crash,
                                            const std::vector<std::string>& extra) const {
  std::vector<std::string> args = {CRASH_CHILD, "--db",         db_,     "--files",    files_, "--outcomes",
                                   outcomes_,   "--workload",   workload, "--writes-out", writes_};
  if (crash.write > 0) {
    args.push_back(crash.when == CrashPoint::When::kBefore ? "--crash-before" : "--crash-after");
    args.push_back(std::to_string(crash.write));
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

Result<ChildExit> CrashHarness::Run(const std::string& workload, CrashPoint crash,
                                    const std::vector<std::string>& extra) {
  fs::remove_all(writes_);
  return RunChild(Args(workload, crash, extra));
}

Result<ChildProcess> CrashHarness::Start(const std::string& workload, CrashPoint crash,
                                         const std::vector<std::string>& extra) {
  fs::remove_all(writes_);
  return ChildProcess::Start(Args(workload, crash, extra));
}

uint64_t CrashHarness::LastRunWrites() const {
  std::ifstream in(writes_);
  uint64_t n = 0;
  in >> n;
  return n;
}

Result<uint64_t> CrashHarness::CountWrites(const std::string& workload) {
  Reset();
  SAGADB_ASSIGN_OR_RETURN(ChildExit e, Run(workload, CrashPoint::None()));
  if (!e.exited || e.code != 0) {
    return Status::Internal(fmt::format("{} with no crash point ended with {}", workload, e.ToString()));
  }
  const uint64_t n = LastRunWrites();
  Reset();
  return n;
}

std::vector<std::string> CrashHarness::CheckRecovered(std::map<Uuid, SagaState>* states) {
  DatabaseOptions opts;
  opts.path = db_;
  opts.executor.threads = 4;
  auto db = Database::Open(opts, {TestDomain(&app_)});
  if (!db.ok()) return {"opening after the crash: " + db.status().ToString()};
  (*db)->WaitIdle();
  EndStateOptions check;
  check.files_dir = files_;
  const std::vector<SeenOutcome> seen = ReadOutcomes(outcomes_);
  std::vector<std::string> violations = CheckEndState(**db, check, seen);
  if (states != nullptr) *states = SagaStates((*db)->impl().store());
  return violations;
}

std::vector<std::string> CrashHarness::CheckLogsAsLeft() {
  if (!fs::exists(db_)) return {};
  StoreConfig config;
  config.path = db_;
  config.mode = OpenMode::kReadOnly;
  auto store = Store::Open(config);
  if (!store.ok()) return {"opening read-only after the crash: " + store.status().ToString()};
  return CheckLogs(**store);
}

size_t CrashHarness::SeenCount() const { return ReadOutcomes(outcomes_).size(); }

}  // namespace sagadb::testing
