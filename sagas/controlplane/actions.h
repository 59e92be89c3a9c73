// The control-plane actions, registered by name (the names are stored in saga records: never rename one).
//
//   ActionRegistry registry;
//   SAGADB_RETURN_IF_ERROR(RegisterControlPlaneActions(&registry));
//   SagaExecutor executor(&datastore, &registry, ExecutorOptions{},
//                         std::any(ControlPlaneContext{VolumesDirFor(store->path())}));
//
// (ControlPlane, in control_plane.h, does exactly this for a program that embeds it.)
//
// Local actions only stage writes into ctx.txn() through the Datastore Stage* functions; the executor commits
// them with the node's outcome. External actions (the volume files) are idempotent and leave nothing behind
// when they fail.
#pragma once

#include <string>

#include "engine/status.h"
#include "sagas/action.h"
#include "sagas/controlplane/params.h"

namespace sagadb {

// What control-plane actions need from the program: the executor's app context holds one, by value.
struct ControlPlaneContext {
  std::string volumes_dir;  // <database dir>/volumes
};

namespace actions {
inline constexpr char kDiskCreateRecord[] = "disk.create_record";
inline constexpr char kDiskCreateVolume[] = "disk.create_volume";
inline constexpr char kDiskFinalize[] = "disk.finalize";
inline constexpr char kDiskDeleteRecord[] = "disk.delete_record";
inline constexpr char kDiskRemoveVolume[] = "disk.remove_volume";
inline constexpr char kDiskAttach[] = "disk.attach";
inline constexpr char kDiskDetach[] = "disk.detach";
inline constexpr char kInstanceCreateRecord[] = "instance.create_record";
inline constexpr char kInstanceSetBootDisk[] = "instance.set_boot_disk";
inline constexpr char kInstanceMarkStopped[] = "instance.mark_stopped";
inline constexpr char kInstanceClearBootDisk[] = "instance.clear_boot_disk";
inline constexpr char kInstanceDeleteRecord[] = "instance.delete_record";
}  // namespace actions

// Registers every action above. InvalidRequest if one of the names is already taken.
Status RegisterControlPlaneActions(ActionRegistry* registry);

// The saga params converted to T, for actions (InvalidRequest naming the node if they do not fit).
template <typename T>
Result<T> ParamsOf(const ActionContext& ctx) {
  auto p = ctx.Params<T>();
  if (!p.ok()) return Status::InvalidRequest(fmt::format("{}: {}", ctx.node_name(), p.status().message()));
  return p;
}

// The volumes directory from the executor's app context (Internal if the executor was built without one).
Result<std::string> VolumesDirOf(const ActionContext& ctx);

}  // namespace sagadb
