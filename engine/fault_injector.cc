#include "engine/fault_injector.h"

#include <unistd.h>

namespace sagadb {

void FaultInjector::FailWrite(uint64_t n, Status error) {
  MutexLock lock(&mu_);
  fail_writes_[n] = std::move(error);
}

void FaultInjector::FailWritesFrom(uint64_t n, Status error) {
  MutexLock lock(&mu_);
  fail_from_ = n;
  fail_from_error_ = std::move(error);
}

void FaultInjector::SetTransientRate(double rate, uint64_t seed) {
  MutexLock lock(&mu_);
  rate_ = rate;
  rng_.seed(seed);
  has_rate_.store(rate > 0);
}

bool FaultInjector::RollTransient() {
  if (!has_rate_.load(std::memory_order_relaxed)) return false;
  MutexLock lock(&mu_);
  return std::uniform_real_distribution<double>(0, 1)(rng_) < rate_;
}

Status FaultInjector::BeforeWrite(uint64_t n) {
  if (crash_before_.load() == n) _exit(kCrashExitCode);
  {
    MutexLock lock(&mu_);
    if (auto it = fail_writes_.find(n); it != fail_writes_.end()) {
      injected_.fetch_add(1);
      return it->second;
    }
    if (fail_from_ != 0 && n >= fail_from_) {
      injected_.fetch_add(1);
      return fail_from_error_;
    }
  }
  if (RollTransient()) {
    injected_.fetch_add(1);
    return Status::Transient("injected: all claims are used (write)");
  }
  return Status::OK();
}

void FaultInjector::AfterWrite(uint64_t n) {
  if (crash_after_.load() == n) _exit(kCrashExitCode);
}

Status FaultInjector::BeforeRead() {
  if (RollTransient()) {
    injected_.fetch_add(1);
    return Status::Transient("injected: all claims are used (read)");
  }
  return Status::OK();
}

}  // namespace sagadb
