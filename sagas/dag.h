// SagaDag and DagBuilder: the shape of a saga, built by stages.
//
//   DagBuilder b("disk-create");
//   b.Append(NodeSpec::Action("record", "disk.create_record"));
//   b.Append(NodeSpec::Action("volume", "disk.create_volume"));
//   b.Append(NodeSpec::Action("finalize", "disk.finalize"));
//   Result<SagaDag> disk_create = b.Build();
//
//   DagBuilder p("instance-create");
//   p.Append(NodeSpec::Action("instance", "instance.create_record"));
//   p.AppendParallel({NodeSpec::Constant("d0_params", {...}), NodeSpec::Constant("d1_params", {...})});
//   p.AppendParallel({NodeSpec::Subsaga("d0", *disk_create, "d0_params"),
//                     NodeSpec::Subsaga("d1", *disk_create, "d1_params")});
//
// Every node of a stage depends on every node of the previous stage. A subsaga is embedded: its nodes join the
// parent's DAG in a scope of their own, after a start node (whose output is the subsaga's params: the output of
// `params_from`, a node of an earlier stage of the parent) and before an end node that carries the parent's
// name for the subsaga and whose output is the subsaga's last node's output. That is all the parent can see.
//
// The DAG is plain data (schema/records.h DagNode/DagScope) and is stored in the saga record when the saga is
// created, so recovery never depends on today's code building the same DAG.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/status.h"
#include "schema/records.h"

namespace sagadb {

using Json = nlohmann::json;

struct SagaDag {
  std::string kind;
  std::vector<DagNode> nodes;
  std::vector<DagScope> scopes;  // scopes[0] is the saga itself
  // The nodes of the last stage of scope 0.
  std::vector<uint32_t> last_stage;

  // "name" for scope 0, "sub.name" (the scope's qualified name, a dot, the node name) inside subsagas.
  std::string QualifiedName(uint32_t node) const;
};

// "name" or "scope.name" from the stored form.
std::string QualifiedName(const std::vector<DagNode>& nodes, const std::vector<DagScope>& scopes, uint32_t node);

struct NodeSpec {
  std::string name;
  NodeKind kind = NodeKind::kAction;
  std::string action;        // kAction
  Json constant;             // kConstant
  const SagaDag* subsaga = nullptr;  // subsagas (kSubsagaEnd in the parent)
  std::string params_from;   // subsagas

  static NodeSpec Action(std::string name, std::string action);
  static NodeSpec Constant(std::string name, Json value);
  // `dag` is copied when the spec is appended.
  static NodeSpec Subsaga(std::string name, const SagaDag& dag, std::string params_from);
};

class DagBuilder {
 public:
  explicit DagBuilder(std::string kind);

  void Append(NodeSpec node);
  void AppendParallel(std::vector<NodeSpec> nodes);

  // The DAG, or the first error met: an empty stage or DAG, a duplicate or invalid node name, an empty action
  // name, a subsaga whose params node is not a node of an earlier stage, a subsaga with no nodes or whose last
  // stage has more than one node.
  Result<SagaDag> Build();

 private:
  void AddStage(std::vector<NodeSpec> nodes);
  Status AddSubsaga(const NodeSpec& spec, const std::vector<uint32_t>& deps, std::vector<uint32_t>* stage_out);

  SagaDag dag_;
  std::vector<uint32_t> previous_;  // the nodes of the last stage
  Status error_;
};

}  // namespace sagadb
