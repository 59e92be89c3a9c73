// GoogleTest glue for the crash-test kit (sagadb/testing/kit.h). Header-only: a program that includes it links
// GoogleTest itself; libsagadb_testing does not.
//
//   TEST(TransferSaga, SurvivesEveryFault) {
//     sagadb::testing::KitReport report = sagadb::testing::RunKitInTest(TransferSaga());
//     EXPECT_GT(report.CountCases("crash"), 0u);
//   }
//
// RunKitInTest starts the kit's child processes with --gtest_filter naming the current test, so a child runs
// only that test up to its RunKit call, and turns every failure of the report into a GoogleTest failure that
// names the case, the node, the write and the seed reproducing it.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <utility>

#include "sagadb/testing/kit.h"

namespace sagadb::testing {

// `options`, with the child process running only the current test (unless child_argv is already set).
inline KitOptions ForCurrentTest(KitOptions options = {}) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info != nullptr && options.child_argv.empty()) {
    options.child_argv = {"/proc/self/exe",
                          std::string("--gtest_filter=") + info->test_suite_name() + "." + info->name(),
                          "--gtest_also_run_disabled_tests"};
  }
  return options;
}

// Every failure of the report, as a failure of the current test.
inline void ExpectKitPassed(const KitReport& report) {
  for (const KitFailure& f : report.failures) ADD_FAILURE() << "saga " << report.saga << ": " << f.ToString();
}

// RunKit for the current test; its failures are the test's. The report's summary line goes to the test's
// output (and to its XML report as the property "sagadb_kit").
inline KitReport RunKitInTest(const SagaUnderTest& saga, KitOptions options = {}) {
  KitReport report = RunKit(saga, ForCurrentTest(std::move(options)));
  const std::string summary = report.Describe().substr(0, report.Describe().find('\n'));
  ::testing::Test::RecordProperty("sagadb_kit", summary);
  std::printf("%s\n", summary.c_str());
  ExpectKitPassed(report);
  return report;
}

}  // namespace sagadb::testing
