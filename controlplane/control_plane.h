// The control plane's sagas started from params the caller planned (PlanInstanceCreate, PlanDiskCreate), so
// that it knows every id before the saga starts: for tests, the benchmark and the crash harness. A program uses
// the request forms of sagadb/control_plane.h.
//
//   InstanceCreateParams params = *PlanInstanceCreate(request);
//   Result<SagaHandle> h = StartInstanceCreate(control_plane, params);   // params.instance_id is the instance
#pragma once

#include "controlplane/params.h"
#include "sagadb/control_plane.h"

namespace sagadb {

// InvalidRequest (nothing written) if the params break a rule of controlplane/requests.h.
Result<SagaHandle> StartInstanceCreate(ControlPlane& control_plane, const InstanceCreateParams& params,
                                       const StartOptions& options = {});
Result<SagaHandle> StartDiskCreate(ControlPlane& control_plane, const DiskCreateParams& params,
                                   const StartOptions& options = {});

}  // namespace sagadb
