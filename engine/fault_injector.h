// FaultInjector: the StoreHooks that tests and the overload scenario install on a Store.
//
//   FaultInjector faults;
//   faults.FailWrite(3, Status::Transient("all claims are used"));  // the 3rd write fails, writes nothing
//   faults.CrashAfterWrite(7);                                      // _exit right after the 7th write is durable
//   faults.SetTransientRate(0.05, /*seed=*/42);                     // ~5% of reads and writes fail transiently
//   store->SetHooks(&faults);
//
// A crash ends the process with _exit(kCrashExitCode): no destructors, no buffered output, exactly like a
// kill, but at a chosen durable write. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <random>

#include "base/mutex.h"
#include "sagadb/status.h"
#include "engine/write_hooks.h"

namespace sagadb {

inline constexpr int kCrashExitCode = 86;

class FaultInjector : public StoreHooks {
 public:
  // Write number n (1-based; 0 is the open's metadata write, see write_hooks.h) fails with `error` and writes
  // nothing.
  void FailWrite(uint64_t n, Status error);
  // Every write from number n (at least 1) on fails with `error` (a disk that went away).
  void FailWritesFrom(uint64_t n, Status error);
  // End the process right before write n reaches RocksDB (it is lost) or right after it is durable.
  void CrashBeforeWrite(uint64_t n) { crash_before_.store(n); }
  void CrashAfterWrite(uint64_t n) { crash_after_.store(n); }
  // Each write and each read fails with Transient("... all claims are used") with this probability.
  void SetTransientRate(double rate, uint64_t seed);

  uint64_t injected_failures() const { return injected_.load(); }

  Status BeforeWrite(uint64_t n) override;
  void AfterWrite(uint64_t n) override;
  Status BeforeRead() override;

 private:
  bool RollTransient();

  static constexpr uint64_t kNever = ~uint64_t{0};
  std::atomic<uint64_t> crash_before_{kNever};
  std::atomic<uint64_t> crash_after_{kNever};
  std::atomic<uint64_t> injected_{0};
  std::atomic<bool> has_rate_{false};
  Mutex mu_;
  std::map<uint64_t, Status> fail_writes_ GUARDED_BY(mu_);
  uint64_t fail_from_ GUARDED_BY(mu_) = 0;
  Status fail_from_error_ GUARDED_BY(mu_);
  double rate_ GUARDED_BY(mu_) = 0;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
};

}  // namespace sagadb
