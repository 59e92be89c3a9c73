#include "tests/controlplane_test_util.h"

#include <fmt/format.h>

#include "controlplane/volumes.h"
#include "schema/codec.h"

namespace sagadb::testing {

World ReadWorld(const Datastore& datastore, const std::string& volumes_dir) {
  World w;
  auto instances = datastore.ListInstances();
  auto disks = datastore.ListDisks();
  EXPECT_TRUE(instances.errors.empty() && disks.errors.empty()) << "records failed to decode";
  for (const Instance& i : instances.records) {
    if (i.state == InstanceState::kDestroyed) continue;
    InstanceView v{i.name, i.state, i.boot_disk_id, {}};
    for (const auto& a : i.attached) v.disks.insert(a.disk_id);
    w.instances.emplace(i.id, std::move(v));
  }
  for (const Disk& d : disks.records) {
    if (d.state != DiskState::kDestroyed) w.disks.emplace(d.id, DiskView{d.name, d.state, d.instance_id});
  }
  auto volumes = ListVolumes(volumes_dir);
  EXPECT_TRUE(volumes.ok()) << volumes.status().ToString();
  if (volumes.ok()) {
    for (const auto& [id, file] : volumes->volumes) w.volumes.insert(id);
  }
  return w;
}

void PrintTo(const World& w, std::ostream* os) {
  for (const auto& [id, i] : w.instances) {
    *os << fmt::format("\n  instance {} {} {} boot={} disks={}", i.name, id.ToString(), ToString(i.state),
                       i.boot_disk ? i.boot_disk->ToString() : "-", i.disks.size());
  }
  for (const auto& [id, d] : w.disks) {
    *os << fmt::format("\n  disk {} {} {} instance={}", d.name, id.ToString(), ToString(d.state),
                       d.instance ? d.instance->ToString() : "-");
  }
  for (const auto& id : w.volumes) *os << "\n  volume " << id.ToString();
}

std::vector<std::string> ActionNodes(const SagaDag& dag) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < dag.nodes.size(); ++i) {
    if (dag.nodes[i].kind == NodeKind::kAction) out.push_back(dag.QualifiedName(i));
  }
  return out;
}

std::vector<std::string> LocalActionNodes(const SagaDag& dag, const ActionRegistry& registry) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < dag.nodes.size(); ++i) {
    if (dag.nodes[i].kind != NodeKind::kAction) continue;
    const ActionDef* def = registry.Find(dag.nodes[i].action);
    EXPECT_NE(def, nullptr) << dag.nodes[i].action;
    if (def != nullptr && def->kind == ActionKind::kLocal) out.push_back(dag.QualifiedName(i));
  }
  return out;
}

InstanceCreateRequest InstanceRequest(const std::string& name, int disks) {
  InstanceCreateRequest r{kProject, name, 2, 1ull << 30, {}};
  for (int i = 0; i < disks; ++i) r.disks.push_back(DiskRequest{fmt::format("{}-d{}", name, i), kDiskSize});
  return r;
}

ExecutorOptions ControlPlaneTest::FastOptions() {
  ExecutorOptions o;
  o.threads = 8;
  o.forward_retry.initial_backoff = std::chrono::microseconds(100);
  o.undo_retry.initial_backoff = std::chrono::microseconds(100);
  return o;
}

void ControlPlaneTest::Open(const std::string& name, ExecutorOptions options) {
  store_ = nullptr;
  datastore_ = nullptr;
  cp_.reset();
  DatabaseOptions o;
  o.path = dir_.Sub(name);
  o.executor = options;
  auto cp = ControlPlane::Open(o);
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  cp_ = std::move(*cp);
  store_ = &cp_->database().impl().store();
  datastore_ = &cp_->datastore();
}

SagaResult ControlPlaneTest::Wait(const Result<SagaHandle>& handle) {
  if (!handle.ok()) {
    ADD_FAILURE() << "saga did not start: " << handle.status().ToString();
    return {};
  }
  auto r = handle->Wait();
  if (!r.ok()) {
    ADD_FAILURE() << "saga halted: " << r.status().ToString();
    return {};
  }
  return *r;
}

CheckReport ControlPlaneTest::CheckQuiescent() const {
  CheckOptions o;
  o.quiescent = true;
  return Check(*store_, cp_->volumes_dir(), o);
}

void ControlPlaneTest::ExpectClean() const {
  CheckReport report = CheckQuiescent();
  EXPECT_TRUE(report.ok()) << Describe(report);
}

SagaRecord ControlPlaneTest::ReadSaga(const Uuid& saga) const {
  auto rec = SagaLog(store_).ReadRecord(saga);
  EXPECT_TRUE(rec.ok()) << rec.status().ToString();
  return rec.ok() ? *rec : SagaRecord{};
}

LoggedStatus ControlPlaneTest::NodeStatus(const Uuid& saga, const std::string& node) const {
  SagaRecord rec = ReadSaga(saga);
  auto events = SagaLog(store_).ReadEvents(saga);
  EXPECT_TRUE(events.ok()) << events.status().ToString();
  if (!events.ok()) return LoggedStatus::kPending;
  auto history = ReplaySagaLog(rec, *events);
  EXPECT_TRUE(history.ok()) << history.status().ToString();
  if (!history.ok()) return LoggedStatus::kPending;
  for (uint32_t i = 0; i < rec.nodes.size(); ++i) {
    if (QualifiedName(rec.nodes, rec.scopes, i) == node) return history->nodes[i].status;
  }
  ADD_FAILURE() << "saga has no node " << node;
  return LoggedStatus::kPending;
}

bool ControlPlaneTest::HasUndoFailed(const Uuid& saga) const {
  auto events = SagaLog(store_).ReadEvents(saga);
  EXPECT_TRUE(events.ok());
  if (!events.ok()) return true;
  for (const auto& e : *events) {
    if (e.event.type == EventType::kUndoFailed) return true;
  }
  return false;
}

InstanceCreateParams ControlPlaneTest::CreateInstanceOk(const std::string& name, int disks) {
  auto params = PlanInstanceCreate(InstanceRequest(name, disks));
  EXPECT_TRUE(params.ok()) << params.status().ToString();
  SagaResult r = Wait(CreateInstance(*params));
  EXPECT_EQ(r.state, SagaState::kSucceeded) << r.error_node << ": " << r.error.ToString();
  return *params;
}

DiskCreateParams ControlPlaneTest::CreateDiskOk(const std::string& name) {
  auto params = PlanDiskCreate(DiskCreateRequest{kProject, name, kDiskSize});
  EXPECT_TRUE(params.ok()) << params.status().ToString();
  SagaResult r = Wait(CreateDisk(*params));
  EXPECT_EQ(r.state, SagaState::kSucceeded) << r.error_node << ": " << r.error.ToString();
  return *params;
}

}  // namespace sagadb::testing
