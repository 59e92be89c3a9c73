#include "tools/app.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <string>

#include "tools/admin_commands.h"
#include "tools/cli.h"
#include "tools/inspect_commands.h"
#include "tools/list_commands.h"
#include "tools/mutate_commands.h"
#include "tools/operator_commands.h"
#include "tools/stats_command.h"
#include "tools/salvage_command.h"

namespace sagadb::tool {
namespace {

struct Args {
  std::string id;
  std::string second;
  std::string reason;
  bool svg = false;
  bool quiescent = false;
  std::string stalled = "30m";
  std::string size;
  InstanceCreateArgs create;
  DemoArgs demo;
  ListArgs list;
  PruneArgs prune;
  OperatorArgs op;
  SalvageArgs salvage;
};

}  // namespace

struct ToolApp::State {
  GlobalOptions g;
  Args a;
  std::function<int()> command;
  CLI::App app{"sagadb: inspect and drive an embedded sagadb database", "sagadb"};
  // The options as the constructor left them (defaults included), restored before every parse after the first.
  GlobalOptions initial_g;
  Args initial_a;
  bool parsed = false;
};

ToolApp::ToolApp() : state_(std::make_unique<State>()) {
  GlobalOptions& g = state_->g;
  Args& a = state_->a;
  std::function<int()>& command = state_->command;
  CLI::App* app = &state_->app;
  app->require_subcommand(1);
  app->add_option("--db", g.db, "database directory")->capture_default_str();
  app->add_option("--project", g.project, "project of the records named by NAME")->capture_default_str();
  app->add_flag("--json", g.json, "print JSON instead of tables");
  app->add_option("--drill", g.drills,
                  "rehearse a failure in the sagas this command runs: fail:NODE (the step fails for good) or "
                  "undo-busy:NODE (its undo keeps failing as a busy host would, for as long as this command runs)");
  app->add_flag("--jsonl", g.jsonl, "listings: print one JSON object per line");

  auto sub = [&](CLI::App* parent, const std::string& name, const std::string& help) {
    CLI::App* s = parent->add_subcommand(name, help);
    s->fallthrough();
    return s;
  };
  auto bind = [&](CLI::App* s, std::function<int()> fn) { s->callback([&command, fn] { command = fn; }); };
  // The paging options every listing takes.
  auto paged = [&](CLI::App* s, const std::string& states) {
    s->add_option("--limit", a.list.limit, "rows per page (0: all)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    s->add_option("--after", a.list.after, "the page after this cursor (the id the page before ended with)");
    s->add_option("--state", a.list.states, "only these states (" + states + "; repeat or comma-separate)")
        ->delimiter(',');
    return s;
  };

  // demo
  CLI::App* demo = sub(app, "demo", "the overload scenario: concurrent instance-creates under injected faults");
  demo->add_option("--instances", a.demo.instances, "instance-create sagas")->capture_default_str();
  demo->add_option("--disks", a.demo.disks, "disks per instance (0-12)")->capture_default_str();
  demo->add_option("--fail-rate", a.demo.fail_rate, "fraction of store operations that fail transiently")
      ->capture_default_str();
  demo->add_option("--permanent-rate", a.demo.permanent_rate,
                   "fraction of forward steps that fail for good (their sagas unwind)")
      ->capture_default_str();
  demo->add_option("--seed", a.demo.seed, "fault injector seed (default: from the clock)");
  demo->add_option("--concurrency", a.demo.concurrency, "sagas in flight at once (default: all)");
  bind(demo, [&] { return Demo(g, a.demo); });

  // check, recover
  CLI::App* check = sub(app, "check", "verify the invariants (exit 1 on any violation)");
  check->add_flag("--quiescent", a.quiescent, "also require that no saga is executing");
  bind(check, [&] { return CheckCommand(g, a.quiescent); });
  bind(sub(app, "recover", "open the database, finish every interrupted saga, print the report"),
       [&] { return Recover(g); });
  CLI::App* stats = sub(app, "stats", "sagas by state and kind, the oldest in flight, the stalled ones");
  stats->add_option("--stalled", a.stalled, "list running and unwinding sagas with no event for this long")
      ->capture_default_str();
  bind(stats, [&] { return Stats(g, a.stalled); });
  CLI::App* salvage =
      sub(app, "salvage", "report what of a damaged database reads, what does not and how to get it back (read-only)");
  salvage->add_option("--repair-into", a.salvage.repair_into,
                      "also copy the database into this new directory and run RocksDB's repair on the copy");
  bind(salvage, [&] { return Salvage(g, a.salvage); });

  // instance
  CLI::App* instance = sub(app, "instance", "instances");
  instance->require_subcommand(1);
  CLI::App* icreate = sub(instance, "create", "create an instance with new disks (a saga)");
  icreate->add_option("name", a.create.name, "instance name")->required();
  icreate->add_option("--disks", a.create.disks, "new disks to create and attach (0-12)")->capture_default_str();
  icreate->add_option("--disk-size", a.create.disk_size, "size of each disk (e.g. 10GiB)")->capture_default_str();
  icreate->add_option("--cpus", a.create.cpus, "cpus")->capture_default_str();
  icreate->add_option("--memory", a.create.memory, "memory (e.g. 4GiB)")->capture_default_str();
  bind(icreate, [&] { return InstanceCreate(g, a.create); });
  CLI::App* idelete = sub(instance, "delete", "delete a stopped instance; its disks stay, detached");
  idelete->add_option("instance", a.id, "ID or NAME")->required();
  bind(idelete, [&] { return InstanceDelete(g, a.id); });
  bind(paged(sub(instance, "list", "list instances, a page at a time"),
             "creating, stopped, starting, running, stopping, failed, destroyed"),
       [&] { return InstanceList(g, a.list); });
  CLI::App* ishow = sub(instance, "show", "show one instance");
  ishow->add_option("instance", a.id, "ID or NAME")->required();
  bind(ishow, [&] { return InstanceShow(g, a.id); });

  // disk
  CLI::App* disk = sub(app, "disk", "disks");
  disk->require_subcommand(1);
  bind(paged(sub(disk, "list", "list disks, a page at a time"),
             "creating, detached, attached, maintenance, faulted, destroyed"),
       [&] { return DiskList(g, a.list); });
  CLI::App* dshow = sub(disk, "show", "show one disk");
  dshow->add_option("disk", a.id, "ID or NAME")->required();
  bind(dshow, [&] { return DiskShow(g, a.id); });

  CLI::App* dcreate = sub(disk, "create", "create a detached disk with its volume (a saga)");
  dcreate->add_option("name", a.id, "disk name")->required();
  dcreate->add_option("--size", a.size, "size (e.g. 10GiB)")->required();
  bind(dcreate, [&] { return DiskCreate(g, a.id, a.size); });
  CLI::App* dattach = sub(disk, "attach", "attach a disk to a creating or stopped instance");
  dattach->add_option("disk", a.id, "disk ID or NAME")->required();
  dattach->add_option("instance", a.second, "instance ID or NAME")->required();
  bind(dattach, [&] { return DiskAttach(g, a.id, a.second); });
  CLI::App* ddetach = sub(disk, "detach", "detach a disk from its instance");
  ddetach->add_option("disk", a.id, "disk ID or NAME")->required();
  ddetach->add_option("instance", a.second, "instance ID or NAME")->required();
  bind(ddetach, [&] { return DiskDetach(g, a.id, a.second); });
  CLI::App* ddelete = sub(disk, "delete", "delete a detached or faulted disk and its volume");
  ddelete->add_option("disk", a.id, "disk ID or NAME")->required();
  bind(ddelete, [&] { return DiskDelete(g, a.id); });

  // saga
  CLI::App* saga = sub(app, "saga", "sagas and their log");
  saga->require_subcommand(1);
  CLI::App* slist = paged(sub(saga, "list", "list sagas, a page at a time"),
                          "running, unwinding, succeeded, failed, stuck, abandoned, paused");
  slist->add_option("--kind", a.list.kind, "only sagas of this kind");
  slist->add_option("--since", a.list.since, "only sagas created at or after this time (RFC 3339, or ago: 2h)");
  slist->add_option("--until", a.list.until, "only sagas created before this time (RFC 3339, or ago: 2h)");
  slist->add_option("--stalled", a.list.stalled,
                    "instead: running and unwinding sagas with no event for this long (e.g. 30m)");
  bind(slist, [&] { return SagaList(g, a.list); });
  CLI::App* sshow = sub(saga, "show", "a saga and its node table");
  sshow->add_option("id", a.id, "saga ID")->required();
  bind(sshow, [&] { return SagaShow(g, a.id); });
  CLI::App* sevents = sub(saga, "events", "a saga's log, event by event");
  sevents->add_option("id", a.id, "saga ID")->required();
  bind(sevents, [&] { return SagaEvents(g, a.id); });
  CLI::App* sdot = sub(saga, "dot", "the saga's DAG as Graphviz DOT, nodes coloured by state");
  sdot->add_option("id", a.id, "saga ID")->required();
  sdot->add_flag("--svg", a.svg, "render SVG with Graphviz's dot");
  bind(sdot, [&] { return SagaDot(g, a.id, a.svg); });
  auto operator_command = [&](const char* name, const char* what) {
    CLI::App* c = sub(saga, name, what);
    c->add_option("id", a.op.id, "saga ID")->required();
    c->add_option("--by", a.op.by, "who asks (kept in the saga's log; default: the login name)");
    c->add_option("--reason", a.op.reason, "why (kept in the saga's log)");
    return c;
  };
  bind(operator_command("cancel", "make a running saga unwind cleanly from where it is"),
       [&] { return SagaCancel(g, a.op); });
  bind(operator_command("resume", "retry a paused or stuck saga's failed undo and finish its unwind"),
       [&] { return SagaResume(g, a.op); });
  CLI::App* sabandon = operator_command("abandon", "give up on a saga that has not ended");
  sabandon->get_option("--reason")->required();
  sabandon->add_option("--kind", a.op.kind, "operator, unrecoverable or orphaned")->default_val("operator");
  bind(sabandon, [&] { return SagaAbandon(g, a.op); });
  CLI::App* sprune = sub(saga, "prune", "remove finished sagas and their events, as a retention policy says");
  sprune->add_flag("--dry-run", a.prune.dry_run, "only say what would be removed (works beside a running owner)");
  sprune->add_option("--keep", a.prune.keep, "keep at most this many finished sagas, the newest (or: all)");
  sprune->add_option("--max-age", a.prune.max_age, "remove finished sagas older than this (e.g. 7d; or: none)");
  bind(sprune, [&] { return SagaPrune(g, a.prune); });
  state_->initial_g = g;
  state_->initial_a = a;
}

ToolApp::~ToolApp() = default;

Parsed ToolApp::Parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  if (argv.empty()) argv.push_back("sagadb");
  CLI::App& app = state_->app;
  if (state_->parsed) {
    // Everything a parse sets goes back to how the constructor left it: CLI11's results (clear) and the values
    // its options were bound to (the bindings hold their addresses, which stay the same).
    app.clear();
    state_->g = state_->initial_g;
    state_->a = state_->initial_a;
    state_->command = nullptr;
  }
  state_->parsed = true;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    return {Parsed::kHelp, app.help()};
  } catch (const CLI::CallForAllHelp&) {
    return {Parsed::kHelp, app.help("", CLI::AppFormatMode::All)};
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (auto rest = app.remaining(); !rest.empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      what = "unknown command or argument \"" + rest.front() + "\"";
    }
    if (what.empty()) what = "bad usage";
    return {Parsed::kUsageError, what + " (see sagadb --help)"};
  }
  if (!state_->command) return {Parsed::kUsageError, "no command given (see sagadb --help)"};
  return {Parsed::kRun, ""};
}

int ToolApp::Run() { return state_->command(); }

int Main(int argc, char** argv) {
  ToolApp app;
  Parsed p = app.Parse(std::vector<std::string>(argv, argv + argc));
  switch (p.outcome) {
    case Parsed::kRun:
      return app.Run();
    case Parsed::kHelp:
      std::fputs(p.text.c_str(), stdout);
      return kExitOk;
    case Parsed::kUsageError:
      break;
  }
  return UsageError(p.text);
}

}  // namespace sagadb::tool
