#include "sagas/scheduler.h"

namespace sagadb {
namespace {

bool IsAction(const DagNode& n) { return n.kind == NodeKind::kAction; }

Json ParseConstant(const std::string& text) {
  if (text.empty()) return Json();
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json() : j;
}

bool DepsSucceeded(const SagaRun& run, uint32_t i) REQUIRES(run.mu) {
  for (uint32_t d : run.record.nodes[i].deps) {
    if (run.nodes[d].status != NodeStatus::kSucceeded) return false;
  }
  return true;
}

// A child blocks its parent's undo until it has nothing left to undo.
bool ChildrenClear(const SagaRun& run, uint32_t i) REQUIRES(run.mu) {
  for (uint32_t c : run.children[i]) {
    const NodeRt& n = run.nodes[c];
    const bool clear = n.status == NodeStatus::kFailed || n.status == NodeStatus::kUndone ||
                       (n.status == NodeStatus::kPending && !n.started_logged);
    if (!clear) return false;
  }
  return true;
}

void PlanForward(SagaRun& r, SchedulePlan& plan) REQUIRES(r.mu) {
  if (r.failing) return;
  const uint32_t n = static_cast<uint32_t>(r.nodes.size());
  for (bool progress = true; progress;) {
    progress = false;
    for (uint32_t i = 0; i < n; ++i) {
      if (r.nodes[i].status != NodeStatus::kPending || !DepsSucceeded(r, i)) continue;
      if (!IsAction(r.record.nodes[i])) {
        ResolvePseudoNode(r, i);
        progress = true;
      } else {
        r.nodes[i].status = NodeStatus::kRunning;
        r.tasks++;
        plan.forward.push_back(i);
      }
    }
  }
  bool all = true;
  for (const auto& node : r.nodes) all = all && node.status == NodeStatus::kSucceeded;
  if (all && !r.finishing) {
    r.finishing = true;
    r.tasks++;
    plan.finish = SagaState::kSucceeded;
  }
}

void PlanUnwind(SagaRun& r, SchedulePlan& plan) REQUIRES(r.mu) {
  const uint32_t n = static_cast<uint32_t>(r.nodes.size());
  if (!r.stopping) {
    for (bool progress = true; progress;) {
      progress = false;
      for (uint32_t i = 0; i < n; ++i) {
        NodeRt& node = r.nodes[i];
        if (node.status == NodeStatus::kPending && node.started_logged) {
          // An external node that started before a crash: finish it, then undo it.
          node.status = NodeStatus::kRunning;
          r.tasks++;
          plan.forward.push_back(i);
          continue;
        }
        if (node.status != NodeStatus::kSucceeded || !ChildrenClear(r, i)) continue;
        if (!IsAction(r.record.nodes[i])) {
          node.status = NodeStatus::kUndone;
          progress = true;
        } else {
          node.status = NodeStatus::kUndoing;
          r.tasks++;
          plan.undo.push_back(i);
        }
      }
    }
  }
  if (r.tasks == 0 && !r.finishing && !r.stopping) {
    bool busy = false;
    for (const auto& node : r.nodes) {
      busy = busy || node.status == NodeStatus::kSucceeded || node.status == NodeStatus::kRunning ||
             node.status == NodeStatus::kUndoing;
    }
    if (!busy) {
      r.finishing = true;
      r.tasks++;
      plan.finish = SagaState::kFailed;
    }
  }
}

}  // namespace

void ResolvePseudoNode(SagaRun& run, uint32_t i) {
  const DagNode& node = run.record.nodes[i];
  NodeRt& n = run.nodes[i];
  switch (node.kind) {
    case NodeKind::kConstant:
      n.output = ParseConstant(node.constant);
      break;
    case NodeKind::kSubsagaStart:
      n.output = run.nodes[node.link].output;
      run.scope_params[node.scope] = n.output;
      break;
    case NodeKind::kSubsagaEnd:
      n.output = run.nodes[node.link].output;
      break;
    case NodeKind::kAction:
      return;
  }
  n.status = NodeStatus::kSucceeded;
}

SchedulePlan Schedule(SagaRun& r, bool stopping) {
  SchedulePlan plan;
  if (stopping || r.halted) {
    plan.complete = r.tasks == 0;
    if (plan.complete && !r.halted) r.halted = Status::InvalidRequest("the executor shut down");
    return plan;
  }
  if (r.mode == SagaState::kRunning) {
    PlanForward(r, plan);
  } else if (r.mode == SagaState::kUnwinding) {
    PlanUnwind(r, plan);
  }
  if (r.tasks != 0) return plan;
  plan.complete = true;
  if (r.mode == SagaState::kStuck) {
    SagaResult result;
    result.id = r.record.id;
    result.state = SagaState::kStuck;
    result.error_node = r.record.error_node >= 0 ? r.qualified_names[r.record.error_node] : "";
    result.error = Status::FromCode(r.record.error_code, r.record.error);
    plan.result = std::move(result);
  } else {
    r.halted = Status::Internal("the saga cannot make progress (no node can run or be undone)");
  }
  return plan;
}

}  // namespace sagadb
