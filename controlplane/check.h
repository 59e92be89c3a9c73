// Check over a store (sagadb/check.h has what it verifies): for the tool and tests, which hold a store rather
// than a Database.
//
//   CheckReport report = Check(*store, VolumesDirFor(store->path()), options);
#pragma once

#include <string>

#include "engine/store.h"
#include "sagadb/check.h"

namespace sagadb {

// An inspection (secondary) store is caught up with its primary when the check starts and again after each group
// of volume shards is listed, so its view is as new as the listing; that is the only change Check makes to
// `store`.
CheckReport Check(Store& store, const std::string& volumes_dir, const CheckOptions& options = {});

}  // namespace sagadb
