#include "controlplane/disk_sagas.h"

#include <fmt/format.h>

#include <cstdlib>
#include <string>

#include "controlplane/actions.h"
#include "controlplane/datastore.h"
#include "controlplane/params.h"
#include "controlplane/volumes.h"

namespace sagadb {
namespace {

constexpr DiskState kCreatingOnly[] = {DiskState::kCreating};
constexpr DiskState kDetachedOnly[] = {DiskState::kDetached};

Json DiskOutput(const Disk& d) {
  Json j{{"disk_id", d.id}, {"name", d.name}, {"state", ToString(d.state)}};
  if (d.instance_id) {
    j["instance_id"] = *d.instance_id;
    j["slot"] = d.slot;
  }
  return j;
}

Status StatusOf(const Result<Disk>& r) { return r.ok() ? Status::OK() : r.status(); }

SagaDag Build(DagBuilder& b) {
  auto dag = b.Build();
  // The shapes are fixed at compile time; a failure here is a programming error caught by every test.
  if (!dag.ok()) std::abort();
  return *dag;
}

// --- disk-create

Result<Json> CreateRecord(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskCreateParams>(ctx));
  DiskSpec spec{p.disk_id, p.project, p.name, p.size_bytes, ctx.saga_id()};
  SAGADB_ASSIGN_OR_RETURN(Disk d, Datastore::StageCreateDisk(*ctx.txn(), spec));
  return DiskOutput(d);
}

Status UndoCreateRecord(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskCreateParams>(ctx));
  return StatusOf(Datastore::StageDeleteDisk(*ctx.txn(), p.disk_id, Datastore::kUndoDeletableDisk));
}

Result<Json> CreateVolumeAction(ActionContext& ctx, const std::string& dir) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskCreateParams>(ctx));
  SAGADB_RETURN_IF_ERROR(CreateVolume(dir, p.disk_id, p.size_bytes));
  return Json{{"volume", VolumePath(dir, p.disk_id)}};
}

Status RemoveVolumeOfCreate(ActionContext& ctx, const std::string& dir) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskCreateParams>(ctx));
  return RemoveVolume(dir, p.disk_id);
}

Result<Json> Finalize(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskCreateParams>(ctx));
  SAGADB_ASSIGN_OR_RETURN(
      Disk d, Datastore::StageSetDiskState(*ctx.txn(), p.disk_id, kCreatingOnly, DiskState::kDetached));
  return DiskOutput(d);
}

Status UndoFinalize(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskCreateParams>(ctx));
  return StatusOf(Datastore::StageSetDiskState(*ctx.txn(), p.disk_id, kDetachedOnly, DiskState::kCreating));
}

// --- disk-delete

Result<Json> DeleteRecord(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskDeleteParams>(ctx));
  // The state before the delete is what the undo restores. Read under the record's lock, so it is the state
  // the delete below acts on.
  SAGADB_RETURN_IF_ERROR(ctx.txn()->Lock(p.disk_id));
  SAGADB_ASSIGN_OR_RETURN(Disk before, Datastore::ReadDisk(*ctx.txn(), p.disk_id));
  SAGADB_ASSIGN_OR_RETURN(Disk d, Datastore::StageDeleteDisk(*ctx.txn(), p.disk_id,
                                                                  Datastore::kApiDeletableDisk));
  Json out = DiskOutput(d);
  out["previous_state"] = ToString(before.state);
  return out;
}

Status UndoDeleteRecord(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskDeleteParams>(ctx));
  auto previous = ParseDiskState(ctx.output().value("previous_state", ""));
  if (!previous) return Status::Internal(fmt::format("{}: output has no previous_state", ctx.node_name()));
  if (*previous == DiskState::kDestroyed) return Status::OK();  // it was destroyed already: nothing to give back
  return StatusOf(Datastore::StageRestoreDisk(*ctx.txn(), p.disk_id, *previous));
}

Result<Json> RemoveVolumeAction(ActionContext& ctx, const std::string& dir) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskDeleteParams>(ctx));
  SAGADB_RETURN_IF_ERROR(RemoveVolume(dir, p.disk_id));
  return Json{{"removed", VolumePath(dir, p.disk_id)}};
}

// --- attach / detach. `changed` records whether this action made the change, which is all its undo may revert.

Result<Json> Attach(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskAttachParams>(ctx));
  bool changed = false;
  SAGADB_ASSIGN_OR_RETURN(Disk d, Datastore::StageAttachDisk(*ctx.txn(), p.disk_id, p.instance_id, &changed));
  Json out = DiskOutput(d);
  out["changed"] = changed;
  return out;
}

Status UndoAttach(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskAttachParams>(ctx));
  if (!ctx.output().value("changed", true)) return Status::OK();
  return StatusOf(Datastore::StageDetachDisk(*ctx.txn(), p.disk_id, p.instance_id));
}

Result<Json> Detach(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskAttachParams>(ctx));
  bool changed = false;
  int freed_slot = -1;
  SAGADB_ASSIGN_OR_RETURN(Disk d,
                          Datastore::StageDetachDisk(*ctx.txn(), p.disk_id, p.instance_id, &changed, &freed_slot));
  Json out = DiskOutput(d);
  out["changed"] = changed;
  if (changed) out["freed_slot"] = freed_slot;
  return out;
}

// The disk goes back to the slot it left. A guest finds its disks by slot (its boot disk among them), so the
// slot is part of what the detach changed, and an undo restores exactly that. If another disk has taken the
// slot since, the undo fails for good (Conflict, and the saga is stuck) instead of attaching the disk at another
// slot or moving the other disk: either would change what the guest sees in a way nobody asked for, and only an
// operator can say which disk belongs where.
Status UndoDetach(ActionContext& ctx) {
  SAGADB_ASSIGN_OR_RETURN(auto p, ParamsOf<DiskAttachParams>(ctx));
  if (!ctx.output().value("changed", true)) return Status::OK();
  if (!ctx.output().contains("freed_slot")) {
    // Written by a version that did not record the slot: the lowest free one, as that version's undo did.
    return StatusOf(Datastore::StageAttachDisk(*ctx.txn(), p.disk_id, p.instance_id));
  }
  const int slot = ctx.output().value("freed_slot", -1);
  return StatusOf(Datastore::StageReattachDisk(*ctx.txn(), p.disk_id, p.instance_id, slot));
}

}  // namespace

const SagaDag& DiskCreateDag() {
  static const SagaDag dag = [] {
    DagBuilder b(kDiskCreateSaga);
    b.Append(NodeSpec::Action("record", actions::kDiskCreateRecord));
    b.Append(NodeSpec::Action("volume", actions::kDiskCreateVolume));
    b.Append(NodeSpec::Action("finalize", actions::kDiskFinalize));
    return Build(b);
  }();
  return dag;
}

const SagaDag& DiskDeleteDag() {
  static const SagaDag dag = [] {
    DagBuilder b(kDiskDeleteSaga);
    b.Append(NodeSpec::Action("record", actions::kDiskDeleteRecord));
    b.Append(NodeSpec::Action("volume", actions::kDiskRemoveVolume));
    return Build(b);
  }();
  return dag;
}

const SagaDag& DiskAttachDag() {
  static const SagaDag dag = [] {
    DagBuilder b(kDiskAttachSaga);
    b.Append(NodeSpec::Action("attach", actions::kDiskAttach));
    return Build(b);
  }();
  return dag;
}

const SagaDag& DiskDetachDag() {
  static const SagaDag dag = [] {
    DagBuilder b(kDiskDetachSaga);
    b.Append(NodeSpec::Action("detach", actions::kDiskDetach));
    return Build(b);
  }();
  return dag;
}

Status RegisterDiskActions(ActionRegistry* registry, const std::string& volumes_dir) {
  const ActionDef defs[] = {
      {actions::kDiskCreateRecord, ActionKind::kLocal, CreateRecord, UndoCreateRecord},
      {actions::kDiskCreateVolume, ActionKind::kExternal,
       [volumes_dir](ActionContext& ctx) { return CreateVolumeAction(ctx, volumes_dir); },
       [volumes_dir](ActionContext& ctx) { return RemoveVolumeOfCreate(ctx, volumes_dir); }},
      {actions::kDiskFinalize, ActionKind::kLocal, Finalize, UndoFinalize},
      {actions::kDiskDeleteRecord, ActionKind::kLocal, DeleteRecord, UndoDeleteRecord},
      // Last step of disk-delete, and irreversible: no undo.
      {actions::kDiskRemoveVolume, ActionKind::kExternal,
       [volumes_dir](ActionContext& ctx) { return RemoveVolumeAction(ctx, volumes_dir); }, nullptr},
      {actions::kDiskAttach, ActionKind::kLocal, Attach, UndoAttach},
      {actions::kDiskDetach, ActionKind::kLocal, Detach, UndoDetach},
  };
  for (const auto& def : defs) SAGADB_RETURN_IF_ERROR(registry->Register(def));
  return Status::OK();
}

}  // namespace sagadb
