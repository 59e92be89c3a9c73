// StoreHooks: the fault-injection seam around Store::Write and Store::Get.
//
// Production code never sets hooks. Tests and the overload scenario use engine/fault_injector.h, which makes
// the Nth write fail (transient or permanent) without writing anything, makes a fraction of operations fail
// transiently, or ends the process abruptly right before or right after the Nth synced write.
#pragma once

#include <cstdint>

#include "sagadb/status.h"

namespace sagadb {

class StoreHooks {
 public:
  virtual ~StoreHooks() = default;
  // Called before write number n (1-based, counting every Write call of this Store; 0 is the open's own
  // metadata write, seen by hooks given in StoreConfig). A non-OK status skips the write: nothing of the batch
  // is applied and Write (or the open) returns that status.
  virtual Status BeforeWrite(uint64_t n) = 0;
  // Called after write number n reached RocksDB successfully (and, when syncing, the disk).
  virtual void AfterWrite(uint64_t n) = 0;
  // Called before every point read. A non-OK status is returned instead of the value.
  virtual Status BeforeRead() { return Status::OK(); }
};

}  // namespace sagadb
