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

void FaultPlan::FailActionsAtRate(double rate, Status error, uint64_t seed) {
  MutexLock lock(&mu_);
  rate_ = rate;
  rate_error_ = std::move(error);
  rng_.seed(seed);
}

uint64_t FaultPlan::rate_faults() const {
  MutexLock lock(&mu_);
  return rate_faults_;
}

std::optional<Status> FaultPlan::TakeActionFault(const std::string& node) {
  MutexLock lock(&mu_);
  if (auto named = Take(action_, node)) return named;
  if (rate_ <= 0 || std::uniform_real_distribution<double>(0, 1)(rng_) >= rate_) return std::nullopt;
  rate_faults_++;
  return Status::FromCode(static_cast<uint8_t>(rate_error_.code()), rate_error_.message() + " at " + node);
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
