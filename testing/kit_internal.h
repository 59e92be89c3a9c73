// The kit's parts, shared by its files: the parent's Kit (kit.cc: templates, runs, checks, the report;
// kit_faults.cc: the in-process phases; kit_crash.cc: the phases with child processes and power loss) and the
// child's side (kit_child.cc).
//
// A case runs in a directory of its own under the scratch directory: <case>/world is the user's directory (the
// database in <case>/world/db, external effects beside it), a copy of a template in which setup ran once; the
// kit's own files (the order a child gets, what it reports, what it saw end, its output) sit beside world/, so
// that a check that looks at the whole world never sees them.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "db/database_impl.h"
#include "sagadb/testing/kit.h"
#include "testing/child_process.h"
#include "testing/outcomes.h"
#include "testing/probe.h"

namespace sagadb::testing {

inline constexpr char kChildEnv[] = "SAGADB_KIT_CHILD";
inline constexpr char kOnlyEnv[] = "SAGADB_KIT_ONLY";
inline constexpr char kSeedEnv[] = "SAGADB_KIT_SEED";
inline constexpr char kDirEnv[] = "SAGADB_KIT_DIR";
inline constexpr char kInjected[] = "injected by the test kit";

// One saga of a case.
struct SagaSlot {
  Uuid id;
  Json params;
};

// What a child process is asked to do, written by the parent into <case>/kit-order.json.
struct ChildOrder {
  std::string saga;    // SagaUnderTest::name
  std::string mode;    // "run": start `sagas` and wait; "recover": only the open; "busy": random kills
  std::string world;   // the user's directory
  std::string point;   // a FaultPoint id, or empty
  std::vector<SagaSlot> sagas;
  std::string fail_node;  // "run": this node fails instead of running
  // "busy": sagas params_for(first_index) ... params_for(first_index + count - 1), `threads` at a time, with
  // random faults from `seed`.
  uint64_t seed = 0;
  int first_index = 0;
  int count = 0;
  int threads = 0;
};

// The files of one case. The last copy of the CasePaths that NewCase made removes the case's directory (unless
// KitOptions::keep_scratch).
struct CasePaths {
  explicit CasePaths(std::string case_dir);
  std::string dir, world, db, order, result, outcomes, output;
  std::shared_ptr<void> cleanup;
  std::string point_node;  // the node whose effect the child stopped at, if it stopped at an effect
};

Status WriteOrder(const std::string& path, const ChildOrder& order);
Result<ChildOrder> ReadOrder(const std::string& path);
// The order this process was started with, if it is a kit's child.
std::optional<ChildOrder> OrderFromEnvironment();
// Does what the order says and ends the process: 0 once done, kCrashExitCode at the fault point, 1 (with
// the reason in the result file) on an error of its own.
[[noreturn]] void RunChildPart(const SagaUnderTest& saga, const KitOptions& options, const ChildOrder& order);

// What a finished child wrote into its result file.
struct ChildResult {
  uint64_t writes = 0;
  uint64_t effects = 0;
  std::string error;
};
Result<ChildResult> ReadChildResult(const std::string& path);
Status WriteChildResult(const std::string& path, const ChildResult& result);

// Replaces `to` with a copy of the directory `from`.
Status CopyTree(const std::string& from, const std::string& to);
// The last lines of a file, for a message.
std::string Tail(const std::string& path, size_t max_bytes = 2000);

// The sagadb::SagaResult a saga record stands for.
SagaResult ResultOf(const SagaRecord& record);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// A stuck saga, or (once sagadb has the state) a paused one: an undo failed and an operator must act, or a
// later open retries it.
bool NeedsOperator(SagaState state);
std::string Shorten(std::string text, size_t max = 1500);
// How a child ended: stopped at its fault point, or finished.
bool Crashed(const ChildExit& e);
bool Finished(const ChildExit& e);
// Why a child ended as it did not have to: its own error, or the tail of what it printed.
std::string ChildTrouble(const CasePaths& paths, const ChildExit& e);

class Kit {
 public:
  Kit(const SagaUnderTest& saga, const KitOptions& options);
  ~Kit();
  KitReport Run();

 private:
  // An open database of one case, with the user's domains made for it and the probe around them. Members in
  // this order: the database closes first.
  struct Opened {
    Domains user;
    std::unique_ptr<KitProbe> probe;
    std::unique_ptr<Database> db;
  };
  // What a saga's end must be.
  struct Expect {
    bool may_succeed = true;
    bool may_fail = true;
    bool may_be_absent = false;   // a crash before its first write
    bool stuck = false;           // it must be stuck (or paused), at `at_node`
    std::string at_node;          // a failed (stuck) saga must name this node
    std::string error;            // ... and this error message, if not empty
    std::span<const SeenOutcome> seen;  // what a process saw end before it died: must still be so
  };
  struct NodeInfo {
    std::string name;
    bool external = false;
    bool has_undo = false;
  };

  // --- kit.cc
  Status PrepareTemplates();
  Status PrepareTemplate(const std::string& world, const std::vector<Json>& params, bool take_baseline);
  Status CleanRun();
  // A new case directory with a copy of the template (`several`: with the concurrent sagas' setup).
  Result<CasePaths> NewCase(bool several);
  Result<Opened> Open(const std::string& world, rocksdb::Env* env = nullptr, bool probe_hooks = true);
  std::vector<SagaSlot> Slots(bool several) const;
  Result<SagaHandle> Start(Database& db, const SagaSlot& slot);
  // Checks how the sagas ended in an open database, appending what does not hold; returns the outcome.
  std::string CheckEnd(Opened& run, const std::string& world, const std::vector<SagaSlot>& sagas,
                       const Expect& expect, std::vector<std::string>* out);
  void CheckOne(Opened& run, const std::string& world, const SagaSlot& slot, bool alone, const Expect& expect,
                std::string* outcome, std::vector<std::string>* out);
  Status CallCheck(const std::function<Status(const RunContext&)>& fn, const RunContext& ctx, const char* what);
  // Whether a case is to run (SAGADB_KIT_ONLY, the failure limit); whether a group of them is, in part.
  bool Wanted(const std::string& case_id) const EXCLUDES(mu_);
  bool WantedGroup(const std::string& prefix) const EXCLUDES(mu_);
  size_t FailureCount() const EXCLUDES(mu_);
  void Record(const std::string& case_id, const std::string& outcome) EXCLUDES(mu_);
  void Fail(const std::string& case_id, const std::string& node, uint64_t write, const std::vector<std::string>& why)
      EXCLUDES(mu_);
  // Runs the cases, KitOptions::jobs at a time. Each touches only its own case directory.
  void RunCases(const std::vector<std::function<void()>>& cases);
  void Say(const std::string& line) const;
  std::string LastNode() const { return nodes_.back().name; }

  // --- kit_faults.cc
  void Idempotency();
  void NodeFailures();
  void UndoFailures();
  void RandomPressure();
  // Runs one in-process case: `arm` sets faults on the open run before the saga starts; `more` checks more
  // once it ended (and may reopen the database).
  using Arm = std::function<void(Opened&, FaultPlan&)>;
  using More = std::function<void(Opened&, const CasePaths&, const SagaResult&, std::vector<std::string>*)>;
  void InProcessCase(const std::string& case_id, const std::string& node, const Expect& expect, const Arm& arm,
                     const More& more = {});
  // The nodes whose undo runs when the last action node fails.
  Result<std::vector<std::string>> UndoneByUnwind();

  // --- kit_crash.cc
  void Crashes();
  void PowerLoss();
  void RecoveryCrashes();
  void RecoveryCrashFrom(const std::string& base, const FaultPoint& first, const std::string& variant,
                         std::atomic<int>* recovery_crashes);
  void RandomKills();
  // The counts of a child run without a fault point.
  Result<ChildResult> CountInChild(const std::string& variant);
  // One child run at `point` and the checks after it; whether the child crashed.
  bool CrashCase(const std::string& case_id, const std::string& variant, const FaultPoint& point);
  // Without a point (n = 0), counts the writes and effects of the run into *counts.
  bool PowerLossCase(const std::string& case_id, const std::string& variant, const FaultPoint& point,
                     ChildResult* counts);
  // The order of a child that runs the saga's slots in `paths`' world, stopping at the point with this id (none
  // if empty); in the "unwind" variant the last node fails.
  ChildOrder RunOrder(const CasePaths& paths, const std::string& variant, const std::string& point) const;
  // Starts the child of a case and waits for it.
  Result<ChildExit> RunChild(const CasePaths& paths, const ChildOrder& order);
  Result<ChildProcess> StartChild(const CasePaths& paths, const ChildOrder& order);
  std::vector<std::string> ChildArgv() const;
  // The saga log as a crash left it, read without recovery.
  std::vector<std::string> CheckLogsAsLeft(const std::string& db_dir);
  // Opens after a crash (recovery runs) and checks; the outcome.
  std::string RecoverAndCheck(const CasePaths& paths, const std::vector<SagaSlot>& sagas, const Expect& expect,
                              std::vector<std::string>* out);

  const SagaUnderTest& saga_;
  const KitOptions& options_;
  KitReport report_;  // its failures and cases are kept apart, under mu_, until Run returns it
  mutable Mutex mu_;
  std::vector<KitFailure> failures_ GUARDED_BY(mu_);
  std::vector<KitCase> cases_ GUARDED_BY(mu_);
  std::string only_;
  std::string scratch_;
  bool own_scratch_ = false;
  std::atomic<int> next_case_{0};
  std::string template_one_, template_several_;
  Json baseline_;
  Json success_;             // the snapshot after a clean run
  std::vector<NodeInfo> nodes_;  // action nodes in DAG order
  std::map<std::string, ChildResult> counts_;  // by crash variant
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sagadb::testing
