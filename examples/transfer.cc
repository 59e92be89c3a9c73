// transfer: a program that defines its own saga and runs it on sagadb, as an embedder would.
//
//   transfer DIR
//
// The bank and its transfer saga are in bank.h: debit (local), receipt (external: a file under DIR/receipts),
// credit (local; a payee named "nobody" is refused, which makes the saga unwind: the receipt is removed and the
// payer's money given back). It runs one transfer that succeeds and one that fails, and prints the balances and
// receipts after each, then what the database's metrics say of them. bank_kit_test.cc puts the same saga through
// sagadb's crash-test kit.
#include <sagadb/database.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "bank.h"

namespace {

namespace fs = std::filesystem;
using bank::kAccounts;
using sagadb::Json;

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
  auto db = sagadb::Database::Open(options, {std::make_shared<bank::Bank>(dir / "receipts")});
  if (!db.ok()) {
    std::fprintf(stderr, "transfer: %s\n", db.status().ToString().c_str());
    return 1;
  }

  auto dag = bank::TransferDag();
  if (!dag.ok()) return 1;
  if (!bank::Deposit(**db, "alice", 100).ok()) return 1;

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

  // What the database says about itself, as the appliance's /metrics endpoint would serve it (sagadb/metrics.h).
  auto metrics = (*db)->metrics();
  if (!metrics.ok()) return 1;
  const auto& transfers = metrics->by_kind["transfer"];
  std::printf("metrics: %llu transfer(s) succeeded, %llu failed; %llu synced writes; %zu bytes as Prometheus text\n",
              static_cast<unsigned long long>(transfers.Ended("succeeded")),
              static_cast<unsigned long long>(transfers.Ended("failed")),
              static_cast<unsigned long long>(metrics->synced_writes), sagadb::WritePrometheus(*metrics).size());
  if (transfers.Ended("succeeded") != 1 || transfers.Ended("failed") != 1) exit_code = 1;
  return exit_code;
}
