#include "tests/saga_test_util.h"

#include <filesystem>
#include <fstream>
#include <thread>

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

// A disk id that depends only on the saga and the node, so a repeated action finds its own record.
Uuid DiskIdFor(const ActionContext& ctx) {
  Uuid id = ctx.saga_id();
  size_t h = std::hash<std::string>{}(ctx.node_name());
  for (int i = 0; i < 8; ++i) id.bytes[8 + i] ^= static_cast<uint8_t>(h >> (8 * i));
  return id;
}

std::string DiskNameFor(const ActionContext& ctx) {
  std::string name = ctx.params().value("tag", std::string("t")) + "-" + ctx.node_name();
  for (char& c : name) {
    if (c == '.' || c == '_') c = '-';
  }
  return name;
}

std::string FileFor(const TestApp* app, const ActionContext& ctx) {
  return (fs::path(app->files_dir) / (ctx.saga_id().ToString() + "-" + ctx.node_name())).string();
}

}  // namespace

void RegisterTestActions(ActionRegistry* registry, TestApp* app) {
  (void)registry->Register(
      {"test.disk", ActionKind::kLocal,
       [app](ActionContext& ctx) -> Result<Json> {
         if (app->on_action) app->on_action(ctx.node_name());
         DiskSpec spec{DiskIdFor(ctx), "test", DiskNameFor(ctx), 1 << 20, ctx.saga_id()};
         auto disk = Datastore::StageCreateDisk(*ctx.txn(), spec);
         if (!disk.ok()) return disk.status();
         // The tag travels on, so a subsaga whose params are this output names its disks alike.
         return Json{{"disk", disk->id.ToString()}, {"name", disk->name}, {"tag", ctx.params().value("tag", "t")}};
       },
       [](ActionContext& ctx) -> Status {
         auto disk = Datastore::StageDeleteDisk(*ctx.txn(), DiskIdFor(ctx), Datastore::kUndoDeletableDisk);
         return disk.ok() ? Status::OK() : disk.status();
       }});
  (void)registry->Register({"test.file", ActionKind::kExternal,
                            [app](ActionContext& ctx) -> Result<Json> {
                              if (app->on_action) app->on_action(ctx.node_name());
                              std::ofstream f(FileFor(app, ctx), std::ios::app);
                              if (!f) return Status::IOError("cannot create test file");
                              return Json{{"file", FileFor(app, ctx)}};
                            },
                            [app](ActionContext& ctx) -> Status {
                              std::error_code ec;
                              fs::remove(FileFor(app, ctx), ec);
                              return ec ? Status::IOError(ec.message()) : Status::OK();
                            }});
  (void)registry->Register(
      {"test.lookup", ActionKind::kLocal, [app](ActionContext& ctx) -> Result<Json> {
         if (app->on_action) app->on_action(ctx.node_name());
         // Reads two ancestors' outputs, then creates its disk.
         auto b = ctx.Lookup("b");
         if (!b.ok()) return b.status();
         auto sub = ctx.Lookup("sub");
         if (!sub.ok()) return sub.status();
         if (!sub->contains("file")) return Status::Internal("subsaga output is not its last node's");
         DiskSpec spec{DiskIdFor(ctx), "test", DiskNameFor(ctx), 1 << 20, ctx.saga_id()};
         auto disk = Datastore::StageCreateDisk(*ctx.txn(), spec);
         if (!disk.ok()) return disk.status();
         return Json{{"disk", disk->id.ToString()}, {"b", *b}};
       },
       [](ActionContext& ctx) -> Status {
         auto disk = Datastore::StageDeleteDisk(*ctx.txn(), DiskIdFor(ctx), Datastore::kUndoDeletableDisk);
         return disk.ok() ? Status::OK() : disk.status();
       }});
  (void)registry->Register({"test.enter", ActionKind::kLocal, [app](ActionContext& ctx) -> Result<Json> {
                              int now = ++app->active;
                              int seen = app->max_active.load();
                              while (now > seen && !app->max_active.compare_exchange_weak(seen, now)) {
                              }
                              return Json(now);
                            }});
  (void)registry->Register({"test.leave", ActionKind::kLocal, [app](ActionContext& ctx) -> Result<Json> {
                              std::this_thread::sleep_for(std::chrono::milliseconds(1));
                              --app->active;
                              return Json(nullptr);
                            }});
}

std::vector<std::string> TestTables() { return {kInstancesTable, kDisksTable, kNamesTable}; }

std::shared_ptr<BasicDomain> TestDomain(TestApp* app) {
  auto domain = std::make_shared<BasicDomain>("test", TestTables());
  RegisterTestActions(&domain->actions(), app);
  return domain;
}

SagaDag SampleDag() {
  DagBuilder sub("sample-sub");
  sub.Append(NodeSpec::Action("x", "test.disk"));
  sub.Append(NodeSpec::Action("y", "test.file"));
  static const SagaDag sub_dag = *sub.Build();

  DagBuilder b("sample");
  b.Append(NodeSpec::Action("a", "test.disk"));
  b.AppendParallel({NodeSpec::Action("b", "test.disk"), NodeSpec::Action("c", "test.file"),
                    NodeSpec::Subsaga("sub", sub_dag, "a")});
  b.Append(NodeSpec::Action("d", "test.lookup"));
  return *b.Build();
}

std::vector<std::string> SampleActionNodes() { return {"a", "b", "c", "sub.x", "sub.y", "d"}; }

SagaDag ChainDag(int n) {
  DagBuilder b("chain");
  for (int i = 0; i < n; ++i) b.Append(NodeSpec::Action("n" + std::to_string(i), "test.disk"));
  return *b.Build();
}

SagaDag CountingDag() {
  DagBuilder b("counting");
  b.Append(NodeSpec::Action("enter", "test.enter"));
  b.Append(NodeSpec::Action("work", "test.disk"));
  b.Append(NodeSpec::Action("leave", "test.leave"));
  return *b.Build();
}

int LiveDisksWithTag(const Datastore& ds, const std::string& tag) {
  int n = 0;
  for (const Disk& d : ds.ListDisks().records) {
    if (d.state != DiskState::kDestroyed && d.name.rfind(tag, 0) == 0) ++n;
  }
  return n;
}

int FileCount(const std::string& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace sagadb::testing
