// The fixture of the history suites: a database with the test actions (tests/saga_test_util.h) and one more, an
// external action that waits at a gate, so that a test can hold a saga in flight for as long as it likes.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/database_impl.h"
#include "log/saga_index.h"
#include "log/saga_log.h"
#include "sagas/fault_plan.h"
#include "tests/saga_test_util.h"
#include "tests/test_util.h"

namespace sagadb::testing {

// Closed until Open(); "hold.wait" blocks on it.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// first (a local disk), then wait (hold.wait, external: its `started` is durable while it waits).
SagaDag HoldDag();

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override { gate_.Open(); }

  // Retention off unless the test turns it on; quick retries.
  DatabaseOptions Options() const;
  std::unique_ptr<Database> Open(const DatabaseOptions& options, StoreHooks* hooks = nullptr);
  std::unique_ptr<Database> Open() { return Open(Options()); }

  // Runs a sample saga to its end: succeeded, or with `fail` failed (node d fails), or with `stuck` stuck (d
  // fails and a's undo fails for good). Returns its id.
  Uuid Run(Database& db, const std::string& tag, bool fail = false, bool stuck = false);
  // Starts a sample saga that halts after its first round, as a process that died there leaves it (nothing
  // resumes it until the next open). Returns its id.
  Uuid StartInterrupted(Database& db, const std::string& tag);
  SagaRecord Record(Database& db, const Uuid& id);
  // The index's entries: in-flight ones by id, finished ones oldest first.
  static std::vector<std::pair<Uuid, SagaIndexEntry>> Active(const Store& store);
  static std::vector<std::pair<Uuid, SagaIndexEntry>> Finished(const Store& store);

  ScratchDir dir_;
  TestApp app_;
  Gate gate_;
};

}  // namespace sagadb::testing
