// CrashHarness: one crash scenario on disk (a database, the external actions' files and the child's outcomes
// file), the crash_child program run against it, and the checks of the end state that recovery reaches.
//
//   CrashHarness h(scratch.path());
//   uint64_t total = *h.CountWrites("single");          // a run with no crash point
//   h.Reset();
//   ChildExit e = *h.Run("single", CrashPoint::After(3));  // exit 86: it crashed right after its 3rd write
//   std::vector<std::string> violations = h.CheckRecovered(&states);   // opens here: recovery runs
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "db/database_impl.h"
#include "sagadb/action.h"
#include "tests/child_process.h"
#include "tests/saga_test_util.h"

namespace sagadb::testing {

// Where the child ends itself: right before or right after its write number `write` (0: nowhere).
struct CrashPoint {
  enum class When { kBefore, kAfter };
  When when = When::kAfter;
  uint64_t write = 0;

  static CrashPoint None() { return {}; }
  static CrashPoint Before(uint64_t n) { return {When::kBefore, n}; }
  static CrashPoint After(uint64_t n) { return {When::kAfter, n}; }
  // "before write 3", "after write 3", "no crash point".
  std::string ToString() const;
};

class CrashHarness {
 public:
  // Keeps the scenario under `root`, which must exist.
  explicit CrashHarness(std::string root);

  // Empties the scenario: no database, no files, no outcomes.
  void Reset();
  // Copies the scenario aside, and back.
  void Save();
  void Restore();

  // Runs crash_child on the scenario and waits for it. `extra` are further arguments (--seed ...).
  Result<ChildExit> Run(const std::string& workload, CrashPoint crash, const std::vector<std::string>& extra = {});
  // Starts crash_child without waiting.
  Result<ChildProcess> Start(const std::string& workload, CrashPoint crash,
                             const std::vector<std::string>& extra = {});
  // The writes the last finished run reported (0 if it crashed).
  uint64_t LastRunWrites() const;
  // Runs the workload once on an empty scenario with no crash point: the number of writes it makes.
  Result<uint64_t> CountWrites(const std::string& workload);

  // Opens the database in this process (recovery runs), waits until no saga executes, and returns the
  // violations of CheckEndState, with the sagas the child saw end as `seen`. `states` (if given) receives
  // every saga's end state.
  std::vector<std::string> CheckRecovered(std::map<Uuid, SagaState>* states = nullptr);
  // Opens the database read-only, without recovery, and returns the violations of "every saga's log replays
  // legally and agrees with its record", as the crash left it.
  std::vector<std::string> CheckLogsAsLeft();

  // The sagas the child saw end so far.
  size_t SeenCount() const;

  const std::string& db_dir() const { return db_; }
  const std::string& files_dir() const { return files_; }

 private:
  std::vector<std::string> Args(const std::string& workload, CrashPoint crash,
                                const std::vector<std::string>& extra) const;

  std::string root_, db_, files_, outcomes_, writes_;
  TestApp app_;  // the test actions' context when the database is opened here
};

// The seed of a randomized crash test: `fallback`, or the value of SAGADB_CRASH_SEED when it is set (to replay
// a failure). Printed to stdout together with the test's name.
uint64_t CrashSeed(std::string_view test, uint64_t fallback);

// The violations, one per line, for a failure message.
std::string Lines(const std::vector<std::string>& violations);

}  // namespace sagadb::testing
