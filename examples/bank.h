// A small bank as an embedder's sagadb domain: accounts in a table of their own, a transfer saga, and a receipt
// written to a file. Used by transfer.cc (a program) and bank_kit_test.cc (its crash tests, with the kit).
//
// The transfer saga:
//   debit    (local)     takes the amount from the payer's balance, in the "accounts" table; undo: gives it back
//   receipt  (external)  writes a receipt file, with the payer's balance, under the receipts directory;
//                        undo: removes it
//   credit   (local)     adds the amount to the payee's balance; a payee named "nobody" is refused, which makes
//                        the saga unwind: the receipt is removed and the payer's money given back
//
// ReceiptStyle::kBuggy writes the receipt first and reads the balance afterwards: the shape of the bug sagadb was
// built for. When that read fails (a connection pool exhausted, say), the step reports failure although its file
// exists, and since a failed step's undo never runs, the file stays forever. ReceiptStyle::kFixed reads first
// and makes writing the file its last fallible step.
#pragma once

#include <fcntl.h>
#include <sagadb/database.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace bank {

using sagadb::ActionContext;
using sagadb::Json;
using sagadb::Result;
using sagadb::Status;

inline constexpr char kAccounts[] = "accounts";

enum class ReceiptStyle { kFixed, kBuggy };

struct Transfer {
  std::string from;
  std::string to;
  int64_t amount = 0;
};
inline void from_json(const Json& j, Transfer& t) {
  j.at("from").get_to(t.from);
  j.at("to").get_to(t.to);
  j.at("amount").get_to(t.amount);
}

// A balance is stored as decimal text under the account's name.
inline Result<int64_t> Balance(sagadb::Txn& txn, const std::string& account) {
  auto value = txn.Get(kAccounts, account);
  if (!value.ok()) return value.status().IsNotFound() ? Result<int64_t>(int64_t{0}) : value.status();
  return std::stoll(*value);
}

// Adds `delta` to the account, refusing to go below zero. Stages the write; the engine commits it with the
// step's outcome.
inline Status Add(sagadb::Txn& txn, const std::string& account, int64_t delta) {
  if (account == "nobody") return Status::InvalidRequest("there is no account named \"nobody\"");
  if (Status st = txn.Lock({account}); !st.ok()) return st;
  auto balance = Balance(txn, account);
  if (!balance.ok()) return balance.status();
  if (*balance + delta < 0) return Status::InvalidRequest(account + " has too little money");
  return txn.Put(kAccounts, account, std::to_string(*balance + delta));
}

// Writes `text` as the whole of `path` and makes it durable (file and directory entry): an external effect is
// done when its step reports success. Writing the same text again gives the same file: idempotent.
inline Status WriteDurably(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot create " + path.string());
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool dir_ok = dir >= 0 && ::fsync(dir) == 0;
  if (dir >= 0) ::close(dir);
  return ok && dir_ok ? Status::OK() : Status::IOError("cannot write " + path.string());
}

inline std::filesystem::path ReceiptPath(const std::filesystem::path& dir, const sagadb::Uuid& saga) {
  return dir / (saga.ToString() + ".txt");
}

class Bank : public sagadb::Domain {
 public:
  explicit Bank(std::filesystem::path receipts, ReceiptStyle style = ReceiptStyle::kFixed)
      : receipts_(std::move(receipts)), style_(style) {}

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
    auto receipt = [dir = receipts_, style = style_](ActionContext& ctx) -> Result<Json> {
      auto t = ctx.Params<Transfer>();
      if (!t.ok()) return t.status();
      const auto file = ReceiptPath(dir, ctx.saga_id());
      const std::string paid = t->from + " paid " + t->to + " " + std::to_string(t->amount) + "\n";
      if (style == ReceiptStyle::kBuggy) {
        if (Status st = WriteDurably(file, paid); !st.ok()) return st;
        // BUG: one more fallible step after the effect. If this read fails, the step fails with the file
        // written, and nothing will ever remove it.
        auto balance = ctx.Read(kAccounts, t->from);
        if (!balance.ok()) return balance.status();
        if (Status st = WriteDurably(file, paid + t->from + " now has " + *balance + "\n"); !st.ok()) return st;
        return Json{{"receipt", file.string()}};
      }
      // Fixed: everything fallible first; writing the file is the step's last fallible operation.
      auto balance = ctx.Read(kAccounts, t->from);
      if (!balance.ok()) return balance.status();
      if (Status st = WriteDurably(file, paid + t->from + " now has " + *balance + "\n"); !st.ok()) return st;
      return Json{{"receipt", file.string()}};
    };
    auto undo_receipt = [dir = receipts_](ActionContext& ctx) -> Status {
      std::error_code ec;
      std::filesystem::remove(ReceiptPath(dir, ctx.saga_id()), ec);
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
  std::filesystem::path receipts_;
  ReceiptStyle style_;
};

inline Result<sagadb::SagaDag> TransferDag() {
  sagadb::DagBuilder b("transfer");
  b.Append(sagadb::NodeSpec::Action("debit", "bank.debit"));
  b.Append(sagadb::NodeSpec::Action("receipt", "bank.receipt"));
  b.Append(sagadb::NodeSpec::Action("credit", "bank.credit"));
  return b.Build();
}

// Opening an account with money: a saga of its own, a credit from nowhere.
inline Status Deposit(sagadb::Database& db, const std::string& account, int64_t amount) {
  sagadb::DagBuilder b("deposit");
  b.Append(sagadb::NodeSpec::Action("credit", "bank.credit"));
  auto dag = b.Build();
  if (!dag.ok()) return dag.status();
  auto r = db.Run(*dag, Json{{"from", ""}, {"to", account}, {"amount", amount}});
  if (!r.ok()) return r.status();
  return r->state == sagadb::SagaState::kSucceeded ? Status::OK() : r->error;
}

}  // namespace bank
