#include "tools/records_json.h"

#include "sagadb/status.h"
#include "sagadb/dag.h"
#include "tools/units.h"

namespace sagadb::tool {
namespace {

Json OptionalId(const std::optional<Uuid>& id) { return id ? Json(id->ToString()) : Json(nullptr); }

std::string ErrorText(uint8_t code, const std::string& message) {
  if (message.empty()) return "";
  return Status::FromCode(code, message).ToString();
}

}  // namespace

Json InstanceJson(const Instance& r) {
  Json disks = Json::array();
  for (const auto& a : r.attached) disks.push_back({{"slot", a.slot}, {"disk_id", a.disk_id.ToString()}});
  return {{"id", r.id.ToString()},
          {"name", r.name},
          {"project", r.project},
          {"state", ToString(r.state)},
          {"cpus", r.cpus},
          {"memory_bytes", r.memory_bytes},
          {"boot_disk_id", OptionalId(r.boot_disk_id)},
          {"attached_count", r.attached.size()},
          {"attached", disks},
          {"generation", r.generation},
          {"created", FormatTime(r.created_ns)},
          {"modified", FormatTime(r.modified_ns)},
          {"saga_id", OptionalId(r.saga_id)}};
}

Json DiskJson(const Disk& r) {
  return {{"id", r.id.ToString()},
          {"name", r.name},
          {"project", r.project},
          {"state", ToString(r.state)},
          {"size_bytes", r.size_bytes},
          {"instance_id", OptionalId(r.instance_id)},
          {"slot", r.slot >= 0 ? Json(r.slot) : Json(nullptr)},
          {"generation", r.generation},
          {"created", FormatTime(r.created_ns)},
          {"modified", FormatTime(r.modified_ns)},
          {"saga_id", OptionalId(r.saga_id)}};
}

Json SagaJson(const SagaRecord& r, const SagaHistory* history) {
  Json j = {{"id", r.id.ToString()},
            {"kind", r.kind},
            {"state", ToString(r.state)},
            {"created", FormatTime(r.created_ns)},
            {"finished", r.finished_ns ? Json(FormatTime(r.finished_ns)) : Json(nullptr)},
            {"nodes", r.nodes.size()}};
  Json counts = Json::object();
  if (history != nullptr) {
    for (size_t i = 0; i < r.nodes.size(); ++i) {
      if (r.nodes[i].kind != NodeKind::kAction) continue;
      counts[std::string(ToString(history->nodes[i].status))] = counts.value(std::string(ToString(history->nodes[i].status)), 0) + 1;
    }
  }
  j["node_counts"] = counts;
  const std::string node = r.error_node >= 0 ? QualifiedName(r.nodes, r.scopes, r.error_node) : "";
  j["failed_node"] = r.state == SagaState::kStuck || node.empty() ? Json(nullptr) : Json(node);
  j["stuck_node"] = r.state == SagaState::kStuck && !node.empty() ? Json(node) : Json(nullptr);
  j["error"] = r.error.empty() ? Json(nullptr) : Json(ErrorText(r.error_code, r.error));
  return j;
}

Json NodesJson(const SagaRecord& r, const SagaHistory& h) {
  Json rows = Json::array();
  for (uint32_t i = 0; i < r.nodes.size(); ++i) {
    const DagNode& n = r.nodes[i];
    const NodeHistory& nh = h.nodes[i];
    Json row = {{"index", i},
                {"name", QualifiedName(r.nodes, r.scopes, i)},
                {"kind", ToString(n.kind)},
                {"action", n.action.empty() ? Json(nullptr) : Json(n.action)}};
    if (n.kind == NodeKind::kAction) {
      row["state"] = ToString(nh.status);
      row["attempts"] = nh.attempts;
      row["undo_attempts"] = nh.undo_attempts;
      row["started"] = nh.start_ns ? Json(FormatTime(nh.start_ns)) : Json(nullptr);
      row["duration_ms"] = nh.start_ns && nh.end_ns ? Json((nh.end_ns - nh.start_ns) / 1e6) : Json(nullptr);
      row["error"] = nh.error.empty() ? Json(nullptr) : Json(ErrorText(nh.error_code, nh.error));
    } else {
      row["state"] = nullptr;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Json EventJson(const SagaRecord& r, const LoggedEvent& e) {
  if (e.event.type == EventType::kOperator) {
    Json j = {{"seq", e.seq},
              {"time", FormatTime(e.event.time_ns)},
              {"node", nullptr},
              {"type", ToString(e.event.type)},
              {"action", ToString(e.event.op)},
              {"by", e.event.actor},
              {"reason", e.event.reason}};
    if (e.event.op == OperatorOp::kAbandon) j["kind"] = ToString(static_cast<AbandonKind>(e.event.abandon_kind));
    return j;
  }
  Json j = {{"seq", e.seq},
            {"time", FormatTime(e.event.time_ns)},
            {"node", QualifiedName(r.nodes, r.scopes, e.event.node)},
            {"type", ToString(e.event.type)},
            {"attempts", e.event.attempts}};
  if (!e.event.output.empty()) {
    Json out = Json::parse(e.event.output, nullptr, false);
    j["output"] = out.is_discarded() ? Json(e.event.output) : out;
  }
  if (!e.event.error.empty()) j["error"] = ErrorText(e.event.error_code, e.event.error);
  return j;
}

Json PruneJson(const PruneReport& r) {
  Json ids = Json::array();
  for (const Uuid& id : r.ids) ids.push_back(id.ToString());
  auto time = [](int64_t ns) { return ns != 0 ? Json(FormatTime(ns)) : Json(nullptr); };
  return {{"dry_run", r.dry_run},
          {"sagas", r.sagas},
          {"succeeded", r.succeeded},
          {"failed", r.failed},
          {"abandoned", r.abandoned},
          {"events", r.events},
          {"batches", r.batches},
          {"oldest_finished", time(r.oldest_finished_ns)},
          {"newest_finished", time(r.newest_finished_ns)},
          {"ids", ids},
          {"ids_truncated", r.ids_truncated},
          {"unreadable", r.unreadable},
          {"stale_entries", r.stale_entries}};
}

}  // namespace sagadb::tool
