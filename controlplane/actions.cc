#include "controlplane/actions.h"

#include "controlplane/disk_sagas.h"
#include "controlplane/instance_sagas.h"

namespace sagadb {

Status RegisterControlPlaneActions(ActionRegistry* registry, const std::string& volumes_dir) {
  SAGADB_RETURN_IF_ERROR(RegisterDiskActions(registry, volumes_dir));
  return RegisterInstanceActions(registry);
}

}  // namespace sagadb
