// Check finds each kind of damage, built by hand, names the records involved, and finds nothing in a healthy
// database.
#include "controlplane/check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/batch.h"
#include "controlplane/volumes.h"
#include "log/saga_index.h"
#include "schema/codec.h"
#include "tests/controlplane_test_util.h"
#include "tests/history_test_util.h"

namespace sagadb {
namespace {

using testing::InstanceRequest;
using testing::kDiskSize;
using testing::kProject;
using testing::Must;

class CheckTest : public testing::ControlPlaneTest {
 protected:
  // An instance-create that fails at its last step and whose undo of the instance record fails for good.
  SagaResult StuckInstanceCreate(const InstanceCreateParams& params) {
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAction("stop", Status::InvalidRequest("injected"));
    plan->FailUndo("instance", Status::Conflict("injected: forever"), FaultPlan::kAlways);
    executor().SetFaultPlan(plan);
    return Wait(CreateInstance(params));
  }

  // Writes (or deletes) a value of the table named `table` behind the control plane's back.
  void Put(std::string_view table, std::string_view key, std::string_view value) {
    Batch batch;
    batch.Put(Must(store_->FindTable(table)), key, value);
    const Status s = store_->Write(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Delete(std::string_view table, std::string_view key) {
    Batch batch;
    batch.Delete(Must(store_->FindTable(table)), key);
    const Status s = store_->Write(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Put(const Instance& i) { Put(kInstancesTable, i.id.AsBytes(), Encode(i)); }
  void Put(const Disk& d) { Put(kDisksTable, d.id.AsBytes(), Encode(d)); }
  // A saga record as the saga log writes one, with its index entries (those of the record it replaces go).
  void Put(const SagaRecord& r) {
    Batch batch;
    if (auto old = SagaLog(store_).ReadRecord(r.id); old.ok()) StageUnindex(&batch, *old);
    SagaLog(store_).StageRecord(&batch, r);
    const Status s = store_->Write(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  Instance GetInstance(const Uuid& id) { return *datastore_->GetInstance(id); }
  Disk GetDisk(const Uuid& id) { return *datastore_->GetDisk(id); }

  CheckReport Run(bool quiescent) {
    CheckOptions o;
    o.quiescent = quiescent;
    return Check(*store_, cp_->volumes_dir(), o);
  }

  // The report has a violation of `kind` naming every one of `ids`, and (if `only`) no violation of any other
  // kind.
  static void ExpectViolation(const CheckReport& report, const std::string& kind, std::vector<Uuid> ids,
                              bool only = true) {
    bool found = false;
    for (const auto& f : report.violations) {
      if (only) {
        EXPECT_EQ(f.kind, kind) << Describe(report);
      }
      bool all = f.kind == kind;
      for (const auto& id : ids) all = all && std::find(f.ids.begin(), f.ids.end(), id.ToString()) != f.ids.end();
      found = found || all;
    }
    EXPECT_TRUE(found) << "no " << kind << " violation naming all ids in:\n" << Describe(report);
  }

  static bool HasNote(const CheckReport& report, const std::string& kind, const Uuid& id) {
    for (const auto& f : report.notes) {
      if (f.kind == kind && std::find(f.ids.begin(), f.ids.end(), id.ToString()) != f.ids.end()) return true;
    }
    return false;
  }

  // An instance-create that fails at its last node, so everything it made was undone.
  std::pair<InstanceCreateParams, Uuid> FailedInstanceCreate(const std::string& name) {
    auto params = *PlanInstanceCreate(InstanceRequest(name, 2));
    auto plan = std::make_shared<FaultPlan>();
    plan->FailAction("stop", Status::InvalidRequest("injected"));
    executor().SetFaultPlan(plan);
    SagaResult r = Wait(CreateInstance(params));
    executor().SetFaultPlan(nullptr);
    EXPECT_EQ(r.state, SagaState::kFailed);
    return {params, r.id};
  }

  // A saga record in `state` with no events, acting on the given params (kind decides how they are read).
  SagaRecord FakeSaga(const std::string& kind, const Json& params, SagaState state) {
    SagaRecord rec;
    rec.id = Uuid::Generate();
    rec.kind = kind;
    rec.nodes = {DagNode{"only", NodeKind::kAction, "disk.delete_record", "", {}, 0, -1}};
    rec.scopes = {DagScope{"", 0, -1}};
    rec.params = params.dump();
    rec.state = state;
    rec.generation = 1;
    Put(rec);
    return rec;
  }
};

TEST_F(CheckTest, AHealthyDatabaseReportsNothing) {
  EXPECT_TRUE(Run(true).ok());
  auto a = CreateInstanceOk("a", 3);
  CreateInstanceOk("b", 0);
  auto d = CreateDiskOk("loose");
  FailedInstanceCreate("failed");
  ASSERT_EQ(Wait(cp_->DeleteInstance(a.instance_id)).state, SagaState::kSucceeded);
  ASSERT_EQ(Wait(cp_->DeleteDisk(d.disk_id)).state, SagaState::kSucceeded);
  CheckReport report = Run(true);
  EXPECT_TRUE(report.ok()) << Describe(report);
  EXPECT_TRUE(report.notes.empty()) << Describe(report);
  EXPECT_EQ(report.instances, 3u);
  EXPECT_EQ(report.volumes, 3u);  // a's three disks, detached
}

// --- 1. attachments

TEST_F(CheckTest, AnInspectionStoreOpenedEarlierSeesRecordsAsNewAsTheVolumesItLists) {
  CreateDiskOk("before");
  StoreConfig so;
  so.path = store_->path();
  so.mode = OpenMode::kSecondary;
  auto inspection = Store::Open(so);
  ASSERT_TRUE(inspection.ok()) << inspection.status().ToString();
  // Created after the inspection store's view was taken: its volume is listed, so its record must be seen too.
  DiskCreateParams later = CreateDiskOk("after");
  CheckOptions o;
  o.quiescent = true;
  CheckReport report = Check(**inspection, cp_->volumes_dir(), o);
  EXPECT_TRUE(report.ok()) << Describe(report);
  EXPECT_EQ(report.disks, 2u);
  EXPECT_EQ(report.volumes, 2u);
  auto reader = Datastore::Open(inspection->get());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_TRUE((*reader)->GetDisk(later.disk_id).ok());
}

TEST_F(CheckTest, ADiskAttachedToAnInstanceThatDoesNotListItIsReported) {
  auto a = CreateInstanceOk("a", 1);
  auto x = CreateDiskOk("x");
  Disk d = GetDisk(x.disk_id);
  d.state = DiskState::kAttached;
  d.instance_id = a.instance_id;
  d.slot = 5;
  Put(d);
  ExpectViolation(Run(true), check_kind::kAttachment, {x.disk_id, a.instance_id});
}

TEST_F(CheckTest, AnInstanceListingADiskThatIsNotAttachedToItIsReported) {
  auto a = CreateInstanceOk("a", 1);
  auto x = CreateDiskOk("x");
  Instance i = GetInstance(a.instance_id);
  i.attached.push_back(AttachedDisk{1, x.disk_id});
  Put(i);
  ExpectViolation(Run(true), check_kind::kAttachment, {a.instance_id, x.disk_id});
}

TEST_F(CheckTest, DuplicateAndOutOfRangeSlotsAreReported) {
  auto a = CreateInstanceOk("a", 2);
  Instance i = GetInstance(a.instance_id);
  const Uuid second = i.attached[1].disk_id;  // (which disk got slot 1 depends on which attach ran first)
  i.attached[1].slot = 0;
  Put(i);
  ExpectViolation(Run(true), check_kind::kAttachment, {a.instance_id, second});

  auto b = CreateInstanceOk("b", 1);
  Disk d = GetDisk(b.disks[0].disk_id);
  Instance j = GetInstance(b.instance_id);
  d.slot = 12;
  j.attached[0].slot = 12;
  Put(d);
  Put(j);
  ExpectViolation(Run(true), check_kind::kAttachment, {b.disks[0].disk_id, b.instance_id});
}

TEST_F(CheckTest, MoreThanTwelveDisksOnOneInstanceIsReported) {
  auto a = CreateInstanceOk("a", 12);
  auto x = CreateDiskOk("x");
  Instance i = GetInstance(a.instance_id);
  Disk d = GetDisk(x.disk_id);
  i.attached.push_back(AttachedDisk{11, x.disk_id});  // (12 is not a slot: the count is what this test is about)
  d.state = DiskState::kAttached;
  d.instance_id = a.instance_id;
  d.slot = 11;
  Put(i);
  Put(d);
  CheckReport report = Run(true);
  ExpectViolation(report, check_kind::kAttachment, {a.instance_id});
  EXPECT_NE(Describe(report).find("13 disks attached, more than 12"), std::string::npos) << Describe(report);
}

TEST_F(CheckTest, ADiskAttachedToADestroyedOrMissingInstanceIsReported) {
  auto a = CreateInstanceOk("a", 1);
  Instance i = GetInstance(a.instance_id);
  i.state = InstanceState::kDestroyed;
  Put(i);
  ExpectViolation(Run(true), check_kind::kAttachment, {a.disks[0].disk_id, a.instance_id});

  Delete(kInstancesTable, a.instance_id.AsBytes());
  CheckReport report = Run(true);
  ExpectViolation(report, check_kind::kAttachment, {a.disks[0].disk_id, a.instance_id});
  EXPECT_NE(Describe(report).find("does not exist"), std::string::npos);
}

TEST_F(CheckTest, ABootDiskThatIsNotAttachedIsReported) {
  auto a = CreateInstanceOk("a", 0);
  auto x = CreateDiskOk("x");
  Instance i = GetInstance(a.instance_id);
  i.boot_disk_id = x.disk_id;
  Put(i);
  ExpectViolation(Run(true), check_kind::kAttachment, {a.instance_id, x.disk_id});
}

// --- 2. leaks of failed sagas

TEST_F(CheckTest, ARecordOrVolumeLeftByAFailedSagaIsALeak) {
  auto [params, saga] = FailedInstanceCreate("f");
  ASSERT_TRUE(Run(true).ok());

  Disk d = GetDisk(params.disks[1].disk_id);
  d.state = DiskState::kDetached;
  Put(d);
  ASSERT_TRUE(CreateVolume(cp_->volumes_dir(), d.id, kDiskSize).ok());  // whole, but it should not be there
  ExpectViolation(Run(true), check_kind::kLeak, {d.id, saga});
  d.state = DiskState::kDestroyed;
  Put(d);
  ASSERT_TRUE(RemoveVolume(cp_->volumes_dir(), d.id).ok());

  Instance i = GetInstance(params.instance_id);
  i.state = InstanceState::kStopped;
  Put(i);
  ExpectViolation(Run(true), check_kind::kLeak, {i.id, saga});
  i.state = InstanceState::kDestroyed;
  Put(i);

  ASSERT_TRUE(CreateVolume(cp_->volumes_dir(), params.disks[0].disk_id, kDiskSize).ok());
  ExpectViolation(Run(true), check_kind::kLeak, {params.disks[0].disk_id, saga});
}

// --- 3. records held in `creating`

TEST_F(CheckTest, AnInstanceCreatingAfterItsSagaEndedIsReported) {
  auto a = CreateInstanceOk("a", 0);
  Instance i = GetInstance(a.instance_id);
  i.state = InstanceState::kCreating;
  Put(i);
  ExpectViolation(Run(false), check_kind::kCreatingInstance, {a.instance_id, *i.saga_id});

  auto orphan = datastore_->CreateInstance(InstanceSpec{Uuid::Generate(), kProject, "orphan", 1, 1 << 20, {}});
  ASSERT_TRUE(orphan.ok());
  CheckReport report = Run(false);
  ExpectViolation(report, check_kind::kCreatingInstance, {orphan->id});
  EXPECT_NE(Describe(report).find("no saga is creating it"), std::string::npos);
}

TEST_F(CheckTest, ADiskCreatingAfterItsSagaEndedIsReported) {
  auto x = CreateDiskOk("x");
  Disk d = GetDisk(x.disk_id);
  d.state = DiskState::kCreating;
  Put(d);
  ExpectViolation(Run(false), check_kind::kCreatingDisk, {x.disk_id, *d.saga_id});
}

TEST_F(CheckTest, CreatingRecordsOfARunningSagaAreFineUnlessQuiescent) {
  auto params = *PlanInstanceCreate(InstanceRequest("live", 1));
  SagaRecord saga = FakeSaga("instance-create", Json(params), SagaState::kRunning);
  ASSERT_TRUE(datastore_->CreateInstance(InstanceSpec{params.instance_id, kProject, "live", 1, 1 << 20, saga.id}).ok());
  const auto& dp = params.disks[0];
  ASSERT_TRUE(datastore_->CreateDisk(DiskSpec{dp.disk_id, kProject, dp.name, dp.size_bytes, saga.id}).ok());
  CheckReport running = Run(false);
  EXPECT_TRUE(running.ok()) << Describe(running);

  CheckReport quiescent = Run(true);
  EXPECT_FALSE(quiescent.ok());
  std::set<std::string> kinds;
  for (const auto& f : quiescent.violations) kinds.insert(f.kind);
  EXPECT_EQ(kinds, (std::set<std::string>{check_kind::kUnfinishedSaga, check_kind::kCreatingInstance,
                                          check_kind::kCreatingDisk}))
      << Describe(quiescent);
}

TEST_F(CheckTest, AnInstanceHeldInCreatingByAStuckSagaIsANoteNotAViolation) {
  auto params = *PlanInstanceCreate(InstanceRequest("stuck", 1));
  SagaResult r = StuckInstanceCreate(params);
  ASSERT_EQ(r.state, SagaState::kStuck);
  CheckReport report = Run(true);
  EXPECT_TRUE(report.ok()) << Describe(report);
  EXPECT_TRUE(HasNote(report, check_kind::kStuckSaga, r.id)) << Describe(report);
  EXPECT_TRUE(HasNote(report, check_kind::kCreatingInstance, params.instance_id)) << Describe(report);
}

// What an abandoned saga left behind is reported as its leftovers, by the saga's id: the instance it held in
// creating, and a volume of one of its disks whose record was destroyed (which would otherwise be an anonymous
// volume violation).
TEST_F(CheckTest, WhatAnAbandonedSagaLeftBehindIsReportedAsItsLeftovers) {
  auto params = *PlanInstanceCreate(InstanceRequest("gone", 2));
  SagaResult r = StuckInstanceCreate(params);
  ASSERT_EQ(r.state, SagaState::kStuck);
  Disk d = GetDisk(params.disks[0].disk_id);
  d.state = DiskState::kDestroyed;
  Put(d);
  ASSERT_TRUE(CreateVolume(cp_->volumes_dir(), d.id, kDiskSize).ok());
  ExpectViolation(Run(true), check_kind::kVolume, {d.id});  // stuck: the operator has not given up yet

  ASSERT_TRUE(SagaLog(store_).Abandon(r.id, AbandonKind::kUnrecoverable, {"ops", "host lost"}).ok());
  CheckReport report = Run(true);
  EXPECT_TRUE(report.ok()) << Describe(report);
  auto leftover = [&](const Uuid& record) {
    for (const Finding& n : report.notes) {
      if (n.kind != check_kind::kLeftover) continue;
      const bool names_saga = std::find(n.ids.begin(), n.ids.end(), r.id.ToString()) != n.ids.end();
      const bool names_record = std::find(n.ids.begin(), n.ids.end(), record.ToString()) != n.ids.end();
      if (names_saga && names_record && n.message.find(r.id.ToString()) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(leftover(params.instance_id)) << Describe(report);
  EXPECT_TRUE(leftover(d.id)) << Describe(report);
}

// --- 4. the saga log

TEST_F(CheckTest, AnIllegalEventInASagaLogIsReported) {
  auto a = CreateInstanceOk("a", 0);
  const Uuid saga = *GetInstance(a.instance_id).saga_id;
  auto events = SagaLog(store_).ReadEvents(saga);
  ASSERT_TRUE(events.ok());
  SagaEvent undo;
  undo.node = events->back().event.node;
  undo.type = EventType::kUndoFinished;  // but no node failed
  Put("saga_events", SagaEventKey(saga, events->back().seq + 1), Encode(undo));
  CheckReport report = Run(true);
  ExpectViolation(report, check_kind::kSagaLog, {saga});
  EXPECT_NE(Describe(report).find("no node has failed"), std::string::npos) << Describe(report);
}

TEST_F(CheckTest, ACachedStateTheLogContradictsIsReported) {
  auto a = CreateInstanceOk("a", 0);
  SagaRecord rec = ReadSaga(*GetInstance(a.instance_id).saga_id);
  rec.state = SagaState::kFailed;
  Put(rec);
  // (The instance it made is now also a leak of a failed saga.)
  ExpectViolation(Run(true), check_kind::kSagaLog, {rec.id}, /*only=*/false);

  rec.state = SagaState::kUnwinding;  // the log has no failure
  Put(rec);
  CheckReport report = Run(false);
  ExpectViolation(report, check_kind::kSagaLog, {rec.id});
}

TEST_F(CheckTest, EventsOfASagaWithNoRecordAreReported) {
  const Uuid ghost = Uuid::Generate();
  SagaEvent e;
  e.type = EventType::kSucceeded;
  Put("saga_events", SagaEventKey(ghost, 1), Encode(e));
  Put("saga_events", SagaEventKey(ghost, 2), Encode(e));
  CheckReport report = Run(true);
  ExpectViolation(report, check_kind::kSagaLog, {ghost});
  EXPECT_EQ(report.violations.size(), 1u) << Describe(report);
}

// --- 5. unfinished sagas

TEST_F(CheckTest, ARunningOrUnwindingSagaIsAViolationOnlyWhenQuiescent) {
  SagaRecord running = FakeSaga("disk-attach", Json::object(), SagaState::kRunning);
  SagaRecord unwinding = FakeSaga("disk-attach", Json::object(), SagaState::kUnwinding);
  // (An unwinding saga's log must hold a failure.)
  SagaEvent failed;
  failed.type = EventType::kFailed;
  failed.error = "injected";
  Put("saga_events", SagaEventKey(unwinding.id, 1), Encode(failed));
  CheckReport live = Run(false);
  EXPECT_TRUE(live.ok()) << Describe(live);
  CheckReport quiescent = Run(true);
  ExpectViolation(quiescent, check_kind::kUnfinishedSaga, {running.id});
  ExpectViolation(quiescent, check_kind::kUnfinishedSaga, {unwinding.id});
}

// --- 6. volumes

TEST_F(CheckTest, ALiveDiskWithoutItsVolumeIsReported) {
  auto x = CreateDiskOk("x");
  std::filesystem::remove(VolumePath(cp_->volumes_dir(), x.disk_id));
  ExpectViolation(Run(false), check_kind::kVolume, {x.disk_id});
}

TEST_F(CheckTest, AVolumeWithoutALiveDiskIsReported) {
  const Uuid stray = Uuid::Generate();
  ASSERT_TRUE(CreateVolume(cp_->volumes_dir(), stray, 4096).ok());
  ExpectViolation(Run(false), check_kind::kVolume, {stray});
  std::filesystem::remove(VolumePath(cp_->volumes_dir(), stray));

  auto x = CreateDiskOk("x");
  ASSERT_EQ(Wait(cp_->DeleteDisk(x.disk_id)).state, SagaState::kSucceeded);
  ASSERT_TRUE(CreateVolume(cp_->volumes_dir(), x.disk_id, 4096).ok());
  ExpectViolation(Run(false), check_kind::kVolume, {x.disk_id});
}

TEST_F(CheckTest, AVolumeOfADiskThatARunningDeleteIsRemovingIsFineUnlessQuiescent) {
  auto x = CreateDiskOk("x");
  ASSERT_TRUE(datastore_->DeleteDisk(x.disk_id).ok());  // the delete's first step, done; its volume step is next
  SagaRecord deleting = FakeSaga("disk-delete", Json(DiskDeleteParams{x.disk_id}), SagaState::kRunning);
  CheckReport live = Run(false);
  EXPECT_TRUE(live.ok()) << Describe(live);
  CheckReport quiescent = Run(true);
  std::set<std::string> kinds;
  for (const auto& f : quiescent.violations) kinds.insert(f.kind);
  EXPECT_EQ(kinds, (std::set<std::string>{check_kind::kUnfinishedSaga, check_kind::kVolume})) << Describe(quiescent);
}

TEST_F(CheckTest, ACreatingDiskMayLackItsVolumeWhileItsSagaRuns) {
  auto p = *PlanDiskCreate(DiskCreateRequest{kProject, "young", kDiskSize});
  SagaRecord saga = FakeSaga("disk-create", Json(p), SagaState::kRunning);
  ASSERT_TRUE(datastore_->CreateDisk(DiskSpec{p.disk_id, kProject, p.name, p.size_bytes, saga.id}).ok());
  CheckReport report = Run(false);
  EXPECT_TRUE(report.ok()) << Describe(report);
}

TEST_F(CheckTest, OtherFilesInTheVolumesDirectoryAreNotes) {
  // (ControlPlane::Open no longer makes the volumes directory up front; the first volume does.)
  std::filesystem::create_directories(cp_->volumes_dir());
  ASSERT_TRUE(std::ofstream(std::filesystem::path(cp_->volumes_dir()) / "README") << "not a volume\n");
  CheckReport report = Run(true);
  EXPECT_TRUE(report.ok()) << Describe(report);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_EQ(report.notes[0].kind, check_kind::kOtherFile);
}

// --- damaged bytes

TEST_F(CheckTest, CorruptedRecordsAreCorruptionFindingsNotCrashes) {
  auto a = CreateInstanceOk("a", 1);
  const Uuid saga = *GetInstance(a.instance_id).saga_id;
  Put(kInstancesTable, a.instance_id.AsBytes(), "garbage");
  ExpectViolation(Run(true), check_kind::kCorruption, {a.instance_id});

  Put(kDisksTable, a.disks[0].disk_id.AsBytes(), std::string(64, '\xff'));
  Put("sagas", saga.AsBytes(), "");
  Put(kInstancesTable, "short key", "x");
  CheckReport report = Run(true);
  ExpectViolation(report, check_kind::kCorruption, {a.disks[0].disk_id});
  ExpectViolation(report, check_kind::kCorruption, {saga});
  ExpectViolation(report, check_kind::kCorruption, {});
}

TEST_F(CheckTest, ACorruptedEventIsACorruptionFinding) {
  auto a = CreateInstanceOk("a", 0);
  const Uuid saga = *GetInstance(a.instance_id).saga_id;
  Put("saga_events", SagaEventKey(saga, 1), "not an event");
  ExpectViolation(Run(true), check_kind::kCorruption, {saga});
}

TEST_F(CheckTest, TheReportHasAJsonForm) {
  const Uuid stray = Uuid::Generate();
  ASSERT_TRUE(CreateVolume(cp_->volumes_dir(), stray, 4096).ok());
  nlohmann::json j = ToJson(Run(true));
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["violations"].size(), 1u);
  EXPECT_EQ(j["violations"][0]["kind"], "volume");
  EXPECT_EQ(j["violations"][0]["ids"][0], stray.ToString());
}

// --- the saga index

TEST_F(CheckTest, ASagaInFlightThatTheIndexDoesNotListIsReported) {
  SagaRecord running = FakeSaga("disk-attach", Json::object(), SagaState::kRunning);
  EXPECT_TRUE(Run(false).ok()) << Describe(Run(false));
  Delete("saga_index", ActiveIndexKey(running.id));
  CheckReport report = Run(false);
  ExpectViolation(report, check_kind::kSagaIndex, {running.id});
  EXPECT_NE(Describe(report).find("an open would not see it"), std::string::npos) << Describe(report);
}

TEST_F(CheckTest, AnIndexEntryInAnotherStateThanItsRecordIsReported) {
  SagaRecord stuck = FakeSaga("disk-attach", Json::object(), SagaState::kStuck);
  SagaIndexEntry e;
  e.state = SagaState::kRunning;
  Put("saga_index", ActiveIndexKey(stuck.id), Encode(e));
  ExpectViolation(Run(false), check_kind::kSagaIndex, {stuck.id});
}

TEST_F(CheckTest, IndexEntriesOfSagasThatHaveNoRecordAreReported) {
  const Uuid in_flight = Uuid::Generate();
  const Uuid finished = Uuid::Generate();
  SagaIndexEntry e;
  Put("saga_index", ActiveIndexKey(in_flight), Encode(e));
  e.state = SagaState::kSucceeded;
  Put("saga_index", FinishedIndexKey(12345, finished), Encode(e));
  CheckReport report = Run(true);
  ExpectViolation(report, check_kind::kSagaIndex, {in_flight});
  ExpectViolation(report, check_kind::kSagaIndex, {finished});
  EXPECT_EQ(report.violations.size(), 2u) << Describe(report);
}

TEST_F(CheckTest, AFinishedSagaWithoutItsFinishedEntryOrWithAStaleOneIsReported) {
  auto a = CreateInstanceOk("a", 0);
  const SagaRecord rec = ReadSaga(*GetInstance(a.instance_id).saga_id);
  EXPECT_TRUE(Run(true).ok());
  Delete("saga_index", FinishedIndexKey(rec.finished_ns, rec.id));
  CheckReport missing = Run(true);
  ExpectViolation(missing, check_kind::kSagaIndex, {rec.id});
  EXPECT_NE(Describe(missing).find("retention would never remove it"), std::string::npos) << Describe(missing);

  SagaIndexEntry e;
  e.state = SagaState::kSucceeded;
  Put("saga_index", FinishedIndexKey(rec.finished_ns, rec.id), Encode(e));
  Put("saga_index", FinishedIndexKey(rec.finished_ns - 5, rec.id), Encode(e));  // a finish time it never had
  CheckReport stale = Run(true);
  ExpectViolation(stale, check_kind::kSagaIndex, {rec.id});
  EXPECT_EQ(stale.violations.size(), 1u) << Describe(stale);
}

TEST_F(CheckTest, ADatabaseWrittenBeforeTheIndexIsCheckedWithANoteThatItHasNone) {
  CreateInstanceOk("a", 1);
  const std::string path = store_->path();
  const std::string volumes = cp_->volumes_dir();
  cp_.reset();
  store_ = nullptr;
  datastore_ = nullptr;
  Must(testing::DowngradeToVersion1(path));
  CheckOptions o;
  o.quiescent = true;
  CheckReport report = Must(CheckDatabase(path, volumes, o));
  EXPECT_TRUE(report.ok()) << Describe(report);
  EXPECT_EQ(report.sagas, 1u);
  bool noted = false;
  for (const auto& n : report.notes) noted = noted || n.kind == check_kind::kSagaIndex;
  EXPECT_TRUE(noted) << Describe(report);
}

}  // namespace
}  // namespace sagadb
