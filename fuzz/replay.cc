// Fuzz target: log/replay.h ReplaySagaLog and StateFromLog over a fuzzed DAG and log (fuzz/replay_input.h).
//
// Replay runs at every open on whatever the database holds, damaged or not: it must not crash, hang or read out
// of bounds, and what it accepts must be consistent: one history entry per node, events only for action nodes,
// sequence numbers past every event's.
#include <cstdlib>

#include "fuzz/replay_input.h"
#include "log/replay.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sagadb;
  const fuzz::ReplayInput in = fuzz::DecodeReplayInput(data, size);
  auto history = ReplaySagaLog(in.record, in.events);
  if (!history.ok()) {
    if (history.status().code() != Code::kCorruption) std::abort();
    return 0;
  }
  if (history->nodes.size() != in.record.nodes.size() || history->events != in.events.size()) std::abort();
  for (size_t i = 0; i < in.record.nodes.size(); ++i) {
    if (in.record.nodes[i].kind != NodeKind::kAction && history->nodes[i].status != LoggedStatus::kPending) {
      std::abort();
    }
  }
  for (const auto& e : in.events) {
    if (e.seq >= history->next_seq) std::abort();
  }
  auto state = StateFromLog(in.record, *history);
  if (!state.ok() && state.status().code() != Code::kCorruption) std::abort();
  return 0;
}
