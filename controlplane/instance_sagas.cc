#include "controlplane/instance_sagas.h"

#include <fmt/format.h>

#include "controlplane/actions.h"
#include "controlplane/datastore.h"
#include "controlplane/disk_sagas.h"

namespace sagadb {
namespace {

constexpr InstanceState kCreatingOnly[] = {InstanceState::kCreating};
constexpr InstanceState kStoppedOnly[] = {InstanceState::kStopped};
// What an API delete accepts. Not `creating`: such an instance belongs to the saga creating it, and pulling
// its disks away would make that saga's own undo fail.
constexpr InstanceState kApiDeletableInstance[] = {InstanceState::kStopped, InstanceState::kFailed};

Json InstanceOutput(const Instance& inst) {
  Json disks = Json::array();
  for (const auto& a : inst.attached) disks.push_back(a.disk_id);
  Json j{{"instance_id", inst.id}, {"name", inst.name}, {"state", ToString(inst.state)}, {"disk_ids", disks}};
  j["boot_disk_id"] = inst.boot_disk_id ? Json(*inst.boot_disk_id) : Json(nullptr);
  return j;
}

Status StatusOf(const Result<Instance>& r) { return r.ok() ? Status::OK() : r.status(); }

std::string DiskNode(std::string_view prefix, size_t i) { return fmt::format("{}_{}", prefix, i); }

// --- instance-create

Result<Json> CreateRecord(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<InstanceCreateParams>(ctx));
  InstanceSpec spec{p.instance_id, p.project, p.name, p.cpus, p.memory_bytes, ctx.saga_id()};
  SAGADB_ASSIGN_OR_RETURN(Instance inst, Datastore::StageCreateInstance(*ctx.txn(), spec));
  return InstanceOutput(inst);
}

Status UndoCreateRecord(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<InstanceCreateParams>(ctx));
  return StatusOf(Datastore::StageDeleteInstance(*ctx.txn(), p.instance_id, Datastore::kDeletableInstance));
}

Result<Json> SetBootDisk(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<InstanceCreateParams>(ctx));
  if (p.disks.empty()) return Status::InvalidRequest("set_boot: the instance has no disk");
  SAGADB_ASSIGN_OR_RETURN(Instance inst,
                          Datastore::StageSetBootDisk(*ctx.txn(), p.instance_id, p.disks[0].disk_id));
  return InstanceOutput(inst);
}

Status UndoSetBootDisk(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<InstanceCreateParams>(ctx));
  return StatusOf(Datastore::StageSetBootDisk(*ctx.txn(), p.instance_id, std::nullopt));
}

Result<Json> MarkStopped(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<InstanceCreateParams>(ctx));
  SAGADB_ASSIGN_OR_RETURN(Instance inst, Datastore::StageSetInstanceState(*ctx.txn(), p.instance_id,
                                                                               kCreatingOnly, InstanceState::kStopped));
  return InstanceOutput(inst);
}

Status UndoMarkStopped(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<InstanceCreateParams>(ctx));
  return StatusOf(
      Datastore::StageSetInstanceState(*ctx.txn(), p.instance_id, kStoppedOnly, InstanceState::kCreating));
}

// --- instance-delete

Result<Json> ClearBootDisk(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<InstanceDeleteParams>(ctx));
  // The state check is this saga's first step, under the instance's lock, so a delete never starts taking an
  // instance apart that it is not allowed to delete.
  SAGADB_RETURN_IF_ERROR(ctx.txn()->Lock(p.instance_id));
  SAGADB_ASSIGN_OR_RETURN(Instance before, Datastore::ReadInstance(*ctx.txn(), p.instance_id));
  if (before.state == InstanceState::kDestroyed) {
    return Status::NotFound(fmt::format("instance {} not found", p.instance_id.ToString()));
  }
  if (before.state != InstanceState::kStopped && before.state != InstanceState::kFailed) {
    return Status::InvalidRequest(
        fmt::format("instance cannot be deleted in state \"{}\"", ToString(before.state)));
  }
  SAGADB_ASSIGN_OR_RETURN(Instance inst, Datastore::StageSetBootDisk(*ctx.txn(), p.instance_id, std::nullopt));
  Json out = InstanceOutput(inst);
  out["previous_boot_disk_id"] = before.boot_disk_id ? Json(*before.boot_disk_id) : Json(nullptr);
  return out;
}

Status UndoClearBootDisk(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<InstanceDeleteParams>(ctx));
  const Json& previous = ctx.output().at("previous_boot_disk_id");
  if (previous.is_null()) return Status::OK();
  SAGADB_ASSIGN_OR_RETURN(Uuid boot, FromJson<Uuid>(previous, "previous_boot_disk_id"));
  return StatusOf(Datastore::StageSetBootDisk(*ctx.txn(), p.instance_id, boot));
}

Result<Json> DeleteRecord(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<InstanceDeleteParams>(ctx));
  SAGADB_ASSIGN_OR_RETURN(Instance inst,
                          Datastore::StageDeleteInstance(*ctx.txn(), p.instance_id, kApiDeletableInstance));
  return InstanceOutput(inst);
}

// A constant per disk, the params of that disk's subsagas: the disk's own fields plus the instance's id.
Json DiskConstant(const Json& disk, const Uuid& instance_id) {
  Json j = disk;
  j["instance_id"] = instance_id;
  return j;
}

}  // namespace

Result<SagaDag> InstanceCreateDag(const InstanceCreateParams& params) {
  DagBuilder b(kInstanceCreateSaga);
  const size_t n = params.disks.size();
  std::vector<NodeSpec> first{NodeSpec::Action("instance", actions::kInstanceCreateRecord)};
  for (size_t i = 0; i < n; ++i) {
    first.push_back(NodeSpec::Constant(DiskNode("disk", i) + "_params",
                                       DiskConstant(Json(params.disks[i]), params.instance_id)));
  }
  b.AppendParallel(std::move(first));
  if (n > 0) {
    std::vector<NodeSpec> creates, attaches;
    for (size_t i = 0; i < n; ++i) {
      creates.push_back(NodeSpec::Subsaga(DiskNode("disk", i), DiskCreateDag(), DiskNode("disk", i) + "_params"));
      attaches.push_back(NodeSpec::Subsaga(DiskNode("attach", i), DiskAttachDag(), DiskNode("disk", i) + "_params"));
    }
    b.AppendParallel(std::move(creates));
    b.AppendParallel(std::move(attaches));
    b.Append(NodeSpec::Action("set_boot", actions::kInstanceSetBootDisk));
  }
  b.Append(NodeSpec::Action("stop", actions::kInstanceMarkStopped));
  return b.Build();
}

Result<SagaDag> InstanceDeleteDag(const InstanceDeleteParams& params) {
  DagBuilder b(kInstanceDeleteSaga);
  const size_t n = params.disk_ids.size();
  std::vector<NodeSpec> first{NodeSpec::Action("clear_boot", actions::kInstanceClearBootDisk)};
  for (size_t i = 0; i < n; ++i) {
    first.push_back(NodeSpec::Constant(DiskNode("disk", i) + "_params",
                                       DiskConstant(Json{{"disk_id", params.disk_ids[i]}}, params.instance_id)));
  }
  b.AppendParallel(std::move(first));
  if (n > 0) {
    std::vector<NodeSpec> detaches;
    for (size_t i = 0; i < n; ++i) {
      detaches.push_back(NodeSpec::Subsaga(DiskNode("detach", i), DiskDetachDag(), DiskNode("disk", i) + "_params"));
    }
    b.AppendParallel(std::move(detaches));
  }
  b.Append(NodeSpec::Action("delete", actions::kInstanceDeleteRecord));
  return b.Build();
}

Status RegisterInstanceActions(ActionRegistry* registry) {
  const ActionDef defs[] = {
      {actions::kInstanceCreateRecord, ActionKind::kLocal, CreateRecord, UndoCreateRecord},
      {actions::kInstanceSetBootDisk, ActionKind::kLocal, SetBootDisk, UndoSetBootDisk},
      {actions::kInstanceMarkStopped, ActionKind::kLocal, MarkStopped, UndoMarkStopped},
      {actions::kInstanceClearBootDisk, ActionKind::kLocal, ClearBootDisk, UndoClearBootDisk},
      // Last step of instance-delete: nothing after it can fail, so it needs no undo.
      {actions::kInstanceDeleteRecord, ActionKind::kLocal, DeleteRecord, nullptr},
  };
  for (const auto& def : defs) SAGADB_RETURN_IF_ERROR(registry->Register(def));
  return Status::OK();
}

}  // namespace sagadb
