// The sagas of a database counted by state and by kind, with the oldest one in flight, for `sagadb stats`
// (docs/DESIGN.md section 9).
//
//   SagaCensus census;
//   SAGADB_RETURN_IF_ERROR(TakeSagaCensus(store, &census));
//   uint64_t stuck = census.by_state["stuck"];
//
// It reads the index alone: each entry repeats its saga's state and kind, so no record is read. Time follows
// the sagas the log holds (finished ones included, as many as retention keeps); memory is one entry at a time
// and one counter per state and kind, whatever the history. A database written before the index (schema
// version 1, seen by an inspection open) has its records' headers walked instead (schema/codec.h DecodeHeader).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/store.h"
#include "sagadb/saga.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace sagadb {

struct SagaCensus {
  // Kinds counted apart; any further kind is counted under "(other)".
  static constexpr size_t kMaxKinds = 10'000;

  bool from_index = true;  // false: the records were walked (a database without its index yet)
  uint64_t sagas = 0;
  uint64_t finished = 0;  // succeeded, failed, abandoned: history, which retention removes in time
  // By state name (log/saga_index.h StateName), and by kind and state name. States with no saga are absent.
  std::map<std::string, uint64_t> by_state;
  std::map<std::string, std::map<std::string, uint64_t>> by_kind;

  // The running or unwinding saga created first (stuck and paused ones wait for an operator: by_state counts
  // them); none if no saga is running or unwinding.
  struct Saga {
    Uuid id;
    std::string kind;
    SagaState state = SagaState::kRunning;
    int64_t created_ns = 0;
  };
  std::optional<Saga> oldest_in_flight;

  // Entries (or records) that could not be read, each "<table>/<key>: <why>": left out of the counts.
  std::vector<std::string> unreadable;
};

// Counts the sagas of `store`. A read error ends the count with that status.
Status TakeSagaCensus(const Store& store, SagaCensus* census);

}  // namespace sagadb
