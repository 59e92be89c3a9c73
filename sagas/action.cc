#include "sagadb/action.h"

#include <fmt/format.h>

#include "engine/store.h"
#include "sagadb/domain.h"
#include "sagas/saga_run.h"

namespace sagadb {

Status ActionRegistry::Register(ActionDef def) {
  if (def.name.empty()) return Status::InvalidRequest("an action needs a name");
  if (!def.action) return Status::InvalidRequest(fmt::format("action {} has no function", def.name));
  auto [it, inserted] = actions_.emplace(def.name, std::move(def));
  if (!inserted) return Status::InvalidRequest(fmt::format("action {} is already registered", it->first));
  return Status::OK();
}

const ActionDef* ActionRegistry::Find(std::string_view name) const {
  auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : &it->second;
}

Status BasicDomain::RegisterActions(ActionRegistry& registry) {
  for (const auto& [name, def] : actions_.all()) SAGADB_RETURN_IF_ERROR(registry.Register(def));
  return Status::OK();
}

// The DAG and a node's output do not change once the node's action can run (see SagaRun), so reading them
// needs no lock.
ActionContext::ActionContext(const SagaRun* run, uint32_t node, Txn* txn, const Store* store, uint32_t attempt)
    : run_(run), node_(node), txn_(txn), store_(store), attempt_(attempt) {}

const std::shared_ptr<const Json>& NullJson() {
  static const std::shared_ptr<const Json> null = std::make_shared<const Json>();
  return null;
}

const Json& ActionContext::params() const { return *run_->scope_params[run_->dag_node(node_).scope]; }

std::shared_ptr<const void> ActionContext::CachedParams(const std::type_info& type) const {
  const uint32_t scope = run_->dag_node(node_).scope;
  MutexLock lock(&run_->params_mu);
  if (scope >= run_->params_cache.size()) return nullptr;
  auto it = run_->params_cache[scope].find(std::type_index(type));
  return it == run_->params_cache[scope].end() ? nullptr : it->second;
}

void ActionContext::CacheParams(const std::type_info& type, std::shared_ptr<const void> value) const {
  const uint32_t scope = run_->dag_node(node_).scope;
  MutexLock lock(&run_->params_mu);
  if (run_->params_cache.size() <= scope) run_->params_cache.resize(run_->scope_params.size());
  run_->params_cache[scope].emplace(std::type_index(type), std::move(value));
}

const Json& ActionContext::output() const { return *run_->nodes[node_].output; }

const Uuid& ActionContext::saga_id() const { return run_->id(); }

std::string ActionContext::node_name() const { return run_->qualified_names[node_]; }

Result<std::string> ActionContext::Read(std::string_view table, std::string_view key) const {
  auto t = store_->FindTable(table);
  if (!t.ok()) return Status::InvalidRequest(t.status().message());
  return store_->Get(*t, key);
}

Result<Json> ActionContext::Lookup(std::string_view name) const NO_THREAD_SAFETY_ANALYSIS {
  const auto& nodes = run_->record.nodes;
  const uint32_t scope = nodes[node_].scope;
  // Walk the ancestors within this node's scope; the DAG is small, so a search per lookup is cheap.
  std::vector<bool> seen(nodes.size(), false);
  std::vector<uint32_t> stack(nodes[node_].deps.begin(), nodes[node_].deps.end());
  while (!stack.empty()) {
    uint32_t i = stack.back();
    stack.pop_back();
    if (i >= nodes.size() || seen[i]) continue;
    seen[i] = true;
    if (nodes[i].scope == scope && nodes[i].name == name && nodes[i].kind != NodeKind::kSubsagaStart) {
      return *run_->nodes[i].output;
    }
    // Do not climb out of a subsaga: its start node is where its scope begins.
    if (nodes[i].kind == NodeKind::kSubsagaStart && nodes[i].scope == scope) continue;
    stack.insert(stack.end(), nodes[i].deps.begin(), nodes[i].deps.end());
  }
  return Status::InvalidRequest(
      fmt::format("node \"{}\" has no ancestor named \"{}\"", run_->qualified_names[node_], name));
}

}  // namespace sagadb
