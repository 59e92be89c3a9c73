#include "testing/log_checks.h"

#include <fmt/format.h>

#include "schema/codec.h"

namespace sagadb::testing {
namespace {

bool Ended(SagaState s) { return s == SagaState::kSucceeded || s == SagaState::kFailed; }

// Appends the violations of one saga's log: legal replay, no gap in the sequence, record agrees.
void CheckLog(Store& store, const SagaRecord& rec, std::vector<std::string>* out) {
  const std::string who = "saga " + rec.id.ToString();
  auto events = SagaLog(&store).ReadEvents(rec.id);
  if (!events.ok()) {
    out->push_back(who + ": " + events.status().ToString());
    return;
  }
  for (size_t k = 0; k < events->size(); ++k) {
    if ((*events)[k].seq != k + 1) {
      out->push_back(fmt::format("{}: event #{} is number {} of the log (an earlier event was lost)", who,
                                 (*events)[k].seq, k + 1));
      break;
    }
  }
  auto history = ReplaySagaLog(rec, *events);
  if (!history.ok()) {
    out->push_back(who + ": " + history.status().ToString());
    return;
  }
  auto state = StateFromLog(rec, *history);
  if (!state.ok()) {
    out->push_back(who + ": " + state.status().ToString());
  } else if (*state != rec.state) {
    out->push_back(fmt::format("{}: the record says {} but the log implies {}", who, ToString(rec.state), ToString(*state)));
  }
}

}  // namespace

std::vector<std::string> CheckLogs(Store& store) {
  std::vector<std::string> out;
  auto it = store.NewCursor(kSagasTable);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SagaRecord rec;
    std::string why;
    if (!Decode(it->value(), &rec, &why)) {
      out.push_back("a saga record does not decode: " + why);
      continue;
    }
    CheckLog(store, rec, &out);
  }
  if (!it->status().ok()) out.push_back("scanning sagas: " + it->status().ToString());
  return out;
}

std::map<Uuid, SagaState> SagaStates(Store& store) {
  std::map<Uuid, SagaState> states;
  auto it = store.NewCursor(kSagasTable);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SagaRecord rec;
    std::string why;
    if (Decode(it->value(), &rec, &why)) states[rec.id] = rec.state;
  }
  return states;
}

LogSnapshot TakeLogSnapshot(Store& store) {
  LogSnapshot snap;
  snap.states = SagaStates(store);
  for (const auto& [id, state] : snap.states) {
    auto events = SagaLog(&store).ReadEvents(id);
    if (events.ok()) snap.events[id] = std::move(*events);
  }
  return snap;
}

std::vector<std::string> CheckLogKept(Store& store, const LogSnapshot& before) {
  std::vector<std::string> out;
  const std::map<Uuid, SagaState> now = SagaStates(store);
  for (const auto& [id, state] : before.states) {
    auto it = now.find(id);
    if (it == now.end()) {
      out.push_back(fmt::format("saga {} ({} before the power loss) is gone", id.ToString(), ToString(state)));
    } else if (Ended(state) && it->second != state) {
      out.push_back(fmt::format("saga {} had ended {} before the power loss but is now {}", id.ToString(),
                                ToString(state), ToString(it->second)));
    }
  }
  for (const auto& [id, events] : before.events) {
    auto after = SagaLog(&store).ReadEvents(id);
    if (!after.ok()) {
      out.push_back(fmt::format("saga {}: {}", id.ToString(), after.status().ToString()));
      continue;
    }
    std::map<uint64_t, const SagaEvent*> by_seq;
    for (const LoggedEvent& e : *after) by_seq[e.seq] = &e.event;
    for (const LoggedEvent& e : events) {
      auto found = by_seq.find(e.seq);
      if (found == by_seq.end()) {
        out.push_back(fmt::format("saga {}: event #{} ({} of node {}) was lost", id.ToString(), e.seq,
                                  ToString(e.event.type), e.event.node));
      } else if (!(*found->second == e.event)) {
        out.push_back(fmt::format("saga {}: event #{} changed", id.ToString(), e.seq));
      }
    }
  }
  return out;
}

}  // namespace sagadb::testing
