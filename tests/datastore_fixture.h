// DatastoreTest: a fresh database in a scratch directory, with helpers that bring records into a given state
// through the public API (so every record a test starts from is one the datastore itself could have written).
//
//   TEST_F(DatastoreTest, Something) {
//     Instance vm = NewInstance("vm", InstanceState::kStopped);
//     Disk data = NewDisk("data", DiskState::kDetached);
//     const uint64_t writes = synced_writes();
//     ...
//   }
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "controlplane/datastore.h"
#include "engine/key_locks.h"
#include "engine/store.h"
#include "engine/write_txn.h"
#include "tests/test_util.h"

namespace sagadb::testing {

inline constexpr char kProject[] = "project";

// Names the instances of a test parameterized over one state by that state ("faulted", "stopping").
struct StateName {
  template <typename State>
  std::string operator()(const ::testing::TestParamInfo<State>& info) const {
    return std::string(ToString(info.param));
  }
};

class DatastoreTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Closes the store and opens it again on the same directory.
  void Reopen();
  void Close();

  // An instance created in `project` and moved to `state` (any state but destroyed).
  Instance NewInstance(const std::string& name, InstanceState state = InstanceState::kStopped,
                       const std::string& project = kProject);
  // A disk created in `project` and moved to `state` (creating, detached, maintenance or faulted).
  Disk NewDisk(const std::string& name, DiskState state = DiskState::kDetached,
               const std::string& project = kProject);
  // A detached disk attached to the instance (which must accept it).
  Disk NewAttachedDisk(const std::string& name, const Instance& instance);

  Instance Reread(const Instance& r) const { return Must(ds_->GetInstance(r.id)); }
  Disk Reread(const Disk& r) const { return Must(ds_->GetDisk(r.id)); }

  uint64_t synced_writes() const { return store_->synced_writes(); }

  // A txn on the store, with the datastore's record locks.
  WriteTxn NewTxn() { return WriteTxn(store_.get(), &locks_); }
  // A table of the store ("disks", "meta", ...); the test fails (throws) if there is none.
  TableId Table(std::string_view name) const { return Must(store_->FindTable(name)); }

  // The store's config for this database: the control plane's tables.
  StoreConfig Config(OpenMode mode = OpenMode::kReadWrite) const;

  ScratchDir dir_;
  std::string path_;
  KeyLocks locks_;  // the record locks of every txn on store_
  std::unique_ptr<Store> store_;
  std::unique_ptr<Datastore> ds_;
};

}  // namespace sagadb::testing
