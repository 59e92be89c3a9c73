// The sample saga (tests/saga_test_util.h) as the crash-test kit's saga under test: how the crash suite puts
// sagadb's own recovery through the kit that users put their sagas through.
//
//   sagadb::testing::SagaUnderTest saga = SampleSagaUnderTest();
//   KitReport report = RunKitInTest(saga, options);
//
// Its world: the disks its local actions make (each names its saga) and the files its external actions make
// (each "<saga id>-<node>", under <run dir>/files). Whatever the faults, once nothing executes: every live disk
// and every file belongs to a saga that succeeded, and each such saga has exactly its 4 disks and 2 files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sagadb/testing/kit.h"

namespace sagadb::testing {

// Params {"tag": "sample"}; params_for(i): {"tag": "s<i>"}.
SagaUnderTest SampleSagaUnderTest();

// The violations of the sample world in an open database whose files are under `dir`/files.
std::vector<std::string> SampleWorldViolations(Database& db, const std::string& dir);

}  // namespace sagadb::testing
