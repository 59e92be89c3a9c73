// SagaFootprint: the instances and disks a control-plane saga acts on, read from its kind and stored params.
//
//   SagaFootprint f = FootprintOf(record.kind, params);
//   // f.disks: every disk the saga may create, attach, detach or delete
//
// `check` uses it to tell a state a running saga is passing through (a destroyed disk whose volume a
// disk-delete is about to remove) from one that no saga will ever fix.
#pragma once

#include <string_view>
#include <vector>

#include "controlplane/params.h"
#include "sagadb/uuid.h"

namespace sagadb {

struct SagaFootprint {
  std::vector<Uuid> instances;
  std::vector<Uuid> disks;
};

// Empty for a kind that is not a control-plane saga's, or params that do not fit the kind.
SagaFootprint FootprintOf(std::string_view kind, const Json& params);

}  // namespace sagadb
