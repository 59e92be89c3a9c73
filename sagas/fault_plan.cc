#include "sagas/fault_plan.h"

namespace sagadb {

void FaultPlan::FailAction(const std::string& node, Status error, int times) {
  MutexLock lock(&mu_);
  action_[node] = Fault{std::move(error), times};
}

void FaultPlan::FailAfterStage(const std::string& node, Status error, int times) {
  MutexLock lock(&mu_);
  after_stage_[node] = Fault{std::move(error), times};
}

void FaultPlan::FailAfterEffect(const std::string& node, Status error, int times) {
  MutexLock lock(&mu_);
  after_effect_[node] = Fault{std::move(error), times};
}

void FaultPlan::FailUndo(const std::string& node, Status error, int times) {
  MutexLock lock(&mu_);
  undo_[node] = Fault{std::move(error), times};
}

void FaultPlan::RunActionTwice(const std::string& node) {
  MutexLock lock(&mu_);
  action_twice_.insert(node);
}

void FaultPlan::RunUndoTwice(const std::string& node) {
  MutexLock lock(&mu_);
  undo_twice_.insert(node);
}

std::optional<Status> FaultPlan::Take(FaultMap& faults, const std::string& node) {
  auto it = faults.find(node);
  if (it == faults.end()) it = faults.find(kEveryNode);
  if (it == faults.end() || it->second.remaining == 0) return std::nullopt;
  if (it->second.remaining > 0) --it->second.remaining;
  return it->second.error;
}

std::optional<Status> FaultPlan::TakeActionFault(const std::string& node) {
  MutexLock lock(&mu_);
  return Take(action_, node);
}

std::optional<Status> FaultPlan::TakeAfterStageFault(const std::string& node) {
  MutexLock lock(&mu_);
  return Take(after_stage_, node);
}

std::optional<Status> FaultPlan::TakeAfterEffectFault(const std::string& node) {
  MutexLock lock(&mu_);
  return Take(after_effect_, node);
}

std::optional<Status> FaultPlan::TakeUndoFault(const std::string& node) {
  MutexLock lock(&mu_);
  return Take(undo_, node);
}

bool FaultPlan::ActionTwice(const std::string& node) const {
  MutexLock lock(&mu_);
  return action_twice_.count(node) > 0 || action_twice_.count(kEveryNode) > 0;
}

bool FaultPlan::UndoTwice(const std::string& node) const {
  MutexLock lock(&mu_);
  return undo_twice_.count(node) > 0 || undo_twice_.count(kEveryNode) > 0;
}

}  // namespace sagadb
