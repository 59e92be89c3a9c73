// sagadb: the command-line program. Parses arguments (CLI11) and dispatches to the command functions.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <string>

#include "tools/admin_commands.h"
#include "tools/cli.h"
#include "tools/inspect_commands.h"

namespace sagadb::tool {
namespace {

struct Args {
  std::string id;
  std::string second;
  std::string state;
  std::string reason;
  bool svg = false;
};

int Main(int argc, char** argv) {
  GlobalOptions g;
  Args a;
  std::function<int()> command;

  CLI::App app("sagadb: inspect and drive an embedded sagadb database", "sagadb");
  app.require_subcommand(1);
  app.add_option("--db", g.db, "database directory")->capture_default_str();
  app.add_option("--project", g.project, "project of the records named by NAME")->capture_default_str();
  app.add_flag("--json", g.json, "print JSON instead of tables");

  auto sub = [&](CLI::App* parent, const std::string& name, const std::string& help) {
    CLI::App* s = parent->add_subcommand(name, help);
    s->fallthrough();
    return s;
  };
  auto bind = [&](CLI::App* s, std::function<int()> fn) { s->callback([&command, fn] { command = fn; }); };

  // instance
  CLI::App* instance = sub(&app, "instance", "instances");
  instance->require_subcommand(1);
  bind(sub(instance, "list", "list instances"), [&] { return InstanceList(g); });
  CLI::App* ishow = sub(instance, "show", "show one instance");
  ishow->add_option("instance", a.id, "ID or NAME")->required();
  bind(ishow, [&] { return InstanceShow(g, a.id); });

  // disk
  CLI::App* disk = sub(&app, "disk", "disks");
  disk->require_subcommand(1);
  bind(sub(disk, "list", "list disks"), [&] { return DiskList(g); });
  CLI::App* dshow = sub(disk, "show", "show one disk");
  dshow->add_option("disk", a.id, "ID or NAME")->required();
  bind(dshow, [&] { return DiskShow(g, a.id); });

  // saga
  CLI::App* saga = sub(&app, "saga", "sagas and their log");
  saga->require_subcommand(1);
  CLI::App* slist = sub(saga, "list", "list sagas");
  slist->add_option("--state", a.state, "only sagas in this state");
  bind(slist, [&] { return SagaList(g, a.state); });
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
  CLI::App* sabandon = sub(saga, "abandon", "mark a stuck or running saga abandoned");
  sabandon->add_option("id", a.id, "saga ID")->required();
  sabandon->add_option("--reason", a.reason, "why")->required();
  bind(sabandon, [&] { return SagaAbandon(g, a.id, a.reason); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (auto rest = app.remaining(); !rest.empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      what = "unknown command or argument \"" + rest.front() + "\"";
    }
    if (what.empty()) what = "bad usage (see sagadb --help)";
    return UsageError(what + " (see sagadb --help)");
  }
  if (!command) return UsageError("no command given (see sagadb --help)");
  return command();
}

}  // namespace
}  // namespace sagadb::tool

int main(int argc, char** argv) { return sagadb::tool::Main(argc, argv); }
