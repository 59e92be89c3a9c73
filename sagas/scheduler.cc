#include "sagas/scheduler.h"

namespace sagadb {
namespace {

bool IsAction(const DagNode& n) { return n.kind == NodeKind::kAction; }

std::shared_ptr<const Json> ParseConstant(const std::string& text) {
  if (text.empty()) return NullJson();
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? NullJson() : std::make_shared<const Json>(std::move(j));
}

bool DepsRan(const SagaRun& run, uint32_t i) REQUIRES(run.mu) {
  for (uint32_t d : run.record.nodes[i].deps) {
    if (!Ran(run.nodes[d].status)) return false;
  }
  return true;
}

bool ChildrenClear(const SagaRun& run, uint32_t i) REQUIRES(run.mu) {
  for (uint32_t c : run.children[i]) {
    if (UndoBlocks(run.nodes[c])) return false;
  }
  return true;
}

}  // namespace

bool Ran(NodeStatus status) { return status == NodeStatus::kSucceeded || status == NodeStatus::kStaged; }

bool UndoBlocks(const NodeRt& child) {
  switch (child.status) {
    case NodeStatus::kFailed:
    case NodeStatus::kUndone:
    case NodeStatus::kUndoStaged:
      return false;
    case NodeStatus::kPending:
      return child.started_logged;
    default:
      return true;
  }
}

void ResolvePseudoNodes(SagaRun& run) {
  const uint32_t n = static_cast<uint32_t>(run.nodes.size());
  // Indexes are a topological order, so one pass resolves chains of pseudo nodes.
  for (uint32_t i = 0; i < n; ++i) {
    const DagNode& node = run.record.nodes[i];
    NodeRt& rt = run.nodes[i];
    if (IsAction(node) || rt.status != NodeStatus::kPending || !DepsRan(run, i)) continue;
    switch (node.kind) {
      case NodeKind::kConstant:
        rt.output = ParseConstant(node.constant);
        break;
      case NodeKind::kSubsagaStart:
        rt.output = run.nodes[node.link].output;
        run.scope_params[node.scope] = rt.output;
        break;
      case NodeKind::kSubsagaEnd:
        rt.output = run.nodes[node.link].output;
        break;
      case NodeKind::kAction:
        break;
    }
    rt.status = NodeStatus::kSucceeded;
    for (uint32_t d : node.deps) {
      if (run.nodes[d].status == NodeStatus::kStaged) rt.status = NodeStatus::kStaged;
    }
  }
}

void SettlePseudoNodes(SagaRun& run) {
  for (uint32_t i = 0; i < run.nodes.size(); ++i) {
    NodeRt& rt = run.nodes[i];
    if (IsAction(run.record.nodes[i]) || rt.status != NodeStatus::kStaged) continue;
    bool durable = true, ran = true;
    for (uint32_t d : run.record.nodes[i].deps) {
      durable = durable && run.nodes[d].status == NodeStatus::kSucceeded;
      ran = ran && Ran(run.nodes[d].status);
    }
    if (durable) rt.status = NodeStatus::kSucceeded;
    if (!ran) rt.status = NodeStatus::kPending;
  }
}

std::vector<uint32_t> ReadyToRun(const SagaRun& run) {
  std::vector<uint32_t> ready;
  for (uint32_t i = 0; i < run.nodes.size(); ++i) {
    if (run.nodes[i].status == NodeStatus::kPending && IsAction(run.record.nodes[i]) && DepsRan(run, i)) {
      ready.push_back(i);
    }
  }
  return ready;
}

bool AllRan(const SagaRun& run) {
  for (const auto& node : run.nodes) {
    if (!Ran(node.status)) return false;
  }
  return true;
}

std::vector<uint32_t> ReadyToUndo(const SagaRun& run) {
  std::vector<uint32_t> ready;
  for (uint32_t i = static_cast<uint32_t>(run.nodes.size()); i-- > 0;) {
    if (run.nodes[i].status == NodeStatus::kSucceeded && ChildrenClear(run, i)) ready.push_back(i);
  }
  return ready;
}

std::vector<uint32_t> StartedButUnfinished(const SagaRun& run) {
  std::vector<uint32_t> nodes;
  for (uint32_t i = 0; i < run.nodes.size(); ++i) {
    if (run.nodes[i].status == NodeStatus::kPending && run.nodes[i].started_logged) nodes.push_back(i);
  }
  return nodes;
}

bool Unwound(const SagaRun& run) {
  for (const auto& node : run.nodes) {
    switch (node.status) {
      case NodeStatus::kFailed:
      case NodeStatus::kUndone:
        break;
      case NodeStatus::kPending:
        if (node.started_logged) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace sagadb
