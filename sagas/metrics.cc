#include "sagas/metrics.h"

#include "base/clock.h"
#include "log/saga_index.h"

namespace sagadb {
namespace {

uint64_t Micros(int64_t ns) { return ns > 0 ? static_cast<uint64_t>(ns) / 1000 : 0; }

}  // namespace

SagaMetrics::SagaMetrics() {
  for (auto& h : saga_us_) h = NewLatency();
}

void SagaMetrics::IndexActions(const ActionRegistry& registry) {
  for (const auto& [name, def] : registry.all()) {
    if (action_index_.count(&def) > 0) continue;
    action_index_.emplace(&def, action_us_.size());
    action_names_.push_back(name);
    action_us_.push_back(NewLatency());
  }
}

SagaMetrics::Kind* SagaMetrics::ForKind(std::string_view kind) {
  MutexLock lock(&mu_);
  auto it = kinds_.find(kind);
  if (it == kinds_.end()) {
    const std::string_view key = kinds_.size() < kMaxKinds ? kind : kOtherKinds;
    it = kinds_.find(key);
    if (it == kinds_.end()) it = kinds_.emplace(std::string(key), std::make_unique<Kind>(std::string(key))).first;
  }
  return it->second.get();
}

void SagaMetrics::Ended(Kind* kind, SagaState state, int64_t duration_ns) {
  const size_t s = std::min(static_cast<size_t>(state), kStates - 1);
  kind->ended[s].fetch_add(1, kRelaxed);
  saga_us_[s]->Add(Micros(duration_ns));
}

void SagaMetrics::Completed(Kind* kind, const SagaResult* result, int64_t created_ns) {
  if (result == nullptr) {
    Halted(kind);
  } else {
    Ended(kind, result->state, NowNs() - created_ns);
  }
}

void SagaMetrics::NodeSucceeded(const ActionDef* action, int64_t duration_ns) {
  const uint64_t us = Micros(duration_ns);
  node_us_->Add(us);
  if (auto it = action_index_.find(action); it != action_index_.end()) action_us_[it->second]->Add(us);
}

void SagaMetrics::Fill(Metrics* m) const {
  auto add = [](SagaCounts& to, const SagaCounts& from) {
    to.started += from.started;
    to.resumed += from.resumed;
    for (const auto& [outcome, n] : from.ended) to.ended[outcome] += n;
  };
  {
    MutexLock lock(&mu_);
    for (const auto& [name, k] : kinds_) {
      SagaCounts c;
      c.started = k->started.load(kRelaxed);
      c.resumed = k->resumed.load(kRelaxed);
      for (size_t s = 0; s < kStates; ++s) {
        const uint64_t n = k->ended[s].load(kRelaxed);
        if (n > 0) c.ended[StateName(static_cast<SagaState>(s))] = n;
      }
      if (const uint64_t n = k->halted.load(kRelaxed); n > 0) c.ended["halted"] = n;
      add(m->sagas, c);
      add(m->by_kind[name], c);
    }
  }
  for (size_t s = 0; s < kStates; ++s) {
    Histogram h = saga_us_[s]->Snapshot(1e6);
    if (h.count > 0) m->saga_seconds[StateName(static_cast<SagaState>(s))] = std::move(h);
  }
  m->node_seconds = node_us_->Snapshot(1e6);
  for (size_t i = 0; i < action_us_.size(); ++i) {
    Histogram h = action_us_[i]->Snapshot(1e6);
    if (h.count > 0) m->node_seconds_by_action[action_names_[i]] = std::move(h);
  }
  m->round_events = round_events_.Snapshot();
}

}  // namespace sagadb
