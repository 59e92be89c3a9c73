// Actions: what saga nodes run, registered by name with their undo.
//
//   sagadb::ActionRegistry actions;
//   actions.Register({"ledger.debit", sagadb::ActionKind::kLocal,
//       [](sagadb::ActionContext& ctx) -> sagadb::Result<sagadb::Json> {
//         auto p = ctx.Params<Transfer>();                          // typed, never throws
//         if (!p.ok()) return p.status();
//         SAGADB_RETURN_IF_ERROR(ctx.txn()->Lock({p->account}));   // before reading it
//         auto balance = ctx.txn()->Get("accounts", p->account);  // sees this step's staged writes
//         ...
//         SAGADB_RETURN_IF_ERROR(ctx.txn()->Put("accounts", p->account, new_balance));  // stages, no write
//         return sagadb::Json{{"debited", p->amount}};
//       },
//       [](sagadb::ActionContext& ctx) -> sagadb::Status { /* stage the credit back */ }});
//
// Two kinds:
//  - kLocal touches only this database. It must not write: it stages writes into ctx.txn(), and the engine
//    commits them together with the node's `succeeded` event in one synced batch (for an undo, with its
//    `undo_finished`). An error, or a crash before that commit, leaves nothing behind, so the node simply runs
//    again or is recorded failed. Its commit is by construction its last fallible operation: a step can never
//    be "committed but recorded as failed".
//  - kExternal has effects outside the database (a file, a call to another service). `started` is durable
//    before it runs and `succeeded` before any child's effect is; it must be idempotent, because recovery runs a
//    `started` node again, and when it fails it must leave nothing behind itself (a failed node's undo never
//    runs).
// Errors are Status values: Transient and Overloaded may be retried; everything else is permanent. An action
// that throws is taken as having failed with Internal.
//
// Thread safety: actions of different nodes run concurrently on the executor's threads; an ActionContext and
// its Txn belong to the one call they are handed to.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>

#include "sagadb/dag.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace sagadb {

// The writes of one local step, staged until the engine commits them with the step's outcome.
class Txn {
 public:
  virtual ~Txn() = default;

  // Locks the records with these keys (any bytes: a record's id, say) until the step's writes are committed or
  // discarded. Lock every record before reading it: two steps that read and then write the same record are
  // then serialized, and neither acts on what the other is about to change. Locks are taken in a global order;
  // when a key sorts below one this step already holds and is busy, Lock returns Transient at once instead of
  // waiting (no deadlock), and the engine runs the step again from the start, not counting it as a failure.
  virtual Status Lock(std::span<const std::string_view> keys) = 0;
  Status Lock(std::initializer_list<std::string_view> keys) {
    return Lock(std::span<const std::string_view>(keys.begin(), keys.size()));
  }
  Status Lock(const Uuid& id) { return Lock({id.AsBytes()}); }

  // The value as this step would leave it: its own staged writes first, then the database. NotFound if none;
  // InvalidRequest for a table the database does not have.
  virtual Result<std::string> Get(std::string_view table, std::string_view key) = 0;
  // Stage a write. InvalidRequest for a table the database does not have.
  virtual Status Put(std::string_view table, std::string_view key, std::string_view value) = 0;
  virtual Status Delete(std::string_view table, std::string_view key) = 0;
};

enum class ActionKind { kLocal, kExternal };

class ActionContext;
using ActionFn = std::function<Result<Json>(ActionContext&)>;
using UndoFn = std::function<Status(ActionContext&)>;

struct ActionDef {
  std::string name;  // stored in saga records: never rename an action that sagas may still be running
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
  size_t size() const { return actions_.size(); }
  // Every registered action, by name.
  const std::map<std::string, ActionDef, std::less<>>& all() const { return actions_; }

 private:
  std::map<std::string, ActionDef, std::less<>> actions_;
};

class SagaRun;
class Store;

// What an action (or undo) sees. Valid only during the call.
class ActionContext {
 public:
  // Built by the executor.
  ActionContext(const SagaRun* run, uint32_t node, Txn* txn, const Store* store, uint32_t attempt);

  // The params of the node's scope: the saga's params, or inside a subsaga the subsaga's params.
  const Json& params() const;
  // The params converted to T (nlohmann::json from_json), or InvalidRequest if they do not fit. Converted once
  // per saga and scope (every step of a saga asks for them, and they never change), then copied.
  template <typename T>
  Result<T> Params() const;

  // The output of an ancestor of this node, named as in its scope (a subsaga appears under its name, with its
  // last node's output). InvalidRequest if no such node is an ancestor.
  Result<Json> Lookup(std::string_view name) const;
  template <typename T>
  Result<T> Lookup(std::string_view name) const;

  // For an undo: this node's own output.
  const Json& output() const;

  // Local actions and undos: the step's writes. nullptr for external ones.
  Txn* txn() const { return txn_; }
  // A committed value, outside any step's writes (what an external action reads). NotFound if none.
  Result<std::string> Read(std::string_view table, std::string_view key) const;

  const Uuid& saga_id() const;
  // "node" or "subsaga.node".
  std::string node_name() const;
  // 1 for the first run of the action (or undo), 2 for its first retry, ...
  uint32_t attempt() const { return attempt_; }

 private:
  // The scope's params already converted to `type`, or null.
  std::shared_ptr<const void> CachedParams(const std::type_info& type) const;
  void CacheParams(const std::type_info& type, std::shared_ptr<const void> value) const;

  const SagaRun* run_;
  uint32_t node_;
  Txn* txn_;
  const Store* store_;
  uint32_t attempt_;
};

// Converts JSON to T without letting an exception escape.
template <typename T>
Result<T> FromJson(const Json& j, std::string_view what) {
  try {
    return j.get<T>();
  } catch (const std::exception& e) {
    return Status::InvalidRequest(std::string(what) + " has the wrong shape: " + e.what());
  }
}

template <typename T>
Result<T> ActionContext::Params() const {
  if (auto cached = CachedParams(typeid(T))) return *static_cast<const T*>(cached.get());
  Result<T> converted = FromJson<T>(params(), "saga params");
  if (converted.ok()) CacheParams(typeid(T), std::make_shared<const T>(*converted));
  return converted;
}

template <typename T>
Result<T> ActionContext::Lookup(std::string_view name) const {
  auto j = Lookup(name);
  if (!j.ok()) return j.status();
  return FromJson<T>(*j, "output of node \"" + std::string(name) + "\"");
}

}  // namespace sagadb
