#include "sagas/controlplane/actions.h"

#include "sagas/controlplane/disk_sagas.h"
#include "sagas/controlplane/instance_sagas.h"

namespace sagadb {

Status RegisterControlPlaneActions(ActionRegistry* registry) {
  SAGADB_RETURN_IF_ERROR(RegisterDiskActions(registry));
  return RegisterInstanceActions(registry);
}

Result<std::string> VolumesDirOf(const ActionContext& ctx) {
  const auto* app = ctx.app<ControlPlaneContext>();
  if (app == nullptr || app->volumes_dir.empty()) {
    return Status::Internal("the executor has no ControlPlaneContext (volumes directory) as its app context");
  }
  return app->volumes_dir;
}

}  // namespace sagadb
