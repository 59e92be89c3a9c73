// Domain: a set of tables and the actions that work on them, which a Database is opened with. The control plane
// (instances, disks, attach and detach; sagadb/control_plane.h) is one domain; an embedder registers its own,
// beside it or alone.
//
//   class Ledger : public sagadb::Domain {
//    public:
//     std::string_view name() const override { return "ledger"; }
//     std::vector<std::string> tables() const override { return {"accounts"}; }
//     sagadb::Status RegisterActions(sagadb::ActionRegistry& registry) override {
//       SAGADB_RETURN_IF_ERROR(registry.Register({"ledger.debit", sagadb::ActionKind::kLocal, Debit, Credit}));
//       return registry.Register({"ledger.credit", sagadb::ActionKind::kLocal, Credit, Debit});
//     }
//   };
//   options.path = "/var/lib/appliance/sagadb";
//   auto db = sagadb::Database::Open(options, {std::make_shared<Ledger>()});
//
// Every action a stored saga names must be registered by some domain of the program that opens the database,
// or recovery cannot resume that saga. Action names are stored: never rename one that sagas may still use.
//
// Thread safety: RegisterActions is called once, by Database::Open; the actions it registers run concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sagadb/action.h"
#include "sagadb/status.h"

namespace sagadb {

class Domain {
 public:
  virtual ~Domain() = default;
  // A short name, for messages.
  virtual std::string_view name() const = 0;
  // The tables the domain's local actions write: names of lowercase letters, digits, '_' and '-'. Created by the
  // first read-write open that declares them, and never dropped.
  virtual std::vector<std::string> tables() const { return {}; }
  // Registers every action the domain's sagas name. An error fails the open.
  virtual Status RegisterActions(ActionRegistry& registry) = 0;
};

// A domain made of a name, tables and a registry filled by the caller: for programs whose actions need nothing
// more.
//
//   auto app = std::make_shared<sagadb::BasicDomain>("shop", std::vector<std::string>{"orders"});
//   app->actions().Register({"shop.reserve", sagadb::ActionKind::kLocal, Reserve, Release});
class BasicDomain : public Domain {
 public:
  explicit BasicDomain(std::string name, std::vector<std::string> tables = {})
      : name_(std::move(name)), tables_(std::move(tables)) {}
  ActionRegistry& actions() { return actions_; }

  std::string_view name() const override { return name_; }
  std::vector<std::string> tables() const override { return tables_; }
  Status RegisterActions(ActionRegistry& registry) override;

 private:
  std::string name_;
  std::vector<std::string> tables_;
  ActionRegistry actions_;
};

}  // namespace sagadb
