// The input of the replay fuzz target: a saga's DAG and its log in a compact byte form that mutations keep
// meaningful (no checksums, no FlatBuffers verification to get past), and that real sagas encode to, for seeds.
//
//   std::string bytes = EncodeReplayInput(record, events);   // fuzz/make_seeds.cc
//   ReplayInput in = DecodeReplayInput(data, size);           // any bytes decode to something
//
// Layout, each field a byte unless said otherwise; fields past the end of the input read as 0:
//   state, node count N, then per node: kind, dependency count D, D dependencies, link + 1 (0: none);
//   then events to the end: node, type, sequence step (the sequence number grows by it; 0 repeats the last
//   one), error code, attempts.
// Node indexes, kinds, states and types are taken as they come, in range or not: replay must cope with any.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "log/replay.h"
#include "schema/records.h"

namespace sagadb::fuzz {

struct ReplayInput {
  SagaRecord record;
  std::vector<LoggedEvent> events;
};

ReplayInput DecodeReplayInput(const uint8_t* data, size_t size);
// Node names, actions, outputs and errors are not kept: replay does not look at them.
std::string EncodeReplayInput(const SagaRecord& record, const std::vector<LoggedEvent>& events);

}  // namespace sagadb::fuzz
