// prune_child: runs retention's prune, or the saga index's build, on a database and ends itself abruptly at a
// chosen write, for the crash tests of tests/prune_crash_test.cc. A separate process, as crash_child is: a fork
// without exec would inherit RocksDB's thread pools in an unusable state.
//
//   prune_child --db DIR --workload prune|build [--crash-before N | --crash-after N] [--keep K] [--batch B]
//               [--writes-out FILE]
//
// The store alone is opened (no recovery, no executor), so that every write the process makes is one of the
// workload's:
//   prune   PruneFinishedSagas with max_finished K (no age limit), B sagas per batch
//   build   BuildSagaIndex with B sagas per batch (the database must be at schema version 1)
// --crash-before N ends the process right before write N reaches RocksDB, --crash-after N right after it is
// durable, with _exit(86). A finished run writes its number of writes to --writes-out and exits 0.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "engine/fault_injector.h"
#include "engine/store.h"
#include "log/index_migration.h"
#include "log/prune.h"

namespace {

int Die(const std::string& why) {
  std::fprintf(stderr, "prune_child: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, workload, writes_out;
  uint64_t crash_before = 0, crash_after = 0, keep = 0;
  size_t batch = 4;
  CLI::App app{"Runs a prune or an index build and ends itself at a chosen write."};
  app.add_option("--db", db, "database directory")->required();
  app.add_option("--workload", workload, "what to run")->required()->check(CLI::IsMember({"prune", "build"}));
  auto* before = app.add_option("--crash-before", crash_before, "end the process right before write N");
  auto* after = app.add_option("--crash-after", crash_after, "end the process right after write N");
  before->excludes(after);
  app.add_option("--keep", keep, "prune: finished sagas to keep");
  app.add_option("--batch", batch, "sagas per batch");
  app.add_option("--writes-out", writes_out, "file that gets the number of writes of a finished run");
  CLI11_PARSE(app, argc, argv);

  sagadb::FaultInjector crash;
  if (crash_before > 0) crash.CrashBeforeWrite(crash_before);
  if (crash_after > 0) crash.CrashAfterWrite(crash_after);
  sagadb::StoreConfig config;
  config.path = db;
  config.create_if_missing = false;
  config.hooks = &crash;
  auto store = sagadb::Store::Open(config);
  if (!store.ok()) return Die("open: " + store.status().ToString());

  sagadb::Status st;
  if (workload == "prune") {
    sagadb::PruneOptions o;
    o.policy.max_finished = keep;
    o.policy.max_age.reset();
    o.sagas_per_batch = batch;
    sagadb::PruneReport report;
    st = sagadb::PruneFinishedSagas(store->get(), o, &report);
  } else {
    sagadb::IndexBuildOptions o;
    o.sagas_per_batch = batch;
    sagadb::IndexBuildReport report;
    st = sagadb::BuildSagaIndex(store->get(), o, &report);
  }
  if (!st.ok()) return Die(workload + ": " + st.ToString());
  if (!writes_out.empty()) {
    std::ofstream out(writes_out);
    out << (*store)->write_attempts() << "\n";
    if (!out.flush()) return Die("cannot write " + writes_out);
  }
  return 0;
}
