#include "tools/inspect_commands.h"

#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "controlplane/datastore.h"
#include "sagadb/dag.h"
#include "log/replay.h"
#include "log/saga_log.h"
#include "tools/records_json.h"
#include "tools/units.h"

namespace sagadb::tool {
namespace {

// "by alice: volume host replaced", "(unrecoverable) by alice: ...": an operator event's row, in words.
std::string OperatorDetail(const nlohmann::json& row) {
  std::string d = row.contains("kind") ? "(" + row["kind"].get<std::string>() + ") " : "";
  d += "by " + row["by"].get<std::string>();
  const std::string reason = row["reason"].get<std::string>();
  if (!reason.empty()) d += ": " + reason;
  return d;
}

struct LoadedSaga {
  SagaRecord record;
  std::vector<LoggedEvent> events;
  Result<SagaHistory> history = Status::Internal("not replayed");
};

Result<LoadedSaga> LoadSaga(Store& store, const Uuid& id) {
  const SagaLog log(&store);
  LoadedSaga s;
  SAGADB_ASSIGN_OR_RETURN(s.record, log.ReadRecord(id));
  SAGADB_ASSIGN_OR_RETURN(s.events, log.ReadEvents(id));
  s.history = ReplaySagaLog(s.record, s.events);
  return s;
}

// Opens and loads: the prologue of every saga command, once it has parsed the id (a malformed one is bad usage;
// whatever fails here is the command failing).
Result<LoadedSaga> OpenSaga(const GlobalOptions& g, const Uuid& id, std::unique_ptr<Store>* store) {
  SAGADB_ASSIGN_OR_RETURN(*store, OpenForInspection(g));
  return LoadSaga(**store, id);
}

// Whether `program` is an executable file in one of PATH's directories.
bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string_view rest(path);
  for (;;) {
    const size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    if (::access((std::filesystem::path(dir) / program).c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) return false;
    rest.remove_prefix(colon + 1);
  }
}

std::string Cell(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

}  // namespace

int InstanceShow(const GlobalOptions& g, const std::string& id_or_name) {
  auto store = OpenForInspection(g);
  if (!store.ok()) return Fail(store.status());
  auto id = ResolveRecord(**store, g, RecordKind::kInstance, id_or_name);
  if (!id.ok()) return Fail(id.status());
  SAGADB_TOOL_RECORDS(ds, **store);
  auto r = ds->GetInstance(*id);
  if (!r.ok()) return Fail(r.status());
  nlohmann::json j = InstanceJson(*r);
  if (g.json) {
    PrintJson(j);
    return kExitOk;
  }
  for (const char* key : {"id", "name", "project", "state", "cpus", "memory_bytes", "boot_disk_id", "generation",
                          "created", "modified", "saga_id"}) {
    std::cout << Cell(key, 14) << (j[key].is_string() ? j[key].get<std::string>() : j[key].dump()) << "\n";
  }
  std::cout << Cell("memory", 14) << FormatSize(r->memory_bytes) << "\n";
  std::cout << "disks (" << r->attached.size() << "):\n";
  for (const auto& a : r->attached) std::cout << "  slot " << a.slot << "  " << a.disk_id.ToString() << "\n";
  return kExitOk;
}

int DiskShow(const GlobalOptions& g, const std::string& id_or_name) {
  auto store = OpenForInspection(g);
  if (!store.ok()) return Fail(store.status());
  auto id = ResolveRecord(**store, g, RecordKind::kDisk, id_or_name);
  if (!id.ok()) return Fail(id.status());
  SAGADB_TOOL_RECORDS(ds, **store);
  auto r = ds->GetDisk(*id);
  if (!r.ok()) return Fail(r.status());
  nlohmann::json j = DiskJson(*r);
  if (g.json) {
    PrintJson(j);
    return kExitOk;
  }
  for (const char* key : {"id", "name", "project", "state", "size_bytes", "instance_id", "slot", "generation",
                          "created", "modified", "saga_id"}) {
    std::cout << Cell(key, 14) << (j[key].is_string() ? j[key].get<std::string>() : j[key].dump()) << "\n";
  }
  std::cout << Cell("size", 14) << FormatSize(r->size_bytes) << "\n";
  return kExitOk;
}

int SagaShow(const GlobalOptions& g, const std::string& id) {
  auto parsed = ParseSagaId(id);
  if (!parsed.ok()) return UsageError(parsed.status().message());
  std::unique_ptr<Store> store;
  auto s = OpenSaga(g, *parsed, &store);
  if (!s.ok()) return Fail(s.status());
  const SagaRecord& r = s->record;
  const SagaHistory* h = s->history.ok() ? &*s->history : nullptr;
  if (g.json) {
    nlohmann::json j = SagaJson(r, h);
    j["params"] = nlohmann::json::parse(r.params, nullptr, false);
    if (r.state == SagaState::kSucceeded) j["output"] = nlohmann::json::parse(r.output, nullptr, false);
    j["log_error"] = h ? nlohmann::json(nullptr) : nlohmann::json(s->history.status().message());
    if (h) j["node_table"] = NodesJson(r, *h);
    PrintJson(j);
    return kExitOk;
  }
  std::cout << "saga      " << r.id.ToString() << "\n"
            << "kind      " << r.kind << "\n"
            << "state     " << ToString(r.state) << "\n"
            << "created   " << FormatTime(r.created_ns) << "\n"
            << "finished  " << (r.finished_ns ? FormatTime(r.finished_ns) : "-") << "\n";
  if (r.error_node >= 0 || !r.error.empty()) {
    const std::string node = r.error_node >= 0 ? QualifiedName(r.nodes, r.scopes, r.error_node) : "-";
    const char* at = r.state == SagaState::kStuck       ? "stuck at  "
                     : r.state == SagaState::kPaused    ? "paused at "
                     : r.state == SagaState::kAbandoned ? "at node   "
                                                        : "failed at ";
    std::cout << at << node << "\n"
              << "reason    " << Status::FromCode(r.error_code, r.error).ToString() << "\n";
  }
  for (const auto& e : s->events) {
    if (e.event.type != EventType::kOperator) continue;
    const nlohmann::json row = EventJson(r, e);
    std::cout << "operator  " << row["time"].get<std::string>() << " " << row["action"].get<std::string>() << " "
              << OperatorDetail(row) << "\n";
  }
  if (!h) {
    std::cout << "log       cannot be replayed: " << s->history.status().message() << "\n";
    return kExitOk;
  }
  std::cout << "\n"
            << Cell("NODE", 26) << Cell("ACTION", 26) << Cell("STATE", 14) << Cell("ATTEMPTS", 9)
            << Cell("DURATION", 11) << "ERROR\n";
  for (const auto& row : NodesJson(r, *h)) {
    if (row["kind"] != "action") continue;
    std::string duration = row["duration_ms"].is_null() ? "-" : fmt::format("{:.1f} ms", row["duration_ms"].get<double>());
    std::string attempts = std::to_string(row["attempts"].get<uint32_t>());
    if (row["undo_attempts"].get<uint32_t>() > 0) attempts += "+" + std::to_string(row["undo_attempts"].get<uint32_t>());
    std::cout << Cell(row["name"].get<std::string>(), 26) << Cell(row["action"].get<std::string>(), 26)
              << Cell(row["state"].get<std::string>(), 14) << Cell(attempts, 9) << Cell(duration, 11)
              << (row["error"].is_null() ? "" : row["error"].get<std::string>()) << "\n";
  }
  return kExitOk;
}

int SagaEvents(const GlobalOptions& g, const std::string& id) {
  auto parsed = ParseSagaId(id);
  if (!parsed.ok()) return UsageError(parsed.status().message());
  std::unique_ptr<Store> store;
  auto s = OpenSaga(g, *parsed, &store);
  if (!s.ok()) return Fail(s.status());
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& e : s->events) rows.push_back(EventJson(s->record, e));
  if (g.json) {
    PrintJson(rows);
    return kExitOk;
  }
  std::cout << Cell("SEQ", 6) << Cell("TIME", 26) << Cell("NODE", 26) << Cell("EVENT", 15) << "DETAIL\n";
  for (const auto& row : rows) {
    const bool op = row["node"].is_null();  // an operator's action: its EVENT is the action
    std::string detail = op                      ? OperatorDetail(row)
                         : row.contains("error") ? row["error"].get<std::string>()
                         : row.contains("output") ? row["output"].dump()
                                                  : "";
    std::cout << Cell(std::to_string(row["seq"].get<uint64_t>()), 6) << Cell(row["time"].get<std::string>(), 26)
              << Cell(op ? "(operator)" : row["node"].get<std::string>(), 26)
              << Cell(row[op ? "action" : "type"].get<std::string>(), 15) << detail << "\n";
  }
  if (!s->history.ok()) std::cout << "(the log cannot be replayed: " << s->history.status().message() << ")\n";
  return kExitOk;
}

int SagaDot(const GlobalOptions& g, const std::string& id, bool svg) {
  auto parsed = ParseSagaId(id);
  if (!parsed.ok()) return UsageError(parsed.status().message());
  std::unique_ptr<Store> store;
  auto s = OpenSaga(g, *parsed, &store);
  if (!s.ok()) return Fail(s.status());
  const SagaRecord& r = s->record;
  auto colour = [](LoggedStatus st) {
    switch (st) {
      case LoggedStatus::kPending: return "white";
      case LoggedStatus::kStarted: return "lightyellow";
      case LoggedStatus::kSucceeded: return "palegreen";
      case LoggedStatus::kFailed: return "tomato";
      case LoggedStatus::kUndoStarted: return "khaki";
      case LoggedStatus::kUndone: return "lightblue";
      case LoggedStatus::kUndoFailed: return "red";
    }
    return "white";
  };
  std::ostringstream dot;
  dot << "digraph \"" << r.kind << " " << r.id.ToString() << "\" {\n"
      << "  label=\"" << r.kind << " " << r.id.ToString() << " (" << ToString(r.state) << ")\";\n"
      << "  node [shape=box, style=filled, fontname=\"Helvetica\"];\n";
  for (uint32_t i = 0; i < r.nodes.size(); ++i) {
    const DagNode& n = r.nodes[i];
    std::string label = QualifiedName(r.nodes, r.scopes, i);
    std::string fill = "gray90";
    std::string shape = "box";
    if (n.kind == NodeKind::kAction) {
      LoggedStatus st = s->history.ok() ? s->history->nodes[i].status : LoggedStatus::kPending;
      label += "\\n" + n.action + "\\n" + std::string(ToString(st));
      fill = colour(st);
    } else {
      shape = n.kind == NodeKind::kConstant ? "note" : "ellipse";
      label += "\\n(" + std::string(ToString(n.kind)) + ")";
    }
    dot << "  n" << i << " [label=\"" << label << "\", fillcolor=\"" << fill << "\", shape=" << shape << "];\n";
  }
  for (uint32_t i = 0; i < r.nodes.size(); ++i) {
    for (uint32_t d : r.nodes[i].deps) dot << "  n" << d << " -> n" << i << ";\n";
  }
  dot << "}\n";
  if (!svg) {
    std::cout << dot.str();
    return kExitOk;
  }
  if (!OnPath("dot")) return Fail(Status::NotFound("--svg needs Graphviz's dot, which is not on PATH (install graphviz)"));
  // If dot exits without reading all of its input, its exit status reports it; a SIGPIPE would kill the tool
  // without a word.
  std::signal(SIGPIPE, SIG_IGN);
  FILE* pipe = popen("dot -Tsvg", "w");
  if (pipe == nullptr) return Fail(Status::IOError("cannot run Graphviz's dot"));
  std::fputs(dot.str().c_str(), pipe);
  const int rc = pclose(pipe);
  if (rc != 0) {
    return Fail(Status::IOError(WIFEXITED(rc) ? fmt::format("Graphviz's dot failed (exit status {})", WEXITSTATUS(rc))
                                              : std::string("Graphviz's dot failed")));
  }
  return kExitOk;
}

}  // namespace sagadb::tool
