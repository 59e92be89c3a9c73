#include "schema/records.h"

#include <array>

namespace sagadb {
namespace {

constexpr std::array<std::string_view, 7> kInstanceStates = {"creating", "stopped",  "starting", "running",
                                                               "stopping", "failed", "destroyed"};
constexpr std::array<std::string_view, 6> kDiskStates = {"creating",    "detached", "attached",
                                                           "maintenance", "faulted",  "destroyed"};
constexpr std::array<std::string_view, 7> kSagaStates = {"running", "unwinding", "succeeded", "failed",
                                                           "stuck",   "abandoned", "paused"};
constexpr std::array<std::string_view, 7> kEventTypes = {"started",       "succeeded",   "failed",  "undo_started",
                                                           "undo_finished", "undo_failed", "operator"};
constexpr std::array<std::string_view, 4> kOperatorOps = {"none", "cancel", "resume", "abandon"};
constexpr std::array<std::string_view, 3> kAbandonKinds = {"operator", "unrecoverable", "orphaned"};
constexpr std::array<std::string_view, 4> kNodeKinds = {"action", "constant", "subsaga_start", "subsaga_end"};

template <typename E, size_t N>
std::string_view Name(const std::array<std::string_view, N>& names, E value) {
  auto i = static_cast<size_t>(value);
  return i < N ? names[i] : std::string_view("unknown");
}

template <typename E, size_t N>
std::optional<E> Lookup(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view ToString(InstanceState s) { return Name(kInstanceStates, s); }
std::string_view ToString(DiskState s) { return Name(kDiskStates, s); }
std::string_view ToString(SagaState s) { return Name(kSagaStates, s); }
std::string_view ToString(EventType t) { return Name(kEventTypes, t); }
std::string_view ToString(NodeKind k) { return Name(kNodeKinds, k); }
std::string_view ToString(OperatorOp op) { return Name(kOperatorOps, op); }
std::string_view ToString(AbandonKind k) { return Name(kAbandonKinds, k); }
std::optional<AbandonKind> ParseAbandonKind(std::string_view s) { return Lookup<AbandonKind>(kAbandonKinds, s); }
std::optional<InstanceState> ParseInstanceState(std::string_view s) { return Lookup<InstanceState>(kInstanceStates, s); }
std::optional<DiskState> ParseDiskState(std::string_view s) { return Lookup<DiskState>(kDiskStates, s); }
std::optional<SagaState> ParseSagaState(std::string_view s) { return Lookup<SagaState>(kSagaStates, s); }

}  // namespace sagadb
