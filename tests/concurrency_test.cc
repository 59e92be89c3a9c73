// Concurrent callers on the same records (docs/DESIGN.md section 2: serialized on the records they read, no write
// skew). Threads start together behind a latch so their operations overlap; the assertions are about outcomes
// only, never about timing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/datastore_fixture.h"
#include "tests/invariants.h"

namespace sagadb::testing {
namespace {

using ConcurrencyTest = DatastoreTest;

TEST_F(ConcurrencyTest, SixteenThreadsAttachingTwentyDisksToOneInstanceFillExactlyTwelveSlots) {
  constexpr int kThreads = 16;
  constexpr int kDisks = 20;
  Instance vm = NewInstance("vm");
  std::vector<Disk> disks;
  for (int i = 0; i < kDisks; ++i) disks.push_back(NewDisk("d" + std::to_string(i)));
  const uint64_t writes = synced_writes();

  std::vector<std::optional<Result<Disk>>> results(kDisks);
  std::atomic<int> next{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = next++; i < kDisks; i = next++) results[i] = ds_->AttachDisk(disks[i].id, vm.id);
    });
  }
  for (auto& t : threads) t.join();

  std::vector<AttachedDisk> won;
  int refused = 0;
  for (int i = 0; i < kDisks; ++i) {
    ASSERT_TRUE(results[i].has_value());
    const Result<Disk>& r = *results[i];
    if (r.ok()) {
      won.push_back({r->slot, disks[i].id});
      EXPECT_EQ(*r, Reread(disks[i]));
      EXPECT_EQ(r->state, DiskState::kAttached);
      EXPECT_EQ(r->instance_id, vm.id);
    } else {
      ++refused;
      EXPECT_EQ(r.status(), Status::InvalidRequest("cannot attach more than 12 disks"));
      EXPECT_EQ(Reread(disks[i]), disks[i]);
    }
  }
  EXPECT_EQ(won.size(), 12u);
  EXPECT_EQ(refused, 8);
  std::sort(won.begin(), won.end(), [](const auto& a, const auto& b) { return a.slot < b.slot; });
  for (int slot = 0; slot < static_cast<int>(won.size()); ++slot) EXPECT_EQ(won[slot].slot, slot);
  EXPECT_EQ(Reread(vm).attached, won);
  EXPECT_EQ(Reread(vm).generation, vm.generation + 12);
  EXPECT_EQ(synced_writes() - writes, 12u);
  EXPECT_EQ(CheckAttachments(*ds_), std::vector<std::string>{});
}

TEST_F(ConcurrencyTest, TwoThreadsAttachingOneDiskToTwoInstancesHaveExactlyOneWinner) {
  constexpr int kRounds = 50;
  Instance vm[2] = {NewInstance("vm0"), NewInstance("vm1")};
  Disk disk = NewDisk("data");
  int wins[2] = {0, 0};

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::optional<Result<Disk>> result[2];
    std::latch start(2);
    std::thread racers[2];
    for (int t = 0; t < 2; ++t) {
      racers[t] = std::thread([&, t] {
        start.arrive_and_wait();
        result[t] = ds_->AttachDisk(disk.id, vm[t].id);
      });
    }
    for (auto& t : racers) t.join();

    ASSERT_TRUE(result[0].has_value() && result[1].has_value());
    ASSERT_NE(result[0]->ok(), result[1]->ok()) << result[0]->status().ToString() << " / "
                                                << result[1]->status().ToString();
    const int w = result[0]->ok() ? 0 : 1;
    ++wins[w];
    EXPECT_EQ(result[1 - w]->status(), Status::InvalidRequest("disk is attached to another instance"));
    EXPECT_EQ(Reread(disk), **result[w]);
    EXPECT_EQ((**result[w]).instance_id, vm[w].id);
    EXPECT_EQ((**result[w]).slot, 0);
    EXPECT_EQ(Reread(vm[w]).attached, (std::vector<AttachedDisk>{{0, disk.id}}));
    EXPECT_TRUE(Reread(vm[1 - w]).attached.empty());
    ASSERT_EQ(CheckAttachments(*ds_), std::vector<std::string>{});
    Must(ds_->DetachDisk(disk.id, vm[w].id));
  }
  EXPECT_EQ(wins[0] + wins[1], kRounds);
}

// Random attach, detach and delete from several threads over a small pool of disks and instances, so the same
// records are contended and instances fill up. Every outcome must be one the rules allow, and invariant 1 must
// hold over all records at the end.
TEST_F(ConcurrencyTest, RacingAttachDetachAndDeleteKeepsInvariantOne) {
  constexpr int kThreads = 6;
  constexpr int kOpsPerThread = 300;
  constexpr int kInstances = 2;
  constexpr int kDisks = 40;
  std::vector<Instance> instances;
  for (int i = 0; i < kInstances; ++i) instances.push_back(NewInstance("vm" + std::to_string(i)));
  std::vector<Disk> disks;
  for (int i = 0; i < kDisks; ++i) disks.push_back(NewDisk("d" + std::to_string(i)));
  const uint64_t writes = synced_writes();

  std::mutex mu;
  std::vector<std::string> unexpected;  // guarded by mu
  std::map<std::string, int> outcomes;  // guarded by mu
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      std::uniform_int_distribution<int> pick_op(0, 99), pick_disk(0, kDisks - 1), pick_vm(0, kInstances - 1);
      start.arrive_and_wait();
      for (int n = 0; n < kOpsPerThread; ++n) {
        const int op = pick_op(rng);
        const Uuid disk = disks[pick_disk(rng)].id;
        const Uuid vm = instances[pick_vm(rng)].id;
        std::string what;
        Status s;
        if (op < 62) {
          what = "attach";
          s = ds_->AttachDisk(disk, vm).status();
        } else if (op < 96) {
          what = "detach";
          s = ds_->DetachDisk(disk, vm).status();
        } else {
          what = "delete";
          // A delete takes the name's lock after the disk's; a lock-order conflict is retried inside.
          s = ds_->DeleteDisk(disk).status();
        }
        const std::string not_found = "disk " + disk.ToString() + " not found";
        const bool allowed =
            s.ok() || s == Status::NotFound(not_found) ||
            (what != "delete" && s == Status::InvalidRequest("disk is attached to another instance")) ||
            (what == "attach" && s == Status::InvalidRequest("cannot attach more than 12 disks")) ||
            (what == "delete" && s == Status::InvalidRequest("disk cannot be deleted in state \"attached\""));
        std::lock_guard lock(mu);
        ++outcomes[what + ": " + (s.ok() ? "OK" : std::string(ToString(s.code())) + " " +
                                                      (s.IsNotFound() ? "not found" : s.message()))];
        if (!allowed) unexpected.push_back(what + " -> " + s.ToString());
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(unexpected, std::vector<std::string>{});
  EXPECT_EQ(CheckAttachments(*ds_), std::vector<std::string>{});
  // The race really exercised the rules it claims to: each of these outcomes happened at least once.
  for (const char* seen : {
           "attach: OK",
           "detach: OK",
           "delete: OK",
           "attach: InvalidRequest cannot attach more than 12 disks",
           "attach: InvalidRequest disk is attached to another instance",
           "delete: InvalidRequest disk cannot be deleted in state \"attached\"",
       }) {
    EXPECT_GT(outcomes[seen], 0) << seen;
  }
  // No lost update: every synced write bumped exactly one disk's generation by one (attach, detach and delete
  // each change one disk), and every write but a delete bumped its instance's generation too. Two racers that
  // read the same generation and both wrote would leave these sums short.
  uint64_t disk_bumps = 0, instance_bumps = 0, deleted = 0;
  for (const Disk& d : disks) {
    const Disk now = Reread(d);
    disk_bumps += now.generation - d.generation;
    deleted += now.state == DiskState::kDestroyed;
  }
  for (const Instance& i : instances) instance_bumps += Reread(i).generation - i.generation;
  EXPECT_EQ(disk_bumps, synced_writes() - writes);
  EXPECT_EQ(instance_bumps, synced_writes() - writes - deleted);
}

}  // namespace
}  // namespace sagadb::testing
