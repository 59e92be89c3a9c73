// The disk sagas: disk-create, disk-delete, and the one-node disk-attach / disk-detach, with their actions.
//
//   disk-create (DiskCreateParams)   record   -> volume       -> finalize
//                                    creating    sparse file     creating -> detached
//   disk-delete (DiskDeleteParams)   record   -> volume
//                                    destroyed   file removed
//   disk-attach (DiskAttachParams)   attach        (undo: detach)
//   disk-detach (DiskAttachParams)   detach        (undo: attach)
//
//   Result<SagaHandle> h = executor.Start(DiskCreateDag(), Json(params));
//
// The instance sagas embed disk-create, disk-attach and disk-detach as subsagas, so the rules of each step live
// in one place. Undo rules, and why:
//  - record (create): the disk is destroyed, from detached, faulted or creating (Datastore::kUndoDeletableDisk).
//  - volume (create): the file is removed. It runs after finalize's undo, so the disk is `creating` again by
//    then and no live disk past `creating` is ever without its volume, even in the middle of an unwind.
//  - finalize: detached -> creating, which also keeps the record's delete undo within its allowed states.
//  - attach / detach: the opposite operation, only if the action itself changed the attachment (an attach that
//    found the disk already attached has nothing to give back).
//  - record (delete): the disk comes back in its earlier state, name included (Datastore::StageRestoreDisk).
//    Removing the volume cannot be undone, so it is disk-delete's last step: nothing after it can fail.
#pragma once

#include <string>

#include "sagadb/status.h"
#include "sagadb/action.h"
#include "sagadb/dag.h"

namespace sagadb {

inline constexpr char kDiskCreateSaga[] = "disk-create";
inline constexpr char kDiskDeleteSaga[] = "disk-delete";
inline constexpr char kDiskAttachSaga[] = "disk-attach";
inline constexpr char kDiskDetachSaga[] = "disk-detach";

// Built once; immutable.
const SagaDag& DiskCreateDag();
const SagaDag& DiskDeleteDag();
const SagaDag& DiskAttachDag();
const SagaDag& DiskDetachDag();

// The disk.* actions (see actions.h for their names); volume files go to `volumes_dir`.
Status RegisterDiskActions(ActionRegistry* registry, const std::string& volumes_dir);

}  // namespace sagadb
