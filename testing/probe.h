// KitProbe: what the kit puts around one run of a user's saga. It is the store's hooks (every write and point
// read) and it wraps every action and undo of the user's domains, so that it can:
//   - end the process, or cut the power, right before or right after write n or external effect n (an effect is
//     one run of an external action or undo; they are numbered in the order they begin);
//   - make every read of one node's forward action fail transiently ("pressure": a connection pool that is
//     exhausted while that action runs);
//   - make a fraction of all reads and writes fail transiently, from a seed;
//   - once the power is off, refuse every action and undo without running it, so that nothing happens outside
//     the database that the power loss would not have let happen;
//   - count the effects.
//
//   KitProbe probe;
//   probe.Arm(FaultPoint::Parse("after-effect-2").value(), [] { _exit(kCrashExitCode); });
//   OpenSeams seams;
//   seams.hooks = &probe;
//   auto db = OpenDatabase(options, probe.Wrap(user_domains), seams);
//
// Thread safety: all methods may be called concurrently. Must outlive the database opened with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "engine/write_hooks.h"
#include "sagadb/action.h"
#include "sagadb/testing/kit.h"

namespace sagadb::testing {

// Right before or right after write n, or external effect n (n from 1).
struct FaultPoint {
  enum class When { kBefore, kAfter };
  enum class At { kWrite, kEffect };
  When when = When::kBefore;
  At at = At::kWrite;
  uint64_t n = 0;

  // "before-write-7", "after-effect-2".
  std::string Id() const;
  // "before write 7", "after effect 2".
  std::string ToString() const;
  static std::optional<FaultPoint> Parse(std::string_view id);
};

class KitProbe : public StoreHooks {
 public:
  // At `point`, `fire` runs once, on the thread that reached it (for a write, the one writing it), with the node
  // whose effect it is (empty for a write: one write may carry several nodes' outcomes). If fire returns, the
  // probe takes the power as off from then on.
  using Fire = std::function<void(const std::string& node)>;
  void Arm(FaultPoint point, Fire fire);
  // Every read made by the forward action of this node (qualified name) fails transiently. Empty: none.
  void SetPressure(std::string node) EXCLUDES(mu_);
  // Each read and write fails transiently with this probability (0: none).
  void SetTransientRate(double rate, uint64_t seed) EXCLUDES(mu_);

  bool power_off() const { return power_off_.load(); }
  uint64_t effects() const { return effects_.load(); }
  uint64_t pressured_reads() const { return pressured_reads_.load(); }

  // The user's domains, with every action and undo going through this probe.
  Domains Wrap(const Domains& domains);

  Status BeforeWrite(uint64_t n) override;
  void AfterWrite(uint64_t n) override;
  Status BeforeRead() override;

  // Called by the wrapped actions.
  Result<Json> Action(const ActionDef& def, ActionContext& ctx);
  Status Undo(const ActionDef& def, ActionContext& ctx);

 private:
  // Runs `body` (an effect when external) with the faults of the point around it. `refused` is what a call
  // returns once the power is off.
  template <typename R, typename Body>
  R Around(bool external, const std::string& node, Body body);
  void MaybeFire(FaultPoint::When when, FaultPoint::At at, uint64_t n, const std::string& node = "");
  bool RollTransient() EXCLUDES(mu_);

  FaultPoint point_;
  Fire fire_;
  std::atomic<bool> armed_{false};
  std::atomic<bool> fired_{false};
  std::atomic<bool> power_off_{false};
  std::atomic<uint64_t> effects_{0};
  std::atomic<uint64_t> pressured_reads_{0};
  std::atomic<bool> has_rate_{false};

  mutable Mutex mu_;
  std::string pressure_node_ GUARDED_BY(mu_);
  double rate_ GUARDED_BY(mu_) = 0;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
};

}  // namespace sagadb::testing
