// SagaDag and DagBuilder: the shape of a saga, built by stages.
//
//   sagadb::DagBuilder b("transfer");
//   b.Append(sagadb::NodeSpec::Action("debit", "ledger.debit"));
//   b.AppendParallel({sagadb::NodeSpec::Action("notify", "mail.send"),
//                     sagadb::NodeSpec::Action("audit", "ledger.audit")});
//   b.Append(sagadb::NodeSpec::Action("credit", "ledger.credit"));
//   sagadb::Result<sagadb::SagaDag> dag = b.Build();
//
// Every node of a stage depends on every node of the previous stage. Besides actions there are constants (a
// node whose output is a fixed JSON value) and subsagas: a saga embedded in another, whose nodes join the
// parent's DAG in a scope of their own, after a start node (whose output, the subsaga's params, is the output of
// `params_from`, a node of an earlier stage of the parent) and before an end node that carries the parent's name
// for the subsaga and whose output is the subsaga's last node's output. That is all the parent can see of it.
//
// The DAG is plain data, stored in the saga's record when the saga starts, so recovery never depends on today's
// code building the same DAG. Actions are named, not linked: whoever resumes a saga must know its actions.
//
// Thread safety: a built SagaDag is an immutable value. A DagBuilder belongs to one thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sagadb/status.h"

namespace sagadb {

using Json = nlohmann::json;

enum class NodeKind : uint8_t {
  kAction,        // runs the registered action named `action`
  kConstant,      // its output is `constant`
  kSubsagaStart,  // opens scope `scope`; its output (the subsaga's params) is the output of node `link`
  kSubsagaEnd,    // closes a subsaga; its output is the output of node `link`, the subsaga's last node
};
// "action", "constant", "subsaga_start", "subsaga_end".
std::string_view ToString(NodeKind kind);

// One node of a stored DAG.
struct DagNode {
  std::string name;      // unique within its scope
  NodeKind kind = NodeKind::kAction;
  std::string action;    // kAction
  std::string constant;  // kConstant: JSON text
  std::vector<uint32_t> deps;  // indexes of the nodes it depends on, all lower than its own
  uint32_t scope = 0;    // 0 for the saga itself, otherwise an index into the scopes
  int32_t link = -1;     // see NodeKind
  bool operator==(const DagNode&) const = default;
};

// A subsaga embedded in the DAG. Scope 0 is the saga itself and has an entry too.
struct DagScope {
  std::string name;
  uint32_t parent = 0;
  int32_t params_node = -1;  // the kSubsagaStart node whose output is this scope's params; -1 for scope 0
  bool operator==(const DagScope&) const = default;
};

struct SagaDag {
  std::string kind;
  std::vector<DagNode> nodes;    // in a topological order
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
  std::string action;                // kAction
  Json constant;                     // kConstant
  const SagaDag* subsaga = nullptr;  // subsagas (kSubsagaEnd in the parent)
  std::string params_from;           // subsagas

  // Node names: 1-63 characters of lowercase letters, digits, '-' and '_'.
  static NodeSpec Action(std::string name, std::string action);
  static NodeSpec Constant(std::string name, Json value);
  // `dag` is copied when the spec is appended.
  static NodeSpec Subsaga(std::string name, const SagaDag& dag, std::string params_from);
};

class DagBuilder {
 public:
  // `kind` names the saga's kind in listings ("instance-create").
  explicit DagBuilder(std::string kind);

  void Append(NodeSpec node);
  void AppendParallel(std::vector<NodeSpec> nodes);

  // The DAG, or the first error met (InvalidRequest): an empty stage or DAG, a duplicate or invalid node name,
  // an empty action name, a subsaga whose params node is not a node of an earlier stage, a subsaga with no
  // nodes or whose last stage has more than one node.
  Result<SagaDag> Build();

 private:
  void AddStage(std::vector<NodeSpec> nodes);
  Status AddSubsaga(const NodeSpec& spec, const std::vector<uint32_t>& deps, std::vector<uint32_t>* stage_out);

  SagaDag dag_;
  std::vector<uint32_t> previous_;  // the nodes of the last stage
  Status error_;
};

}  // namespace sagadb
