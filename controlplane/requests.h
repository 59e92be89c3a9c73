// What a caller asks the control plane for, checked and turned into saga params with every id chosen.
//
//   InstanceCreateRequest req{"proj", "web-1", 2, 4ull << 30, {{"boot", 10ull << 30}, {"data", 1ull << 40}}};
//   Result<InstanceCreateParams> params = PlanInstanceCreate(req);   // InvalidRequest, or params with ids
//
// Everything that can be refused from the request alone is refused here, before a saga is started and before
// anything is written. What depends on the database (a name already taken) is found by the saga, which then
// unwinds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controlplane/params.h"
#include "sagadb/control_plane.h"
#include "sagadb/status.h"

namespace sagadb {

// Names valid (controlplane/names.h), cpus, memory and every size > 0, at most 12 disks, no two disks with one name.
// Fresh ids for the instance and each disk.
Result<InstanceCreateParams> PlanInstanceCreate(const InstanceCreateRequest& request);
Result<DiskCreateParams> PlanDiskCreate(const DiskCreateRequest& request);

// The same rules over params (for callers that built their own), plus: ids present and distinct.
Status ValidateInstanceCreate(const InstanceCreateParams& params);
Status ValidateDiskCreate(const DiskCreateParams& params);

}  // namespace sagadb
