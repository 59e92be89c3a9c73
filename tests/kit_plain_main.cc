// A program that uses the crash-test kit without GoogleTest: it enters child mode first thing in main, through
// RunChildIfRequested, before doing anything of its own. Exits 0 when the kit passes the sample saga through its
// crash phase, 1 otherwise (with the report on stdout).
//
//   kit_plain_test
//
// A child that got past RunChildIfRequested would exit 3 below, and the kit would report it as a child that
// ended in an unexpected way: so this also checks that RunChildIfRequested, not RunKit, did the child's part.
#include <cstdio>

#include "sagadb/testing/kit.h"
#include "tests/sample_saga_kit.h"

int main() {
  const sagadb::testing::SagaUnderTest saga = sagadb::testing::SampleSagaUnderTest();
  sagadb::testing::KitOptions options;
  options.idempotency = options.node_failures = options.undo_failures = false;
  options.power_loss = options.recovery_crashes = false;
  options.random_pressure_runs = 0;
  options.only = "crash/forward";
  sagadb::testing::RunChildIfRequested({&saga}, options);
  if (sagadb::testing::IsKitChild()) return 3;

  const sagadb::testing::KitReport report = sagadb::testing::RunKit(saga, options);
  std::fputs(report.Describe().c_str(), stdout);
  return report.ok() && report.CountCases("crash") > 2 * report.writes ? 0 : 1;
}
