// Actions: what saga nodes run, registered by name with their undo.
//
//   ActionRegistry registry;
//   registry.Register({"disk.create_record", ActionKind::kLocal,
//       [](ActionContext& ctx) -> Result<Json> {
//         auto spec = ctx.Params<DiskParams>();                 // typed, never throws
//         if (!spec.ok()) return spec.status();
//         auto disk = ctx.datastore().StageCreateDisk(*ctx.txn(), ...);   // stages, does not write
//         ...
//       },
//       [](ActionContext& ctx) -> Status { ... undo ... }});
//
// Two kinds (DESIGN section 3):
//  - kLocal touches only this database. It must not write: it stages writes into ctx.txn(), and the executor
//    commits them together with the node's `succeeded` event in one synced batch (for an undo, with its
//    `undo_finished`). An error, or a crash before that commit, leaves nothing behind, so the node simply runs
//    again or is recorded failed. Its commit is by construction its last fallible operation.
//  - kExternal has effects outside the database. `started` is durable before it runs and `succeeded` before any
//    child runs; it must be idempotent because recovery runs a `started` node again, and when it fails it must
//    leave nothing behind itself (a failed node's undo never runs).
// Errors are Status values: Transient and Overloaded may be retried; everything else is permanent.
#pragma once

#include <nlohmann/json.hpp>

#include <any>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "engine/datastore.h"
#include "engine/status.h"
#include "engine/write_txn.h"
#include "sagas/dag.h"

namespace sagadb {

class SagaRun;
class ActionContext;

enum class ActionKind { kLocal, kExternal };

using ActionFn = std::function<Result<Json>(ActionContext&)>;
using UndoFn = std::function<Status(ActionContext&)>;

struct ActionDef {
  std::string name;
  ActionKind kind = ActionKind::kLocal;
  ActionFn action;
  UndoFn undo;  // may be empty: nothing to undo
};

class ActionRegistry {
 public:
  // InvalidRequest if the name is empty, already registered, or the action is missing.
  Status Register(ActionDef def);
  // nullptr if unknown.
  const ActionDef* Find(std::string_view name) const;

 private:
  std::map<std::string, ActionDef, std::less<>> actions_;
};

// What an action (or undo) sees. Valid only during the call.
class ActionContext {
 public:
  ActionContext(const SagaRun* run, uint32_t node, WriteTxn* txn, Datastore* datastore, const std::any* app,
                uint32_t attempt);

  // The params of the node's scope: the saga's params, or inside a subsaga the subsaga's params.
  const Json& params() const;
  // The params converted to T (nlohmann::json from_json), or InvalidRequest if they do not fit.
  template <typename T>
  Result<T> Params() const;

  // The output of an ancestor of this node, named as in its scope (a subsaga appears under its name, with its
  // last node's output). InvalidRequest if no such node is an ancestor.
  Result<Json> Lookup(std::string_view name) const;
  template <typename T>
  Result<T> Lookup(std::string_view name) const;

  // For undo: this node's own output.
  const Json& output() const;

  // Local actions: the txn to stage writes into. nullptr for external actions.
  WriteTxn* txn() const { return txn_; }
  Datastore& datastore() const { return *datastore_; }
  // The application context given to the executor, if it holds a T.
  template <typename T>
  T* app() const {
    return app_ == nullptr ? nullptr : std::any_cast<T>(const_cast<std::any*>(app_));
  }
  const Uuid& saga_id() const;
  std::string node_name() const;
  uint32_t attempt() const { return attempt_; }

 private:
  const SagaRun* run_;
  uint32_t node_;
  WriteTxn* txn_;
  Datastore* datastore_;
  const std::any* app_;
  uint32_t attempt_;
};

// Converts JSON to T without letting an exception escape.
template <typename T>
Result<T> FromJson(const Json& j, std::string_view what) {
  try {
    return j.get<T>();
  } catch (const std::exception& e) {
    return Status::InvalidRequest(fmt::format("{} has the wrong shape: {}", what, e.what()));
  }
}

template <typename T>
Result<T> ActionContext::Params() const {
  return FromJson<T>(params(), "saga params");
}

template <typename T>
Result<T> ActionContext::Lookup(std::string_view name) const {
  auto j = Lookup(name);
  if (!j.ok()) return j.status();
  return FromJson<T>(*j, fmt::format("output of node \"{}\"", name));
}

}  // namespace sagadb
