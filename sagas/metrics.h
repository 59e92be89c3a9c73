// SagaMetrics: the executor's part of sagadb/metrics.h: sagas started and ended by kind and outcome, how long
// sagas and steps took, rounds and their sizes. Kept on the executor's own paths without a lock and without
// allocating: each figure is a relaxed atomic increment, and a saga finds its kind's counters once, when its run
// is made (SagaRun::kind_metrics).
//
//   SagaMetrics metrics;
//   metrics.IndexActions(registry);               // before any saga runs
//   SagaMetrics::Kind* k = metrics.ForKind("instance-create");
//   metrics.Started(k, /*resumed=*/false);
//   metrics.NodeSucceeded(action, duration_ns);
//   metrics.Completed(k, &result, record.created_ns);         // or Ended(k, state, duration_ns)
//   Metrics m;
//   metrics.Fill(&m);
//
// Outcomes are counted by the number of their SagaState, whatever states there are (up to kStates), and named
// when a snapshot is taken: a state added later is counted and named with no change here.
//
// Thread safety: all methods may be called concurrently, except IndexActions (before any other call).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/histogram.h"
#include "base/mutex.h"
#include "sagadb/action.h"
#include "sagadb/metrics.h"
#include "sagadb/saga.h"

namespace sagadb {

class SagaMetrics {
 public:
  // SagaState values counted apart: more than there are, so that states added later are counted too.
  static constexpr size_t kStates = 16;
  // Kinds counted apart; any further kind is counted under kOtherKinds.
  static constexpr size_t kMaxKinds = 256;
  static constexpr std::string_view kOtherKinds = "(other)";

  // The counters of one kind of saga.
  struct Kind {
    explicit Kind(std::string kind_name) : name(std::move(kind_name)) {}
    const std::string name;
    std::atomic<uint64_t> started{0}, resumed{0}, halted{0};
    std::array<std::atomic<uint64_t>, kStates> ended{};
  };

  SagaMetrics();

  // Each action of the registry gets a latency histogram of its own; the steps of an action registered after
  // this call are counted in the total only. REQUIRES: no saga runs yet.
  void IndexActions(const ActionRegistry& registry);

  // The counters of `kind`, the same for the life of this object: looked up once per saga, under a lock.
  Kind* ForKind(std::string_view kind) EXCLUDES(mu_);

  void Started(Kind* kind, bool resumed) { (resumed ? kind->resumed : kind->started).fetch_add(1, kRelaxed); }
  // A Start that found its id taken: it did not start after all.
  void Unstarted(Kind* kind) { kind->started.fetch_sub(1, kRelaxed); }
  // The execution ended in `state`, `duration_ns` after the saga's creation.
  void Ended(Kind* kind, SagaState state, int64_t duration_ns);
  void Halted(Kind* kind) { kind->halted.fetch_add(1, kRelaxed); }
  // A run completed: Ended with the result's state, now, for a saga created at `created_ns`; Halted when there
  // is no result.
  void Completed(Kind* kind, const SagaResult* result, int64_t created_ns);
  // A forward step's outcome is durable, `duration_ns` after its last attempt began.
  void NodeSucceeded(const ActionDef* action, int64_t duration_ns);
  // A round was written with this many log events.
  void RoundWritten(size_t events) { round_events_.Add(events); }

  // Adds the executor's figures to `m`: sagas, by_kind, saga_seconds, node_seconds, node_seconds_by_action,
  // round_events.
  void Fill(Metrics* m) const EXCLUDES(mu_);

 private:
  static constexpr auto kRelaxed = std::memory_order_relaxed;
  // Latencies in microseconds: 16 us, 32 us, ... 2^25 us (33.6 s), and above.
  static std::unique_ptr<AtomicHistogram> NewLatency() { return std::make_unique<AtomicHistogram>(16, 22); }

  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<Kind>, std::less<>> kinds_ GUARDED_BY(mu_);
  std::array<std::unique_ptr<AtomicHistogram>, kStates> saga_us_;
  std::unique_ptr<AtomicHistogram> node_us_ = NewLatency();
  // Written by IndexActions only, before any reader.
  std::unordered_map<const ActionDef*, size_t> action_index_;
  std::vector<std::string> action_names_;
  std::vector<std::unique_ptr<AtomicHistogram>> action_us_;
  AtomicHistogram round_events_{1, 12};  // 1, 2, 4, ... 2048 events
};

}  // namespace sagadb
