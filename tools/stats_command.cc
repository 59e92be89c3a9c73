#include "tools/stats_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "base/clock.h"
#include "log/saga_census.h"
#include "log/saga_index.h"
#include "log/saga_query.h"
#include "tools/units.h"

namespace sagadb::tool {
namespace {

using Json = nlohmann::json;

// The census's states in the order of SagaState (a state a newer sagadb wrote, by its number, after them).
std::vector<std::string> StatesInOrder(const SagaCensus& c) {
  std::vector<std::string> out;
  for (unsigned s = 0; s < 256; ++s) {
    const std::string name = StateName(static_cast<SagaState>(s));
    if (c.by_state.count(name) > 0) out.push_back(name);
  }
  return out;
}

uint64_t Total(const std::map<std::string, uint64_t>& by_state) {
  uint64_t n = 0;
  for (const auto& [_, count] : by_state) n += count;
  return n;
}

Json StalledJson(const StalledSaga& s, int64_t now) {
  return Json{{"id", s.saga.id.ToString()},
              {"kind", s.saga.kind},
              {"state", StateName(s.saga.state)},
              {"created", FormatTime(s.saga.created_ns)},
              {"last_event", s.last_event.empty() ? Json(nullptr)
                                                  : Json{{"time", FormatTime(s.last_event_ns)},
                                                         {"node", s.last_node},
                                                         {"type", s.last_event}}},
              {"quiet_seconds", static_cast<double>(now - s.last_event_ns) / 1e9}};
}

void PrintJsonStats(const SagaCensus& c, const StalledReport& stalled, std::chrono::nanoseconds quiet, int64_t now) {
  Json by_kind = Json::object();
  for (const auto& [kind, states] : c.by_kind) {
    Json k(states);
    k["total"] = Total(states);
    by_kind[kind] = std::move(k);
  }
  Json oldest = nullptr;
  if (c.oldest_in_flight) {
    const SagaCensus::Saga& o = *c.oldest_in_flight;
    oldest = Json{{"id", o.id.ToString()},
                  {"kind", o.kind},
                  {"state", StateName(o.state)},
                  {"created", FormatTime(o.created_ns)},
                  {"age_seconds", static_cast<double>(now - o.created_ns) / 1e9}};
  }
  Json rows = Json::array();
  for (const StalledSaga& s : stalled.sagas) rows.push_back(StalledJson(s, now));
  PrintJson({{"sagas", c.sagas},
             {"finished", c.finished},
             {"unfinished", c.sagas - c.finished},
             {"by_state", c.by_state},
             {"by_kind", by_kind},
             {"oldest_in_flight", oldest},
             {"stalled_after_seconds", std::chrono::duration<double>(quiet).count()},
             {"stalled", rows},
             {"source", c.from_index ? "index" : "records"}});
}

std::string Cell(const std::string& s, size_t width, bool right = false) {
  if (s.size() >= width) return s + " ";
  const std::string pad(width - s.size(), ' ');
  return right ? pad + s + " " : s + pad + " ";
}

// A table line, without the blanks its last cell leaves.
void PrintLine(std::string line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
  std::cout << line << "\n";
}

void PrintTable(const SagaCensus& c, const StalledReport& stalled, const std::string& quiet_text, int64_t now) {
  std::cout << fmt::format("{} sagas: {} finished, {} not finished{}\n", c.sagas, c.finished, c.sagas - c.finished,
                           c.from_index ? "" : " (read from the records: this database has no index yet)");
  if (c.sagas > 0) {
    const std::vector<std::string> states = StatesInOrder(c);
    std::string header = Cell("KIND", 18) + Cell("SAGAS", 7, true);
    for (const auto& s : states) {
      std::string upper = s;
      for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      header += Cell(upper, std::max<size_t>(upper.size(), 7), true);
    }
    std::cout << "\n";
    PrintLine(header);
    auto row = [&](const std::string& kind, const std::map<std::string, uint64_t>& by_state) {
      std::string line = Cell(kind, 18) + Cell(std::to_string(Total(by_state)), 7, true);
      for (const auto& s : states) {
        auto it = by_state.find(s);
        line += Cell(std::to_string(it == by_state.end() ? 0 : it->second), std::max<size_t>(s.size(), 7), true);
      }
      PrintLine(line);
    };
    for (const auto& [kind, by_state] : c.by_kind) row(kind, by_state);
    if (c.by_kind.size() > 1) row("(all)", c.by_state);
    std::cout << "\n";
  }
  if (c.oldest_in_flight) {
    const SagaCensus::Saga& o = *c.oldest_in_flight;
    std::cout << fmt::format("oldest in flight: {} {} {}, created {} ({} ago)\n", o.id.ToString(), o.kind,
                             StateName(o.state), FormatTime(o.created_ns), FormatSpan(now - o.created_ns));
  } else {
    std::cout << "oldest in flight: none (no saga is running or unwinding)\n";
  }
  if (stalled.sagas.empty()) {
    std::cout << fmt::format("stalled (no event for {}): none\n", quiet_text);
    return;
  }
  std::cout << fmt::format("stalled (no event for {}): {}\n", quiet_text, stalled.sagas.size());
  for (const StalledSaga& s : stalled.sagas) {
    const std::string what = s.last_event.empty() ? "(no event since it started)" : s.last_node + " " + s.last_event;
    PrintLine("  " + Cell(s.saga.id.ToString(), 37) + Cell(s.saga.kind, 18) + Cell(StateName(s.saga.state), 10) +
              "quiet " + Cell(FormatSpan(now - s.last_event_ns), 8) + "last: " + what);
  }
}

}  // namespace

int Stats(const GlobalOptions& g, const std::string& stalled_text) {
  auto quiet = ParseDuration(stalled_text);
  if (!quiet) return UsageError(fmt::format("--stalled \"{}\" is not a duration (e.g. 30m, 2h)", stalled_text));
  auto store = OpenForInspection(g);
  if (!store.ok()) return Fail(store.status());
  const int64_t now = NowNs();
  SagaCensus census;
  if (Status st = TakeSagaCensus(**store, &census); !st.ok()) return Fail(st);
  auto stalled = ListStalledSagas(**store, *quiet, now);
  if (!stalled.ok()) return Fail(stalled.status());
  if (g.json || g.jsonl) {
    PrintJsonStats(census, *stalled, *quiet, now);
  } else {
    PrintTable(census, *stalled, stalled_text, now);
  }
  std::vector<std::string> unreadable = census.unreadable;
  unreadable.insert(unreadable.end(), stalled->unreadable.begin(), stalled->unreadable.end());
  for (const auto& u : unreadable) std::fprintf(stderr, "sagadb: %s\n", u.c_str());
  return unreadable.empty() ? kExitOk : kExitFailed;
}

}  // namespace sagadb::tool
