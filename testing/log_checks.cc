#include "tests/crash_check.h"

#include <fmt/format.h>

#include <filesystem>

#include "controlplane/datastore.h"
#include "schema/codec.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

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

// The owner of a file the sample saga's external actions made: "<saga id>-<node>".
std::optional<Uuid> FileOwner(const std::string& name) {
  constexpr size_t kIdLength = 36;
  if (name.size() <= kIdLength || name[kIdLength] != '-') return std::nullopt;
  return Uuid::Parse(std::string_view(name).substr(0, kIdLength));
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

std::vector<std::string> CheckEndState(Database& db, const EndStateOptions& options,
                                       std::span<const SeenOutcome> seen) {
  Store& store = db.impl().store();
  std::vector<std::string> out = CheckLogs(store);
  std::map<Uuid, SagaState> states = SagaStates(store);
  for (const auto& [id, state] : states) {
    if (Ended(state)) continue;
    auto rec = SagaLog(&store).ReadRecord(id);
    const std::string error = rec.ok() ? rec->error : "";
    out.push_back(fmt::format("saga {} is {}, not succeeded or failed ({})", id.ToString(), ToString(state), error));
  }

  // Disks: live ones belong to succeeded sagas, disks_per_saga each.
  std::map<Uuid, int> disks;
  auto datastore = Datastore::Open(&store);
  if (!datastore.ok()) {
    out.push_back("the database has no control-plane tables: " + datastore.status().ToString());
    return out;
  }
  Listing<Disk> listing = (*datastore)->ListDisks();
  for (const Status& e : listing.errors) out.push_back("a disk record does not read: " + e.ToString());
  for (const Disk& d : listing.records) {
    if (d.state == DiskState::kDestroyed) continue;
    if (!d.saga_id || !states.contains(*d.saga_id)) {
      out.push_back(fmt::format("live disk {} belongs to no saga", d.name));
    } else if (states[*d.saga_id] != SagaState::kSucceeded) {
      out.push_back(fmt::format("live disk {} belongs to saga {}, which is {}", d.name, d.saga_id->ToString(),
                                ToString(states[*d.saga_id])));
    } else {
      disks[*d.saga_id]++;
    }
  }
  // Files: the same rule, files_per_saga each.
  std::map<Uuid, int> files;
  if (!options.files_dir.empty()) {
    for (const auto& entry : fs::directory_iterator(options.files_dir)) {
      const std::string name = entry.path().filename().string();
      auto owner = FileOwner(name);
      if (!owner || !states.contains(*owner)) {
        out.push_back(fmt::format("file {} belongs to no saga", name));
      } else if (states[*owner] != SagaState::kSucceeded) {
        out.push_back(fmt::format("file {} belongs to a saga that is {}", name, ToString(states[*owner])));
      } else {
        files[*owner]++;
      }
    }
  }
  for (const auto& [id, state] : states) {
    if (state != SagaState::kSucceeded) continue;
    if (disks[id] != options.disks_per_saga) {
      out.push_back(fmt::format("succeeded saga {} has {} live disks, not {}", id.ToString(), disks[id],
                                options.disks_per_saga));
    }
    if (!options.files_dir.empty() && files[id] != options.files_per_saga) {
      out.push_back(fmt::format("succeeded saga {} has {} files, not {}", id.ToString(), files[id],
                                options.files_per_saga));
    }
  }

  for (const SeenOutcome& s : seen) {
    if (s.id.IsNil()) {
      out.push_back("the outcomes file has a line that does not parse");
    } else if (!states.contains(s.id)) {
      out.push_back(fmt::format("saga {} was seen {} but is gone", s.id.ToString(), ToString(s.state)));
    } else if (states[s.id] != s.state) {
      out.push_back(fmt::format("saga {} was seen {} but is now {}", s.id.ToString(), ToString(s.state),
                                ToString(states[s.id])));
    }
  }
  return out;
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
