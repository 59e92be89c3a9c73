// bank_kit_test: the bank's transfer saga (bank.h) through sagadb's crash-test kit, as an embedder's own test.
//
//   bank_kit_test                 # GoogleTest: both tests below
//
// The kit runs the saga with every node failed instead of and after its step, every read of a step failing
// (pressure), every action and undo run twice, undos failing, and the process crashed (or the power cut) at every
// durable write and every external effect. The buggy receipt (a fallible read after writing its file) passes
// every fault injected instead of or after the step, and is caught by pressure; the fixed one passes everything.
#include <gtest/gtest.h>
#include <sagadb/testing/gtest.h>
#include <sagadb/testing/kit.h>

#include <filesystem>
#include <memory>
#include <string>

#include "bank.h"

namespace {

namespace fs = std::filesystem;
using sagadb::Json;
using sagadb::Status;
using sagadb::testing::RunContext;

// Alice has 100 and pays Bob 30.
sagadb::testing::SagaUnderTest TransferSaga(bank::ReceiptStyle style) {
  sagadb::testing::SagaUnderTest saga;
  saga.name = style == bank::ReceiptStyle::kBuggy ? "transfer-buggy" : "transfer";
  saga.domains = [style](const std::string& dir) {
    return sagadb::testing::Domains{std::make_shared<bank::Bank>(fs::path(dir) / "receipts", style)};
  };
  saga.dag = [](const Json&) { return bank::TransferDag(); };
  saga.params = Json{{"from", "alice"}, {"to", "bob"}, {"amount", 30}};
  saga.setup = [](RunContext& ctx) { return bank::Deposit(ctx.db, "alice", 100); };

  auto balance = [](const RunContext& ctx, const char* account) {
    auto v = ctx.db.Read(bank::kAccounts, account);
    return v.ok() ? *v : std::string("0");
  };
  auto receipts = [](const RunContext& ctx) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator(fs::path(ctx.dir) / "receipts", ec); !ec && it != fs::directory_iterator();
         ++it) {
      ++n;
    }
    return n;
  };
  saga.check_succeeded = [balance, receipts](const RunContext& ctx) -> Status {
    if (balance(ctx, "alice") != "70" || balance(ctx, "bob") != "30") {
      return Status::Internal("alice has " + balance(ctx, "alice") + " and bob " + balance(ctx, "bob"));
    }
    if (receipts(ctx) != 1) return Status::Internal(std::to_string(receipts(ctx)) + " receipts, not 1");
    return Status::OK();
  };
  saga.check_unchanged = [balance, receipts](const RunContext& ctx) -> Status {
    if (balance(ctx, "alice") != "100" || balance(ctx, "bob") != "0") {
      return Status::Internal("alice has " + balance(ctx, "alice") + " and bob " + balance(ctx, "bob"));
    }
    if (receipts(ctx) != 0) return Status::Internal(std::to_string(receipts(ctx)) + " receipts left behind");
    return Status::OK();
  };
  return saga;
}

TEST(BankKitTest, TheFixedTransferSurvivesEveryFault) {
  sagadb::testing::KitReport report = sagadb::testing::RunKitInTest(TransferSaga(bank::ReceiptStyle::kFixed));
  EXPECT_GT(report.CountCases("crash"), 0u);
}

TEST(BankKitTest, TheBuggyReceiptIsCaughtUnderPressure) {
  sagadb::testing::KitOptions options;
  options.crashes = options.power_loss = options.recovery_crashes = false;  // the in-process phases find it
  sagadb::testing::KitReport report =
      sagadb::testing::RunKit(TransferSaga(bank::ReceiptStyle::kBuggy), sagadb::testing::ForCurrentTest(options));
  std::printf("%s", report.Describe().c_str());
  ASSERT_EQ(report.failures.size(), 1u) << report.Describe();
  const sagadb::testing::KitFailure& f = report.failures[0];
  EXPECT_EQ(f.case_id, "pressure/receipt");
  EXPECT_EQ(f.node, "receipt");
  EXPECT_NE(f.message.find("receipts left behind"), std::string::npos) << f.message;
}

}  // namespace
