// WriteTxn: the staged writes of one operation (or of one saga node) and the record locks that make them safe.
// What a saga's local action relies on: later stages see earlier ones, nothing is visible before the commit,
// the commit is one synced write that lands whole or not at all, and locks never deadlock.
#include "engine/write_txn.h"

#include <gtest/gtest.h>

#include "engine/fault_injector.h"
#include "tests/datastore_fixture.h"
#include "tests/invariants.h"

namespace sagadb::testing {
namespace {

using WriteTxnTest = DatastoreTest;

DiskSpec Spec(const std::string& name) { return DiskSpec{Uuid::Generate(), kProject, name, 1 << 30, std::nullopt}; }

TEST_F(WriteTxnTest, LaterStagesSeeEarlierOnesAndTheCommitIsOneSyncedWrite) {
  Instance vm = NewInstance("vm", InstanceState::kCreating);
  const DiskSpec spec = Spec("data");
  const uint64_t writes = synced_writes();
  WriteTxn txn = NewTxn();

  ASSERT_EQ(Datastore::StageCreateDisk(txn, spec).status(), Status::OK());
  auto attached = Datastore::StageAttachDisk(txn, spec.id, vm.id);
  ASSERT_EQ(attached.status(), Status::OK());
  EXPECT_TRUE(ds_->GetDisk(spec.id).status().IsNotFound());  // nothing visible before the commit
  EXPECT_EQ(synced_writes(), writes);
  ASSERT_EQ(txn.Commit(), Status::OK());

  EXPECT_EQ(synced_writes() - writes, 1u);
  EXPECT_EQ(Must(ds_->GetDisk(spec.id)), *attached);
  EXPECT_EQ(attached->generation, 2u);  // created, then attached, in one batch
  EXPECT_EQ(attached->slot, 0);
  EXPECT_EQ(Reread(vm).attached, (std::vector<AttachedDisk>{{0, spec.id}}));
}

TEST_F(WriteTxnTest, AKeyDeletedInTheTxnReadsAsAbsentInTheSameTxn) {
  Disk old = NewDisk("data");
  const DiskSpec fresh = Spec("data");
  WriteTxn txn = NewTxn();

  ASSERT_EQ(Datastore::StageDeleteDisk(txn, old.id, Datastore::kApiDeletableDisk).status(), Status::OK());
  // The name was freed by the staged delete, so a create of the same name in the same txn may take it.
  ASSERT_EQ(Datastore::StageCreateDisk(txn, fresh).status(), Status::OK());
  ASSERT_EQ(txn.Commit(), Status::OK());

  EXPECT_EQ(Must(ds_->LookupDisk(kProject, "data")), fresh.id);
  EXPECT_EQ(Reread(old).state, DiskState::kDestroyed);
}

TEST_F(WriteTxnTest, ADiscardedTxnWritesNothingAndReleasesItsLocks) {
  Instance vm = NewInstance("vm");
  Disk disk = NewDisk("data");
  const auto before = RawContents(*store_);
  {
    WriteTxn txn = NewTxn();
    ASSERT_EQ(Datastore::StageAttachDisk(txn, disk.id, vm.id).status(), Status::OK());
    EXPECT_TRUE(txn.Holds(disk.id.AsBytes()));
    EXPECT_TRUE(txn.Holds(vm.id.AsBytes()));
  }

  EXPECT_EQ(RawContents(*store_), before);
  for (const Uuid& id : {disk.id, vm.id}) {
    const size_t stripe = locks_.StripeOf(id.AsBytes());
    ASSERT_TRUE(locks_.TryLock(stripe));
    locks_.Unlock(stripe);
  }
}

TEST_F(WriteTxnTest, AFailedCommitOfSeveralStagedMutationsLeavesNoneOfThem) {
  Instance vm = NewInstance("vm", InstanceState::kCreating);
  Disk existing = NewDisk("existing", DiskState::kCreating);
  const DiskSpec spec = Spec("data");
  const auto before = RawContents(*store_);
  FaultInjector faults;
  faults.FailWrite(store_->write_attempts() + 1, Status::Transient("injected: all claims are used"));
  store_->SetHooks(&faults);
  Status commit;
  {
    WriteTxn txn = NewTxn();
    ASSERT_EQ(Datastore::StageCreateDisk(txn, spec).status(), Status::OK());
    ASSERT_EQ(Datastore::StageAttachDisk(txn, spec.id, vm.id).status(), Status::OK());
    ASSERT_EQ(Datastore::StageAttachDisk(txn, existing.id, vm.id).status(), Status::OK());
    const InstanceState from[] = {InstanceState::kCreating};
    ASSERT_EQ(Datastore::StageSetInstanceState(txn, vm.id, from, InstanceState::kStopped).status(), Status::OK());
    commit = txn.Commit();
  }
  store_->SetHooks(nullptr);

  EXPECT_EQ(commit, Status::Transient("injected: all claims are used"));
  EXPECT_EQ(RawContents(*store_), before);
  EXPECT_EQ(CheckAttachments(*ds_), std::vector<std::string>{});
}

TEST_F(WriteTxnTest, LockingALowerStripeThatIsBusyFailsTransientlyInsteadOfWaiting) {
  // Two ids whose stripes are distinct, `low` below `high`.
  Uuid low = Uuid::Generate(), high = Uuid::Generate();
  while (locks_.StripeOf(low.AsBytes()) == locks_.StripeOf(high.AsBytes())) high = Uuid::Generate();
  if (locks_.StripeOf(low.AsBytes()) > locks_.StripeOf(high.AsBytes())) std::swap(low, high);
  WriteTxn first = NewTxn();
  ASSERT_EQ(first.Lock(low), Status::OK());
  WriteTxn second = NewTxn();
  ASSERT_EQ(second.Lock(high), Status::OK());

  // Waiting here could deadlock with a txn that holds `low` and wants `high`; the txn refuses instead.
  EXPECT_EQ(second.Lock(low),
            Status::Transient("record lock busy (taken out of order); retry the operation"));
  EXPECT_TRUE(second.Holds(high.AsBytes()));
  EXPECT_FALSE(second.Holds(low.AsBytes()));
  EXPECT_TRUE(first.Holds(low.AsBytes()));
}

TEST_F(WriteTxnTest, LockingALowerStripeThatIsFreeSucceeds) {
  Uuid low = Uuid::Generate(), high = Uuid::Generate();
  while (locks_.StripeOf(low.AsBytes()) == locks_.StripeOf(high.AsBytes())) high = Uuid::Generate();
  if (locks_.StripeOf(low.AsBytes()) > locks_.StripeOf(high.AsBytes())) std::swap(low, high);
  WriteTxn txn = NewTxn();
  ASSERT_EQ(txn.Lock(high), Status::OK());

  EXPECT_EQ(txn.Lock(low), Status::OK());
  EXPECT_TRUE(txn.Holds(low.AsBytes()));
  EXPECT_TRUE(txn.Holds(high.AsBytes()));
}

}  // namespace
}  // namespace sagadb::testing
