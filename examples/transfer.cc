// transfer: a program that defines its own saga and runs it on sagadb, as an embedder would.
//
//   transfer DIR
//
// The saga moves money between two accounts and mails a receipt:
//   debit    (local)     takes the amount from the payer's balance, in the "accounts" table;
//                        undo: gives it back
//   receipt  (external)  writes a receipt file under DIR/receipts; undo: removes it
//   credit   (local)     adds the amount to the payee's balance; a payee named "nobody" is refused, which makes
//                        the saga unwind: the receipt is removed and the payer's money given back
// It runs one transfer that succeeds and one that fails, and prints the balances and receipts after each.
#include <sagadb/database.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace {

namespace fs = std::filesystem;
using sagadb::ActionContext;
using sagadb::Json;
using sagadb::Result;
using sagadb::Status;

constexpr char kAccounts[] = "accounts";

struct Transfer {
  std::string from;
  std::string to;
  int64_t amount = 0;
};
void from_json(const Json& j, Transfer& t) {
  j.at("from").get_to(t.from);
  j.at("to").get_to(t.to);
  j.at("amount").get_to(t.amount);
}

// A balance is stored as decimal text under the account's name.
Result<int64_t> Balance(sagadb::Txn& txn, const std::string& account) {
  auto value = txn.Get(kAccounts, account);
  if (!value.ok()) return value.status().IsNotFound() ? Result<int64_t>(int64_t{0}) : value.status();
  return std::stoll(*value);
}

// Adds `delta` to the account, refusing to go below zero. Stages the write; the engine commits it with the
// step's outcome.
Status Add(sagadb::Txn& txn, const std::string& account, int64_t delta) {
  if (account == "nobody") return Status::InvalidRequest("there is no account named \"nobody\"");
  if (Status st = txn.Lock({account}); !st.ok()) return st;
  auto balance = Balance(txn, account);
  if (!balance.ok()) return balance.status();
  if (*balance + delta < 0) return Status::InvalidRequest(account + " has too little money");
  return txn.Put(kAccounts, account, std::to_string(*balance + delta));
}

class Bank : public sagadb::Domain {
 public:
  explicit Bank(fs::path receipts) : receipts_(std::move(receipts)) {}

  std::string_view name() const override { return "bank"; }
  std::vector<std::string> tables() const override { return {kAccounts}; }

  Status RegisterActions(sagadb::ActionRegistry& registry) override {
    auto debit = [](ActionContext& ctx) -> Result<Json> {
      auto t = ctx.Params<Transfer>();
      if (!t.ok()) return t.status();
      if (Status st = Add(*ctx.txn(), t->from, -t->amount); !st.ok()) return st;
      return Json{{"debited", t->amount}};
    };
    auto undo_debit = [](ActionContext& ctx) -> Status {
      auto t = ctx.Params<Transfer>();
      return t.ok() ? Add(*ctx.txn(), t->from, t->amount) : t.status();
    };
    // External: the file is written and synced before the step is recorded as done. Writing it again (after a
    // crash) gives the same file, so the action is idempotent, as external actions must be.
    auto receipt = [dir = receipts_](ActionContext& ctx) -> Result<Json> {
      auto t = ctx.Params<Transfer>();
      if (!t.ok()) return t.status();
      fs::create_directories(dir);
      const fs::path file = dir / (ctx.saga_id().ToString() + ".txt");
      std::ofstream(file) << t->from << " paid " << t->to << " " << t->amount << "\n";
      return Json{{"receipt", file.string()}};
    };
    auto undo_receipt = [dir = receipts_](ActionContext& ctx) -> Status {
      std::error_code ec;
      fs::remove(dir / (ctx.saga_id().ToString() + ".txt"), ec);
      return ec ? Status::IOError(ec.message()) : Status::OK();
    };
    auto credit = [](ActionContext& ctx) -> Result<Json> {
      auto t = ctx.Params<Transfer>();
      if (!t.ok()) return t.status();
      if (Status st = Add(*ctx.txn(), t->to, t->amount); !st.ok()) return st;
      return Json{{"credited", t->amount}};
    };
    auto undo_credit = [](ActionContext& ctx) -> Status {
      auto t = ctx.Params<Transfer>();
      return t.ok() ? Add(*ctx.txn(), t->to, -t->amount) : t.status();
    };
    for (sagadb::ActionDef def : {sagadb::ActionDef{"bank.debit", sagadb::ActionKind::kLocal, debit, undo_debit},
                                  sagadb::ActionDef{"bank.receipt", sagadb::ActionKind::kExternal, receipt, undo_receipt},
                                  sagadb::ActionDef{"bank.credit", sagadb::ActionKind::kLocal, credit, undo_credit}}) {
      if (Status st = registry.Register(std::move(def)); !st.ok()) return st;
    }
    return Status::OK();
  }

 private:
  fs::path receipts_;
};

void PrintState(sagadb::Database& db, const fs::path& receipts) {
  for (const char* account : {"alice", "bob"}) {
    auto value = db.Read(kAccounts, account);
    std::printf("  %-6s %s\n", account, value.ok() ? value->c_str() : "0");
  }
  size_t files = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(receipts, ec); !ec && it != fs::directory_iterator(); ++it) ++files;
  std::printf("  receipts on disk: %zu\n", files);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: transfer DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  sagadb::DatabaseOptions options;
  options.path = (dir / "db").string();
  auto db = sagadb::Database::Open(options, {std::make_shared<Bank>(dir / "receipts")});
  if (!db.ok()) {
    std::fprintf(stderr, "transfer: %s\n", db.status().ToString().c_str());
    return 1;
  }

  sagadb::DagBuilder b("transfer");
  b.Append(sagadb::NodeSpec::Action("debit", "bank.debit"));
  b.Append(sagadb::NodeSpec::Action("receipt", "bank.receipt"));
  b.Append(sagadb::NodeSpec::Action("credit", "bank.credit"));
  auto dag = b.Build();
  if (!dag.ok()) return 1;

  // Seed alice's account with a saga of its own: a credit from nowhere.
  sagadb::DagBuilder seed("seed");
  seed.Append(sagadb::NodeSpec::Action("credit", "bank.credit"));
  auto seeded = (*db)->Run(*seed.Build(), Json{{"from", ""}, {"to", "alice"}, {"amount", 100}});
  if (!seeded.ok() || seeded->state != sagadb::SagaState::kSucceeded) return 1;

  int exit_code = 0;
  for (const char* payee : {"bob", "nobody"}) {
    auto r = (*db)->Run(*dag, Json{{"from", "alice"}, {"to", payee}, {"amount", 30}});
    if (!r.ok()) {
      std::fprintf(stderr, "transfer: %s\n", r.status().ToString().c_str());
      return 1;
    }
    std::printf("alice pays %s 30: saga %s %s", payee, r->id.ToString().c_str(),
                std::string(sagadb::ToString(r->state)).c_str());
    if (r->state == sagadb::SagaState::kFailed) {
      std::printf(" at %s (%s), everything undone", r->error_node.c_str(), r->error.ToString().c_str());
    }
    std::printf("\n");
    PrintState(**db, dir / "receipts");
    const bool expected = std::string(payee) == "bob" ? r->state == sagadb::SagaState::kSucceeded
                                                      : r->state == sagadb::SagaState::kFailed;
    if (!expected) exit_code = 1;
  }
  return exit_code;
}
