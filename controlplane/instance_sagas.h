// The instance sagas: instance-create (with its disks) and instance-delete, with their actions.
//
//   instance-create (InstanceCreateParams, N = disks.size() <= 12):
//     instance + disk_<i>_params          create the instance record (`creating`); one constant per disk
//     disk_<i>  (N in parallel)           disk-create subsagas: record, volume, finalize
//     attach_<i> (N in parallel)          disk-attach subsagas
//     set_boot                            disks[0] becomes the boot disk          (only if N > 0)
//     stop                                creating -> stopped
//
//   instance-delete (InstanceDeleteParams):
//     clear_boot + disk_<i>_params        refuses unless stopped or failed; clears the boot disk
//     detach_<i> (in parallel)            disk-detach subsagas
//     delete                              the instance record becomes destroyed (its disks stay, detached)
//
//   SAGADB_ASSIGN_OR_RETURN(SagaDag dag, InstanceCreateDag(params));
//   executor.Start(dag, Json(params));
//
// Undo order follows the DAG, which is what makes each undo legal: set_boot's undo (clear the boot disk) runs
// before the attach undos (a boot disk cannot be detached), those run before finalize's undo and the disk
// record's delete, and the instance record's delete runs last, when no disk is attached. `stop` is the last
// node, so its undo (stopped -> creating) never runs in this DAG; it exists so that a later step added after it
// would still unwind into states the instance record's undo accepts. `delete` likewise is last and has none.
#pragma once

#include "sagadb/status.h"
#include "sagadb/action.h"
#include "controlplane/params.h"
#include "sagadb/dag.h"

namespace sagadb {

inline constexpr char kInstanceCreateSaga[] = "instance-create";
inline constexpr char kInstanceDeleteSaga[] = "instance-delete";

// REQUIRES: params validated (ValidateInstanceCreate). The shape depends on the number of disks.
Result<SagaDag> InstanceCreateDag(const InstanceCreateParams& params);
Result<SagaDag> InstanceDeleteDag(const InstanceDeleteParams& params);

// The instance.* actions (see actions.h for their names).
Status RegisterInstanceActions(ActionRegistry* registry);

}  // namespace sagadb
