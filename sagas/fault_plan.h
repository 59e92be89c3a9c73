// FaultPlan: test-only faults the executor injects at named nodes (qualified names, "disk_0.record").
//
//   auto plan = std::make_shared<FaultPlan>();
//   plan->FailAction("attach_3", Status::InvalidRequest("injected"));        // instead of the action
//   plan->FailAfterStage("instance", Status::Internal("injected"));          // the action staged; then fail
//   plan->FailAfterEffect("disk_0.volume", Status::Internal("injected"));    // its effect happened; then fail
//   plan->FailUndo("disk_0.volume", Status::Transient("injected"), 3);       // its undo fails 3 times
//   plan->RunActionTwice("*");                                               // every action runs twice
//   plan->FailActionsAtRate(0.005, Status::InvalidRequest("injected"), 42);  // ~1 forward step in 200
//   executor.SetFaultPlan(plan);
//
// Off by default: with no plan set the executor pays one pointer check per node. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "base/mutex.h"
#include "sagadb/status.h"

namespace sagadb {

class FaultPlan {
 public:
  static constexpr int kAlways = -1;
  // "*" as a node name matches every node.
  static constexpr const char* kEveryNode = "*";

  void FailAction(const std::string& node, Status error, int times = kAlways);
  void FailAfterStage(const std::string& node, Status error, int times = kAlways);
  // External actions: the action returned OK (its effect happened) and the step then fails with `error` before
  // its outcome is recorded. The step takes the effect back with the node's undo (a failed node's undo is never
  // run by the unwind, and an external action that fails must leave nothing behind) and goes on as if the
  // action had failed with `error`: retried if transient, otherwise recorded as failed.
  void FailAfterEffect(const std::string& node, Status error, int times = kAlways);
  void FailUndo(const std::string& node, Status error, int times = 1);
  // Every forward action (local or external) that no named fault takes fails instead of running, with
  // probability `rate`, with `error` and " at <node>" after its message: faults at random steps of random
  // sagas, as a permanent `error` makes them unwind (undos are never touched). Repeatable for a `seed` as far as
  // the order in which steps run is.
  void FailActionsAtRate(double rate, Status error, uint64_t seed);
  // How many faults FailActionsAtRate has injected.
  uint64_t rate_faults() const;
  void RunActionTwice(const std::string& node);
  void RunUndoTwice(const std::string& node);

  // Executor side: each Take consumes one of the fault's remaining times.
  std::optional<Status> TakeActionFault(const std::string& node);
  std::optional<Status> TakeAfterStageFault(const std::string& node);
  std::optional<Status> TakeAfterEffectFault(const std::string& node);
  std::optional<Status> TakeUndoFault(const std::string& node);
  bool ActionTwice(const std::string& node) const;
  bool UndoTwice(const std::string& node) const;

 private:
  struct Fault {
    Status error;
    int remaining;
  };
  using FaultMap = std::map<std::string, Fault>;
  std::optional<Status> Take(FaultMap& faults, const std::string& node) REQUIRES(mu_);

  mutable Mutex mu_;
  FaultMap action_ GUARDED_BY(mu_);
  FaultMap after_stage_ GUARDED_BY(mu_);
  FaultMap after_effect_ GUARDED_BY(mu_);
  FaultMap undo_ GUARDED_BY(mu_);
  std::set<std::string> action_twice_ GUARDED_BY(mu_);
  std::set<std::string> undo_twice_ GUARDED_BY(mu_);
  double rate_ GUARDED_BY(mu_) = 0;
  Status rate_error_ GUARDED_BY(mu_);
  std::mt19937_64 rng_ GUARDED_BY(mu_);
  uint64_t rate_faults_ GUARDED_BY(mu_) = 0;
};

}  // namespace sagadb
