// Injected store failures (engine/fault_injector.h). A mutation whose write fails, transiently or permanently,
// returns that error and leaves nothing of itself: every record and name entry is byte-identical to before.
// A failed read fails the operation before it writes. Either way the same operation then succeeds, so a
// failure leaves no lock held and nothing half-done.
#include "engine/fault_injector.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <tuple>

#include "tests/datastore_fixture.h"
#include "tests/invariants.h"

namespace sagadb::testing {
namespace {

enum class Op { kAttach, kDetach, kCreateDisk, kCreateInstance, kDeleteDisk, kDeleteInstance };

std::string OpName(Op op) {
  switch (op) {
    case Op::kAttach: return "attach";
    case Op::kDetach: return "detach";
    case Op::kCreateDisk: return "create_disk";
    case Op::kCreateInstance: return "create_instance";
    case Op::kDeleteDisk: return "delete_disk";
    case Op::kDeleteInstance: return "delete_instance";
  }
  return "unknown";
}

const Op kOps[] = {Op::kAttach,         Op::kDetach,     Op::kCreateDisk,
                   Op::kCreateInstance, Op::kDeleteDisk, Op::kDeleteInstance};

struct Injected {
  const char* label;
  Status error;
};

const Injected kErrors[] = {
    {"transient", Status::Transient("injected: all claims are used")},
    {"invalid_request", Status::InvalidRequest("injected: permanent refusal")},
    {"internal", Status::Internal("injected: permanent failure")},
};

class FaultTest : public DatastoreTest {
 protected:
  // Creates what `op` needs and returns the operation, ready to run (and to run again).
  std::function<Status()> Prepare(Op op) {
    switch (op) {
      case Op::kAttach: {
        Instance vm = NewInstance("vm");
        Disk disk = NewDisk("data");
        return [=, this] { return ds_->AttachDisk(disk.id, vm.id).status(); };
      }
      case Op::kDetach: {
        Instance vm = NewInstance("vm");
        NewAttachedDisk("other", vm);
        Disk disk = NewAttachedDisk("data", vm);
        return [=, this] { return ds_->DetachDisk(disk.id, vm.id).status(); };
      }
      case Op::kCreateDisk: {
        DiskSpec spec{Uuid::Generate(), kProject, "data", 1 << 30, std::nullopt};
        return [=, this] { return ds_->CreateDisk(spec).status(); };
      }
      case Op::kCreateInstance: {
        InstanceSpec spec{Uuid::Generate(), kProject, "vm", 2, 1 << 30, std::nullopt};
        return [=, this] { return ds_->CreateInstance(spec).status(); };
      }
      case Op::kDeleteDisk: {
        Disk disk = NewDisk("data", DiskState::kFaulted);
        return [=, this] { return ds_->DeleteDisk(disk.id).status(); };
      }
      case Op::kDeleteInstance: {
        Instance vm = NewInstance("vm", InstanceState::kFailed);
        return [=, this] { return ds_->DeleteInstance(vm.id).status(); };
      }
    }
    return [] { return Status::Internal("unknown op"); };
  }
};

class FailedWriteTest : public FaultTest, public ::testing::WithParamInterface<std::tuple<Op, Injected>> {};

TEST_P(FailedWriteTest, ReturnsTheErrorAndLeavesEveryRecordAndNameAsBefore) {
  const auto& [op_kind, injected] = GetParam();
  std::function<Status()> op = Prepare(op_kind);
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();
  const uint64_t attempts = store_->write_attempts();
  FaultInjector faults;
  faults.FailWrite(attempts + 1, injected.error);
  store_->SetHooks(&faults);

  Status s = op();

  store_->SetHooks(nullptr);
  EXPECT_EQ(s, injected.error);
  EXPECT_EQ(faults.injected_failures(), 1u);
  EXPECT_EQ(store_->write_attempts(), attempts + 1);  // the write was reached, and refused
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);  // records and the names index alike
  EXPECT_EQ(CheckAttachments(*ds_), std::vector<std::string>{});

  EXPECT_EQ(op(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
}

INSTANTIATE_TEST_SUITE_P(OpsAndErrors, FailedWriteTest,
                         ::testing::Combine(::testing::ValuesIn(kOps), ::testing::ValuesIn(kErrors)),
                         [](const auto& info) {
                           return OpName(std::get<0>(info.param)) + "_" + std::get<1>(info.param).label;
                         });

class FailedReadTest : public FaultTest, public ::testing::WithParamInterface<Op> {};

TEST_P(FailedReadTest, ATransientReadFailureFailsTheOperationBeforeItWrites) {
  std::function<Status()> op = Prepare(GetParam());
  const auto before = RawContents(*store_);
  const uint64_t writes = synced_writes();
  const uint64_t attempts = store_->write_attempts();
  FaultInjector faults;
  faults.SetTransientRate(1.0, /*seed=*/7);
  store_->SetHooks(&faults);

  Status s = op();

  store_->SetHooks(nullptr);
  EXPECT_EQ(s, Status::Transient("injected: all claims are used (read)"));
  EXPECT_TRUE(s.IsRetryable());
  EXPECT_EQ(faults.injected_failures(), 1u);
  EXPECT_EQ(store_->write_attempts(), attempts);  // no write was even tried
  EXPECT_EQ(synced_writes(), writes);
  EXPECT_EQ(RawContents(*store_), before);

  EXPECT_EQ(op(), Status::OK());
  EXPECT_EQ(synced_writes() - writes, 1u);
}

INSTANTIATE_TEST_SUITE_P(Ops, FailedReadTest, ::testing::ValuesIn(kOps),
                         [](const auto& info) { return OpName(info.param); });

}  // namespace
}  // namespace sagadb::testing
