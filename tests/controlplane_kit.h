// The control plane's sagas as the crash-test kit's sagas under test (sagadb/testing/kit.h).
//
//   sagadb::testing::SagaUnderTest saga = ControlPlaneSagaUnderTest(kInstanceCreateSaga, /*disks=*/11);
//   KitReport report = RunKitInTest(saga);
//
// Each saga acts on records planned here, once, with every id chosen, so that its setup (an instance to delete, a
// disk to attach, ...) and its params agree in every run and in every child process. Its world, as a snapshot:
// the live instances and disks (states, boot disk, attachments as sets) and the volume files. Both checks also
// require Check (quiescent) to find nothing; a succeeded saga must have done what its kind does.
#pragma once

#include <string>

#include "sagadb/testing/kit.h"

namespace sagadb::testing {

// `kind` is one of the control plane's saga kinds (controlplane/instance_sagas.h, disk_sagas.h); `disks` is the
// number of disks of the instance it creates or acts on.
SagaUnderTest ControlPlaneSagaUnderTest(const std::string& kind, int disks = 2);

}  // namespace sagadb::testing
