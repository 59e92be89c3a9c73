#include "tools/list_commands.h"

#include <fmt/format.h>

#include <cstdio>
#include <optional>

#include "base/clock.h"
#include "controlplane/datastore.h"
#include "log/replay.h"
#include "log/saga_log.h"
#include "log/saga_query.h"
#include "tools/listing.h"
#include "tools/records_json.h"
#include "tools/units.h"

namespace sagadb::tool {
namespace {

std::string Cell(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

ListFormat FormatOf(const GlobalOptions& g) {
  return g.jsonl ? ListFormat::kJsonl : g.json ? ListFormat::kJson : ListFormat::kTable;
}

// Prints what could not be read; the exit code says whether anything was.
int Finish(const std::vector<std::string>& errors) {
  for (const auto& e : errors) std::fprintf(stderr, "sagadb: %s\n", e.c_str());
  return errors.empty() ? kExitOk : kExitFailed;
}

std::vector<std::string> Messages(const std::vector<Status>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.message());
  return out;
}

// The states named, each parsed by `parse`; a usage error names the first unknown one and the known ones.
template <typename S, typename Parse>
Result<std::vector<S>> ParseStates(const std::vector<std::string>& names, Parse parse, std::string_view known) {
  std::vector<S> out;
  for (const auto& n : names) {
    auto s = parse(n);
    if (!s) return Status::InvalidRequest(fmt::format("unknown state \"{}\" ({})", n, known));
    out.push_back(*s);
  }
  return out;
}

Result<std::optional<Uuid>> ParseAfter(const std::string& text) {
  if (text.empty()) return std::optional<Uuid>();
  auto id = Uuid::Parse(text);
  if (!id) return Status::InvalidRequest(fmt::format("--after \"{}\" is not a cursor (the id a page ended with)", text));
  return std::optional<Uuid>(*id);
}

// A listing of one control-plane table, from `after`, at most `limit` records in `states`.
template <typename T, typename S>
int ListRecords(const GlobalOptions& g, const ListArgs& a, const std::vector<S>& states, const std::optional<Uuid>& after,
                const char* items, const std::string& header, Status (Datastore::*walk)(const std::optional<Uuid>&,
                    const std::function<bool(const T&)>&, std::vector<Status>*) const,
                Json (*to_json)(const T&), std::string (*line)(const T&)) {
  auto store = OpenForInspection(g);
  if (!store.ok()) return Fail(store.status());
  SAGADB_TOOL_RECORDS(ds, **store);
  PageWriter page(FormatOf(g), items, header);
  std::vector<Status> errors;
  std::optional<std::string> next;
  size_t rows = 0;
  Status st = ((*ds).*walk)(after, [&](const T& r) {
    if (!states.empty() && std::find(states.begin(), states.end(), r.state) == states.end()) return true;
    page.Row(to_json(r), line(r));
    if (a.limit != 0 && ++rows == a.limit) {
      next = r.id.ToString();
      return false;
    }
    return true;
  }, &errors);
  if (!st.ok()) errors.push_back(st);
  page.End(next);
  return Finish(Messages(errors));
}

std::string InstanceLine(const Instance& r) {
  return Cell(r.id.ToString(), 38) + Cell(r.project, 12) + Cell(r.name, 24) + Cell(std::string(ToString(r.state)), 11) +
         std::to_string(r.attached.size());
}

std::string DiskLine(const Disk& r) {
  std::string where = r.instance_id ? fmt::format("{} / {}", r.instance_id->ToString(), r.slot) : "";
  return Cell(r.id.ToString(), 38) + Cell(r.project, 12) + Cell(r.name, 24) + Cell(std::string(ToString(r.state)), 12) +
         Cell(FormatSize(r.size_bytes), 11) + where;
}

Json SagaRowJson(const SagaLog& log, const SagaRecord& r) {
  auto events = log.ReadEvents(r.id);
  auto history = events.ok() ? ReplaySagaLog(r, *events) : Result<SagaHistory>(events.status());
  return SagaJson(r, history.ok() ? &*history : nullptr);
}

int StalledList(const GlobalOptions& g, const ListArgs& a, std::chrono::nanoseconds quiet) {
  auto store = OpenForInspection(g);
  if (!store.ok()) return Fail(store.status());
  const int64_t now = NowNs();
  auto stalled = ListStalledSagas(**store, quiet, now);
  if (!stalled.ok()) return Fail(stalled.status());
  const SagaLog log(store->get());
  PageWriter page(FormatOf(g), "sagas",
                  Cell("ID", 38) + Cell("KIND", 18) + Cell("STATE", 11) + Cell("QUIET FOR", 11) +
                      Cell("LAST EVENT", 26) + "NODE / EVENT");
  std::vector<std::string> errors = std::move(stalled->unreadable);
  for (const StalledSaga& s : stalled->sagas) {
    if (!a.kind.empty() && s.saga.kind != a.kind) continue;
    Json row;
    if (g.json || g.jsonl) {
      auto r = log.ReadRecord(s.saga.id);
      if (!r.ok()) continue;  // finished (and perhaps pruned) since it was listed
      row = SagaRowJson(log, *r);
      row["last_event"] = s.last_event.empty()
                              ? Json(nullptr)
                              : Json{{"time", FormatTime(s.last_event_ns)}, {"node", s.last_node}, {"type", s.last_event}};
      row["quiet_seconds"] = static_cast<double>(now - s.last_event_ns) / 1e9;
    }
    const std::string what = s.last_event.empty() ? "(no event since it started)" : s.last_node + " " + s.last_event;
    page.Row(row, Cell(s.saga.id.ToString(), 38) + Cell(s.saga.kind, 18) + Cell(std::string(ToString(s.saga.state)), 11) +
                      Cell(FormatSpan(now - s.last_event_ns), 11) + Cell(FormatTime(s.last_event_ns), 26) + what);
  }
  page.End(std::nullopt);
  return Finish(errors);
}

}  // namespace

int InstanceList(const GlobalOptions& g, const ListArgs& a) {
  auto states = ParseStates<InstanceState>(a.states, ParseInstanceState,
                                           "creating, stopped, starting, running, stopping, failed, destroyed");
  if (!states.ok()) return UsageError(states.status().message());
  auto after = ParseAfter(a.after);
  if (!after.ok()) return UsageError(after.status().message());
  return ListRecords<Instance>(
      g, a, *states, *after, "instances",
      Cell("ID", 38) + Cell("PROJECT", 12) + Cell("NAME", 24) + Cell("STATE", 11) + "DISKS", &Datastore::ForEachInstance,
      &InstanceJson, &InstanceLine);
}

int DiskList(const GlobalOptions& g, const ListArgs& a) {
  auto states = ParseStates<DiskState>(a.states, ParseDiskState,
                                       "creating, detached, attached, maintenance, faulted, destroyed");
  if (!states.ok()) return UsageError(states.status().message());
  auto after = ParseAfter(a.after);
  if (!after.ok()) return UsageError(after.status().message());
  return ListRecords<Disk>(g, a, *states, *after, "disks",
                           Cell("ID", 38) + Cell("PROJECT", 12) + Cell("NAME", 24) + Cell("STATE", 12) +
                               Cell("SIZE", 11) + "INSTANCE / SLOT",
                           &Datastore::ForEachDisk, &DiskJson, &DiskLine);
}

int SagaList(const GlobalOptions& g, const ListArgs& a) {
  SagaQuery q;
  auto states = ParseStates<SagaState>(a.states, ParseSagaState,
                                       "running, unwinding, succeeded, failed, stuck, abandoned, paused");
  if (!states.ok()) return UsageError(states.status().message());
  q.states = std::move(*states);
  q.kind = a.kind;
  q.limit = a.limit;
  const int64_t now = NowNs();
  for (auto [text, out, flag] : {std::tuple{&a.since, &q.created_since_ns, "--since"},
                                 std::tuple{&a.until, &q.created_until_ns, "--until"}}) {
    if (text->empty()) continue;
    auto t = ParseMoment(*text, now);
    if (!t) {
      return UsageError(fmt::format("{} \"{}\" is not a time (RFC 3339, e.g. 2026-11-24T16:05:01Z, or a duration "
                                    "ago, e.g. 2h)",
                                    flag, *text));
    }
    *out = *t;
  }
  auto after = ParseAfter(a.after);
  if (!after.ok()) return UsageError(after.status().message());
  q.after = *after;
  if (!a.stalled.empty()) {
    auto quiet = ParseDuration(a.stalled);
    if (!quiet) return UsageError(fmt::format("--stalled \"{}\" is not a duration (e.g. 30m, 2h)", a.stalled));
    if (!a.states.empty() || !a.since.empty() || !a.until.empty() || !a.after.empty()) {
      return UsageError("--stalled lists running and unwinding sagas whole: it takes only --kind");
    }
    return StalledList(g, a, *quiet);
  }

  auto store = OpenForInspection(g);
  if (!store.ok()) return Fail(store.status());
  const SagaLog log(store->get());
  PageWriter page(FormatOf(g), "sagas",
                  Cell("ID", 38) + Cell("KIND", 18) + Cell("STATE", 11) + Cell("CREATED", 26) + "NODE / ERROR");
  SagaListing listing;
  Status st = ListSagaRecords(**store, q, [&](const SagaRecord& r) {
    std::string detail;
    if (r.error_node >= 0) detail = QualifiedName(r.nodes, r.scopes, r.error_node) + ": " + r.error;
    page.Row(g.json || g.jsonl ? SagaRowJson(log, r) : Json(),
             Cell(r.id.ToString(), 38) + Cell(r.kind, 18) + Cell(std::string(ToString(r.state)), 11) +
                 Cell(FormatTime(r.created_ns), 26) + detail);
  }, &listing);
  if (!st.ok()) listing.unreadable.push_back(st.message());
  page.End(listing.next ? std::optional<std::string>(listing.next->ToString()) : std::nullopt);
  return Finish(listing.unreadable);
}

}  // namespace sagadb::tool
