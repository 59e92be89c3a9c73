// The control-plane actions, registered by name (the names are stored in saga records: never rename one).
//
//   ActionRegistry registry;
//   SAGADB_RETURN_IF_ERROR(RegisterControlPlaneActions(&registry, VolumesDirFor(database_path)));
//
// (ControlPlaneDomain, in sagadb/control_plane.h, does exactly this when a database opens.)
//
// Local actions only stage writes into ctx.txn() through the Datastore Stage* functions; the executor commits
// them with the node's outcome. External actions (the volume files) are idempotent and leave nothing behind
// when they fail.
#pragma once

#include <fmt/format.h>

#include <string>

#include "sagadb/status.h"
#include "sagadb/action.h"
#include "controlplane/params.h"

namespace sagadb {

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

// Registers every action above; the volume actions make their files in `volumes_dir`. InvalidRequest if one of
// the names is already taken.
Status RegisterControlPlaneActions(ActionRegistry* registry, const std::string& volumes_dir);

// The saga params converted to T, for actions (InvalidRequest naming the node if they do not fit).
template <typename T>
Result<T> ParamsOf(const ActionContext& ctx) {
  auto p = ctx.Params<T>();
  if (!p.ok()) return Status::InvalidRequest(fmt::format("{}: {}", ctx.node_name(), p.status().message()));
  return p;
}

}  // namespace sagadb
