#include "sagadb/dag.h"

#include <fmt/format.h>

#include <algorithm>

namespace sagadb {
namespace {

// The name the start node of every subsaga scope carries; '@' cannot appear in a user's node name.
constexpr std::string_view kSubsagaStartName = "@start";

Status ValidateNodeName(std::string_view name) {
  if (name.empty() || name.size() > 63) return Status::InvalidRequest("node names must be 1-63 characters long");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      return Status::InvalidRequest(
          fmt::format("node name \"{}\" may contain only lowercase letters, digits, '-' and '_'", name));
    }
  }
  return Status::OK();
}

}  // namespace

std::string QualifiedName(const std::vector<DagNode>& nodes, const std::vector<DagScope>& scopes, uint32_t node) {
  if (node >= nodes.size()) return fmt::format("#{}", node);
  const DagNode& n = nodes[node];
  if (n.scope == 0 || n.scope >= scopes.size()) return n.name;
  return scopes[n.scope].name + "." + n.name;
}

std::string SagaDag::QualifiedName(uint32_t node) const { return sagadb::QualifiedName(nodes, scopes, node); }

NodeSpec NodeSpec::Action(std::string name, std::string action) {
  NodeSpec s;
  s.name = std::move(name);
  s.kind = NodeKind::kAction;
  s.action = std::move(action);
  return s;
}

NodeSpec NodeSpec::Constant(std::string name, Json value) {
  NodeSpec s;
  s.name = std::move(name);
  s.kind = NodeKind::kConstant;
  s.constant = std::move(value);
  return s;
}

NodeSpec NodeSpec::Subsaga(std::string name, const SagaDag& dag, std::string params_from) {
  NodeSpec s;
  s.name = std::move(name);
  s.kind = NodeKind::kSubsagaEnd;
  s.subsaga = &dag;
  s.params_from = std::move(params_from);
  return s;
}

DagBuilder::DagBuilder(std::string kind) {
  dag_.kind = std::move(kind);
  dag_.scopes.push_back(DagScope{"", 0, -1});
}

void DagBuilder::Append(NodeSpec node) {
  std::vector<NodeSpec> stage;
  stage.push_back(std::move(node));
  AddStage(std::move(stage));
}

void DagBuilder::AppendParallel(std::vector<NodeSpec> nodes) { AddStage(std::move(nodes)); }

void DagBuilder::AddStage(std::vector<NodeSpec> specs) {
  if (!error_.ok()) return;
  if (specs.empty()) {
    error_ = Status::InvalidRequest(fmt::format("saga {}: a stage must have at least one node", dag_.kind));
    return;
  }
  std::vector<uint32_t> stage;
  for (const NodeSpec& spec : specs) {
    Status st = ValidateNodeName(spec.name);
    if (st.ok()) {
      bool duplicate = std::any_of(dag_.nodes.begin(), dag_.nodes.end(),
                                   [&](const DagNode& n) { return n.scope == 0 && n.name == spec.name; });
      if (duplicate) st = Status::InvalidRequest(fmt::format("saga {}: duplicate node name \"{}\"", dag_.kind, spec.name));
    }
    if (!st.ok()) {
      error_ = st;
      return;
    }
    if (spec.kind == NodeKind::kSubsagaEnd) {
      st = AddSubsaga(spec, previous_, &stage);
      if (!st.ok()) {
        error_ = st;
        return;
      }
      continue;  // its inner nodes are not part of the stage; only its end node is

    }
    DagNode n;
    n.name = spec.name;
    n.kind = spec.kind;
    n.deps = previous_;
    if (spec.kind == NodeKind::kAction) {
      if (spec.action.empty()) {
        error_ = Status::InvalidRequest(fmt::format("node \"{}\" names no action", spec.name));
        return;
      }
      n.action = spec.action;
    } else if (spec.kind == NodeKind::kConstant) {
      n.constant = spec.constant.dump();
    } else {
      error_ = Status::InvalidRequest(fmt::format("node \"{}\" has a kind that cannot be appended", spec.name));
      return;
    }
    stage.push_back(static_cast<uint32_t>(dag_.nodes.size()));
    dag_.nodes.push_back(std::move(n));
  }
  previous_ = stage;
  dag_.last_stage = stage;
}

Status DagBuilder::AddSubsaga(const NodeSpec& spec, const std::vector<uint32_t>& deps,
                              std::vector<uint32_t>* stage_out) {
  const SagaDag& sub = *spec.subsaga;
  if (sub.nodes.empty()) return Status::InvalidRequest(fmt::format("subsaga \"{}\" has no nodes", spec.name));
  if (sub.last_stage.size() != 1) {
    return Status::InvalidRequest(
        fmt::format("subsaga \"{}\": its last stage must be a single node (its output is the subsaga's)", spec.name));
  }
  // The params node: a scope-0 node that every node of the previous stage depends on, i.e. any node appended
  // before the previous stage ended. Nodes of the stage being built are siblings, not ancestors.
  int32_t params_node = -1;
  const uint32_t stage_floor =
      previous_.empty() ? 0 : *std::max_element(previous_.begin(), previous_.end()) + 1;
  for (uint32_t i = 0; i < stage_floor && i < dag_.nodes.size(); ++i) {
    if (dag_.nodes[i].scope == 0 && dag_.nodes[i].name == spec.params_from) params_node = static_cast<int32_t>(i);
  }
  if (params_node < 0) {
    return Status::InvalidRequest(fmt::format("subsaga \"{}\": params node \"{}\" is not an ancestor", spec.name,
                                              spec.params_from));
  }

  // The subsaga's scope 0 becomes `scope`; its scope j > 0 becomes scope + j.
  const uint32_t scope = static_cast<uint32_t>(dag_.scopes.size());
  dag_.scopes.push_back(DagScope{spec.name, 0, -1});
  for (size_t j = 1; j < sub.scopes.size(); ++j) {
    DagScope s = sub.scopes[j];
    s.name = spec.name + "." + s.name;
    s.parent = scope + s.parent;
    dag_.scopes.push_back(std::move(s));
  }

  const uint32_t start = static_cast<uint32_t>(dag_.nodes.size());
  DagNode start_node;
  start_node.name = std::string(kSubsagaStartName);
  start_node.kind = NodeKind::kSubsagaStart;
  start_node.deps = deps;
  start_node.scope = scope;
  start_node.link = params_node;
  dag_.nodes.push_back(std::move(start_node));
  dag_.scopes[scope].params_node = static_cast<int32_t>(start);

  const uint32_t offset = start + 1;
  for (const DagNode& inner : sub.nodes) {
    DagNode n = inner;
    for (auto& d : n.deps) d += offset;
    if (n.deps.empty()) n.deps.push_back(start);
    n.scope = scope + inner.scope;
    if (n.link >= 0) n.link += static_cast<int32_t>(offset);
    dag_.nodes.push_back(std::move(n));
  }
  for (size_t j = 1; j < sub.scopes.size(); ++j) {
    auto& s = dag_.scopes[scope + j];
    if (s.params_node >= 0) s.params_node += static_cast<int32_t>(offset);
  }

  DagNode end;
  end.name = spec.name;
  end.kind = NodeKind::kSubsagaEnd;
  end.deps = {sub.last_stage[0] + offset};
  end.scope = 0;
  end.link = static_cast<int32_t>(sub.last_stage[0] + offset);
  stage_out->push_back(static_cast<uint32_t>(dag_.nodes.size()));
  dag_.nodes.push_back(std::move(end));
  return Status::OK();
}

Result<SagaDag> DagBuilder::Build() {
  if (!error_.ok()) return error_;
  if (dag_.nodes.empty()) return Status::InvalidRequest(fmt::format("saga {} has no nodes", dag_.kind));
  return dag_;
}

}  // namespace sagadb
