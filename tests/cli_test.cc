// The sagadb command-line program, run as a user runs it: the built binary in a child process (posix_spawn, no
// shell), its stdout, stderr and exit code captured. Databases are made by the tool itself, except where a state
// cannot be reached through it (a stuck saga needs an injected fault): those are made with the library.
//
// What is specified here: each command's output, text and --json (the fields docs/TOOL.md documents);
// inspection beside a running owner; mutation refused while another process owns the database, writing nothing;
// exit codes (0 ok, 1 failed, 2 usage) with exactly one line on stderr for every bad input, which changes nothing.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/store.h"
#include "controlplane/control_plane.h"
#include "controlplane/requests.h"
#include "controlplane/volumes.h"
#include "db/database_impl.h"
#include "engine/fault_injector.h"
#include "log/saga_index.h"
#include "schema/codec.h"
#include "sagadb/control_plane.h"
#include "sagas/fault_plan.h"
#include "tests/cli_util.h"
#include "tests/test_util.h"

extern char** environ;

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kZeroId[] = "00000000-0000-0000-0000-000000000000";

// sagadb running in the background, stdout and stderr into files. Killed (SIGKILL) if the test ends first.
class BackgroundSagadb {
 public:
  BackgroundSagadb(const std::vector<std::string>& args, const std::string& out_file, const std::string& err_file) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    auto argv = Argv(args);
    const int rc = posix_spawn(&pid_, SAGADB_BIN, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn " SAGADB_BIN " failed");
  }
  ~BackgroundSagadb() {
    if (exit_code_) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  BackgroundSagadb(const BackgroundSagadb&) = delete;
  BackgroundSagadb& operator=(const BackgroundSagadb&) = delete;

  pid_t pid() const { return pid_; }
  bool Running() {
    if (exit_code_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) exit_code_ = ExitCode(status);
    return !exit_code_;
  }
  // Freezes it with SIGSTOP; false if it had already exited.
  bool Stop() {
    if (!Running()) return false;
    kill(pid_, SIGSTOP);
    int status = 0;
    waitpid(pid_, &status, WUNTRACED);
    if (WIFSTOPPED(status)) return true;
    exit_code_ = ExitCode(status);
    return false;
  }
  void Continue() { kill(pid_, SIGCONT); }
  int Wait() {
    if (!exit_code_) {
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      exit_code_ = ExitCode(status);
    }
    return *exit_code_;
  }

 private:
  pid_t pid_ = 0;
  std::optional<int> exit_code_;
};

// The pid of the process holding the database's lock (RocksDB's POSIX record lock on LOCK), or 0.
pid_t LockHolder(const std::string& db) {
  const int fd = open((fs::path(db) / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  pid_t holder = 0;
  if (fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK) holder = lock.l_pid;
  close(fd);
  return holder;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A stuck saga cannot be made through the tool: an instance-create whose last step fails and whose undo of the
// instance record fails permanently, run with the library on the tool's database layout.
Uuid MakeStuckSaga(const std::string& db, const std::string& name) {
  DatabaseOptions o;
  o.path = db;
  o.executor.threads = 4;
  o.executor.forward_retry.initial_backoff = std::chrono::microseconds(100);
  o.executor.undo_retry.initial_backoff = std::chrono::microseconds(100);
  auto opened = Must(ControlPlane::Open(o));
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("stop", Status::InvalidRequest("injected: the instance cannot stop"));
  plan->FailUndo("instance", Status::Conflict("injected: the record cannot be removed"), FaultPlan::kAlways);
  opened->database().impl().executor().SetFaultPlan(plan);
  InstanceCreateRequest request{"default", name, 1, 1ull << 30, {DiskRequest{name + "-d0", 1ull << 30}}};
  auto params = Must(PlanInstanceCreate(request));
  auto handle = Must(StartInstanceCreate(*opened, params));
  SagaResult r = Must(handle.Wait());
  if (r.state != SagaState::kStuck) throw std::runtime_error("set-up: the saga did not end stuck");
  return r.id;
}

// An instance-create left running as a process that died after its first round leaves it (nothing resumes it
// until the next read-write open).
Uuid MakeInterruptedSaga(const std::string& db, const std::string& name) {
  DatabaseOptions o;
  o.path = db;
  o.executor.threads = 4;
  auto opened = Must(ControlPlane::Open(o));
  Store& store = opened->database().impl().store();
  FaultInjector dead;
  dead.FailWritesFrom(store.write_attempts() + 2, Status::IOError("injected: the process died"));
  store.SetHooks(&dead);
  InstanceCreateRequest request{"default", name, 1, 1ull << 30, {DiskRequest{name + "-d0", 1ull << 30}}};
  auto handle = Must(StartInstanceCreate(*opened, Must(PlanInstanceCreate(request))));
  if (handle.Wait().ok()) throw std::runtime_error("set-up: the saga was not interrupted");
  store.SetHooks(nullptr);
  return handle.id();
}

// --- Records.

TEST_F(CliTest, InstanceCreateMakesTheInstanceWithItsDisksAndPrintsIt) {
  Json web = CreateWeb();
  EXPECT_EQ(web["name"], "web");
  EXPECT_EQ(web["project"], "default");
  EXPECT_EQ(web["state"], "stopped");
  EXPECT_EQ(web["cpus"], 4);
  EXPECT_EQ(web["memory_bytes"], 8ull << 30);
  EXPECT_EQ(web["attached_count"], 2);
  ASSERT_TRUE(web["id"].is_string());
  ASSERT_TRUE(web["saga_id"].is_string());
  const std::string id = web["id"];

  Json list = Rows({"instance", "list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["name"], "web");
  EXPECT_EQ(list[0]["state"], "stopped");

  EXPECT_EQ(ToolJson({"instance", "show", "web"}), ToolJson({"instance", "show", id}));
  Outcome text = Tool({"instance", "show", "web"});
  EXPECT_EQ(text.exit_code, 0) << text;
  EXPECT_NE(text.out.find(id), std::string::npos) << text;
  EXPECT_NE(text.out.find("8 GiB"), std::string::npos) << text;
  EXPECT_NE(text.out.find("disks (2)"), std::string::npos) << text;
  Outcome table = Tool({"instance", "list"});
  EXPECT_EQ(table.exit_code, 0) << table;
  EXPECT_TRUE(table.out.starts_with("ID ")) << table;
  EXPECT_NE(table.out.find("web"), std::string::npos) << table;

  Json disks = Rows({"disk", "list"});
  ASSERT_EQ(disks.size(), 2u);
  std::set<int> slots;
  std::set<std::string> names;
  for (const auto& d : disks) {
    EXPECT_EQ(d["state"], "attached");
    EXPECT_EQ(d["instance_id"], id);
    EXPECT_EQ(d["size_bytes"], 2ull << 30);
    EXPECT_EQ(d["project"], "default");
    slots.insert(d["slot"].get<int>());
    names.insert(d["name"].get<std::string>());
  }
  EXPECT_EQ(slots, (std::set<int>{0, 1}));
  EXPECT_EQ(names, (std::set<std::string>{"web-d0", "web-d1"}));
  EXPECT_EQ(web["boot_disk_id"], ToolJson({"disk", "show", "web-d0"})["id"]);
  Outcome disk_text = Tool({"disk", "show", "web-d1"});
  EXPECT_EQ(disk_text.exit_code, 0) << disk_text;
  EXPECT_NE(disk_text.out.find("2 GiB"), std::string::npos) << disk_text;
}

TEST_F(CliTest, ProjectMayBeGivenAfterTheSubcommand) {
  Json created = ToolJson({"instance", "create", "api", "--disks", "0", "--project", "team-a"});
  EXPECT_EQ(created["project"], "team-a");
  EXPECT_EQ(ToolJson({"instance", "show", "api", "--project", "team-a"})["id"], created["id"]);
  EXPECT_EQ(ToolJson({"--project", "team-a", "instance", "show", "api"})["id"], created["id"]);
  // Names are per project: the default project has no "api".
  ExpectOneLineError(Tool({"instance", "show", "api"}), 1);
}

TEST_F(CliTest, DiskCreateAttachDetachDeleteWalkTheDiskThroughItsStates) {
  Json host = ToolJson({"instance", "create", "host", "--disks", "0"});
  Json disk = ToolJson({"disk", "create", "data", "--size", "512MiB"});
  EXPECT_EQ(disk["state"], "detached");
  EXPECT_EQ(disk["size_bytes"], 512ull << 20);
  EXPECT_TRUE(disk["instance_id"].is_null());
  EXPECT_TRUE(disk["slot"].is_null());

  Json attached = ToolJson({"disk", "attach", "data", "host"});
  EXPECT_EQ(attached["state"], "attached");
  EXPECT_EQ(attached["instance_id"], host["id"]);
  EXPECT_EQ(attached["slot"], 0);
  EXPECT_EQ(ToolJson({"instance", "show", "host"})["attached_count"], 1);

  Json detached = ToolJson({"disk", "detach", "data", "host"});
  EXPECT_EQ(detached["state"], "detached");
  EXPECT_TRUE(detached["instance_id"].is_null());
  EXPECT_TRUE(detached["slot"].is_null());

  Outcome del = Tool({"disk", "delete", "data"});
  EXPECT_EQ(del.exit_code, 0) << del;
  EXPECT_EQ(ToolJson({"disk", "show", disk["id"]})["state"], "destroyed");
  EXPECT_EQ(ToolJson({"instance", "delete", "host"})["state"], "destroyed");

  Json sagas = Rows({"saga", "list"});
  std::multiset<std::string> kinds;
  for (const auto& s : sagas) {
    EXPECT_EQ(s["state"], "succeeded") << s;
    kinds.insert(s["kind"].get<std::string>());
  }
  EXPECT_EQ(kinds.size(), 6u);
  EXPECT_EQ(kinds.count("instance-create"), 1u);
  EXPECT_EQ(kinds.count("disk-create"), 1u);
}

TEST_F(CliTest, AttachingAnAttachedDiskElsewhereFailsWithTheSagasReason) {
  CreateWeb();
  ToolJson({"instance", "create", "other", "--disks", "0"});
  Outcome o = Tool({"disk", "attach", "web-d0", "other"});
  ExpectOneLineError(o, 1);
  EXPECT_NE(o.err.find("another instance"), std::string::npos) << o;
}

// --- Sagas.

TEST_F(CliTest, SagaListShowEventsAndDotDescribeASucceededSaga) {
  Json web = CreateWeb();
  Json sagas = Rows({"saga", "list"});
  ASSERT_EQ(sagas.size(), 1u);
  const Json& s = sagas[0];
  EXPECT_EQ(s["id"], web["saga_id"]);
  EXPECT_EQ(s["kind"], "instance-create");
  EXPECT_EQ(s["state"], "succeeded");
  EXPECT_TRUE(s["created"].is_string());
  EXPECT_TRUE(s["finished"].is_string());
  EXPECT_TRUE(s["failed_node"].is_null());
  EXPECT_TRUE(s["stuck_node"].is_null());
  EXPECT_TRUE(s["error"].is_null());
  // instance, 2 x (record, volume, finalize), 2 attaches, set_boot, stop.
  EXPECT_EQ(s["node_counts"], Json({{"succeeded", 11}}));
  EXPECT_GT(s["nodes"].get<int>(), 11);
  const std::string id = s["id"];

  EXPECT_EQ(Rows({"saga", "list", "--state", "succeeded"}).size(), 1u);
  EXPECT_EQ(Rows({"saga", "list", "--state", "stuck"}), Json::array());

  Json show = ToolJson({"saga", "show", id});
  EXPECT_EQ(show["state"], "succeeded");
  EXPECT_TRUE(show["log_error"].is_null());
  EXPECT_EQ(show["params"]["name"], "web");
  int actions = 0;
  for (const auto& row : show["node_table"]) {
    if (row["kind"] != "action") continue;
    ++actions;
    EXPECT_EQ(row["state"], "succeeded") << row;
    EXPECT_GE(row["attempts"].get<int>(), 1) << row;
    EXPECT_TRUE(row["action"].is_string()) << row;
    EXPECT_TRUE(row["error"].is_null()) << row;
  }
  EXPECT_EQ(actions, 11);

  Outcome text = Tool({"saga", "show", id});
  EXPECT_EQ(text.exit_code, 0) << text;
  for (const char* want : {"kind      instance-create", "state     succeeded", "created   ", "finished  ", "NODE",
                           "ACTION", "ATTEMPTS", "DURATION", "instance.create_record", "disk_1.volume", "stop"}) {
    EXPECT_NE(text.out.find(want), std::string::npos) << want << "\n" << text;
  }

  Json events = ToolJson({"saga", "events", id});
  ASSERT_GE(events.size(), 11u);
  uint64_t seq = 0;
  for (const auto& e : events) {
    EXPECT_GT(e["seq"].get<uint64_t>(), seq) << e;
    seq = e["seq"];
    EXPECT_TRUE(e["node"].is_string()) << e;
    EXPECT_TRUE(e["time"].is_string()) << e;
  }
  EXPECT_EQ(events.back()["node"], "stop");
  EXPECT_EQ(events.back()["type"], "succeeded");
  Outcome events_text = Tool({"saga", "events", id});
  EXPECT_EQ(events_text.exit_code, 0) << events_text;
  EXPECT_TRUE(events_text.out.starts_with("SEQ")) << events_text;

  Outcome dot = Tool({"saga", "dot", id});
  EXPECT_EQ(dot.exit_code, 0) << dot;
  EXPECT_TRUE(dot.out.starts_with("digraph ")) << dot;
  EXPECT_TRUE(dot.out.ends_with("}\n")) << dot;
  EXPECT_NE(dot.out.find("fillcolor=\"palegreen\""), std::string::npos) << dot;
  EXPECT_NE(dot.out.find(" -> "), std::string::npos) << dot;
  EXPECT_NE(dot.out.find("instance.create_record\\nsucceeded"), std::string::npos) << dot;
}

TEST_F(CliTest, SagaDotSvgPipesTheGraphThroughGraphvizDot) {
  CreateWeb();
  const std::string id = Rows({"saga", "list"})[0]["id"];
  // A stand-in for Graphviz (which the suite does not require) that checks what it is given.
  const std::string bin = dir_.Sub("bin");
  fs::create_directory(bin);
  {
    std::ofstream dot(bin + "/dot");
    dot << "#!/bin/sh\n[ \"$1\" = -Tsvg ] || exit 3\nhead -c 8 | grep -q '^digraph' || exit 4\ncat >/dev/null\n"
           "echo '<svg>stand-in</svg>'\n";
  }
  fs::permissions(bin + "/dot", fs::perms::owner_all);
  Outcome svg = Tool({"saga", "dot", id, "--svg"}, EnvWithPath(bin + ":/usr/bin:/bin"));
  EXPECT_EQ(svg.exit_code, 0) << svg;
  EXPECT_EQ(svg.out, "<svg>stand-in</svg>\n") << svg;

  const std::string empty = dir_.Sub("empty");
  fs::create_directory(empty);
  Outcome missing = Tool({"saga", "dot", id, "--svg"}, EnvWithPath(empty));
  ExpectOneLineError(missing, 1);
  EXPECT_NE(missing.err.find("graphviz"), std::string::npos) << missing;
}

TEST_F(CliTest, AStuckSagaShowsItsNodeAndReasonAndCanBeAbandoned) {
  const Uuid stuck = MakeStuckSaga(db_, "wedged");
  const std::string id = stuck.ToString();

  Json s = ToolJson({"saga", "show", id});
  EXPECT_EQ(s["state"], "stuck");
  EXPECT_EQ(s["stuck_node"], "instance");
  EXPECT_TRUE(s["failed_node"].is_null());
  ASSERT_TRUE(s["error"].is_string());
  EXPECT_NE(s["error"].get<std::string>().find("the record cannot be removed"), std::string::npos) << s;
  EXPECT_TRUE(s["finished"].is_null() || s["finished"].is_string());
  EXPECT_EQ(s["node_counts"]["undo_failed"], 1) << s;
  Outcome text = Tool({"saga", "show", id});
  EXPECT_EQ(text.exit_code, 0) << text;
  EXPECT_NE(text.out.find("stuck at  instance"), std::string::npos) << text;
  EXPECT_NE(text.out.find("the record cannot be removed"), std::string::npos) << text;
  EXPECT_NE(text.out.find("undo_failed"), std::string::npos) << text;
  Outcome dot = Tool({"saga", "dot", id});
  EXPECT_NE(dot.out.find("fillcolor=\"red\""), std::string::npos) << dot;
  ASSERT_EQ(Rows({"saga", "list", "--state", "stuck"}).size(), 1u);

  // Held in `creating` by a stuck saga: a note, not a violation.
  Json check = ToolJson({"check"});
  EXPECT_EQ(check["ok"], true) << check;
  std::set<std::string> note_kinds;
  for (const auto& n : check["notes"]) note_kinds.insert(n["kind"].get<std::string>());
  EXPECT_TRUE(note_kinds.count("stuck_saga")) << check;

  Outcome abandon = Tool({"saga", "abandon", id, "--reason", "the operator removed it by hand"});
  EXPECT_EQ(abandon.exit_code, 0) << abandon;
  EXPECT_EQ(abandon.err, "") << abandon;
  Json after = ToolJson({"saga", "show", id});
  EXPECT_EQ(after["state"], "abandoned");
  EXPECT_TRUE(after["finished"].is_string());
  EXPECT_NE(after["error"].get<std::string>().find("the operator removed it by hand"), std::string::npos) << after;
  Outcome after_text = Tool({"saga", "show", id});
  EXPECT_NE(after_text.out.find("state     abandoned"), std::string::npos) << after_text;
  EXPECT_NE(after_text.out.find("at node   instance"), std::string::npos) << after_text;
  EXPECT_EQ(Rows({"saga", "list", "--state", "abandoned"}).size(), 1u);
  EXPECT_EQ(Rows({"saga", "list", "--state", "stuck"}), Json::array());

  // Once abandoned it is no longer abandonable.
  const Snapshot before = Snap();
  ExpectOneLineError(Tool({"saga", "abandon", id, "--reason", "again"}), 1);
  EXPECT_EQ(Snap(), before);
}

TEST_F(CliTest, ASucceededSagaCannotBeAbandoned) {
  const std::string id = CreateWeb()["saga_id"];
  const Snapshot before = Snap();
  Outcome o = Tool({"saga", "abandon", id, "--reason", "no"});
  ExpectOneLineError(o, 1);
  EXPECT_NE(o.err.find("is succeeded"), std::string::npos) << o;
  EXPECT_EQ(Snap(), before);
  EXPECT_EQ(ToolJson({"saga", "show", id})["state"], "succeeded");
}

// --- check, recover, demo.

TEST_F(CliTest, CheckPassesOnAHealthyDatabaseAndListsEachViolationWithItsIds) {
  Json web = CreateWeb();
  Json ok = ToolJson({"check"});
  EXPECT_EQ(ok["ok"], true);
  EXPECT_EQ(ok["violations"], Json::array());
  EXPECT_EQ(ok["instances"], 1);
  EXPECT_EQ(ok["disks"], 2);
  EXPECT_EQ(ok["sagas"], 1);
  EXPECT_EQ(ok["volumes"], 2);
  Outcome text = Tool({"check"});
  EXPECT_EQ(text.exit_code, 0) << text;
  EXPECT_NE(text.out.find("0 violation(s)"), std::string::npos) << text;

  // A live disk without its volume breaks invariant 6.
  const std::string disk = ToolJson({"disk", "show", "web-d1"})["id"];
  ASSERT_TRUE(fs::remove(VolumePath(VolumesDirFor(db_), *Uuid::Parse(disk))));
  Outcome bad = Tool({"check", "--json"});
  EXPECT_EQ(bad.exit_code, 1) << bad;
  Json report = bad.JsonOut();
  EXPECT_EQ(report["ok"], false);
  ASSERT_EQ(report["violations"].size(), 1u) << report;
  EXPECT_EQ(report["violations"][0]["kind"], "volume");
  EXPECT_EQ(report["violations"][0]["ids"], Json({disk})) << report;
  EXPECT_TRUE(report["violations"][0]["message"].is_string());
  Outcome bad_text = Tool({"check"});
  EXPECT_EQ(bad_text.exit_code, 1) << bad_text;
  EXPECT_NE(bad_text.out.find(disk), std::string::npos) << bad_text;
}

TEST_F(CliTest, DemoRunsTheOverloadScenarioAndReportsIt) {
  // Permanent faults at nearly every other instance-create of 15 steps: sagas fail and unwind, nothing sticks.
  Outcome o = Tool({"demo", "--instances", "4", "--disks", "3", "--fail-rate", "0.05", "--permanent-rate", "0.3",
                    "--seed", "11", "--concurrency", "2", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.err, "") << "no progress line when stderr is not a terminal";
  Json r = o.JsonOut();
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["instances"], 4);
  EXPECT_EQ(r["disks_per_instance"], 3);
  EXPECT_EQ(r["seed"], 11);
  EXPECT_EQ(r["permanent_rate"], 0.3);
  EXPECT_EQ(r["succeeded"].get<int>() + r["failed"].get<int>(), 4);
  EXPECT_GT(r["failed"].get<int>(), 0) << r;
  EXPECT_GT(r["failed_by_permanent_faults"].get<int>(), 0) << r;
  EXPECT_LE(r["failed_by_permanent_faults"].get<int>(), r["failed"].get<int>());
  EXPECT_GE(r["injected_permanent_faults"].get<int>(), r["failed_by_permanent_faults"].get<int>());
  EXPECT_EQ(r["stuck"], 0);
  EXPECT_EQ(r["unfinished"], 0);
  EXPECT_EQ(r["check"]["ok"], true);
  for (const char* retries : {"action", "undo", "log", "lock_conflict"}) {
    EXPECT_TRUE(r["retries"][retries].is_number_unsigned()) << retries << ": " << r;
  }
  EXPECT_GT(r["rounds"].get<uint64_t>(), 0u);
  EXPECT_EQ(Rows({"saga", "list"}).size(), 4u);
  EXPECT_EQ(Rows({"saga", "list", "--state", "failed"}).size(), r["failed"].get<size_t>());
  Outcome check = Tool({"check", "--quiescent"});
  EXPECT_EQ(check.exit_code, 0) << check;  // the failed sagas left nothing behind

  // By default a small rate of permanent faults; the text report says how many failed of them.
  Outcome text = Tool({"demo", "--instances", "2", "--disks", "1", "--seed", "3"});
  EXPECT_EQ(text.exit_code, 0) << text;
  EXPECT_EQ(text.err, "");
  EXPECT_NE(text.out.find("5% transient store faults, 0.5% permanent step faults, seed 3"), std::string::npos) << text;
  EXPECT_NE(text.out.find("by an injected permanent fault"), std::string::npos) << text;
  EXPECT_NE(text.out.find("demo: OK"), std::string::npos) << text;
  EXPECT_NE(text.out.find(" lock conflict\n"), std::string::npos) << text;
  EXPECT_EQ(Rows({"saga", "list"}).size(), 6u);

  // Without permanent faults nothing fails: the retries absorb the transient ones.
  Json none = ToolJson({"demo", "--instances", "6", "--disks", "2", "--permanent-rate", "0", "--seed", "5"});
  EXPECT_EQ(none["ok"], true) << none;
  EXPECT_EQ(none["failed"], 0) << none;
  EXPECT_EQ(none["failed_by_permanent_faults"], 0);
  EXPECT_EQ(none["injected_permanent_faults"], 0);
  EXPECT_EQ(none["succeeded"], 6);

  Json recover = ToolJson({"recover"});
  EXPECT_EQ(recover["scanned"], 0);  // sagas in flight: none; the finished ones are not read at all
  EXPECT_EQ(recover["marked_stuck"], Json::array());
}

// --- Operator controls.

// A stuck saga (its cause, an injected fault, is gone in the tool's process) is resumed and unwinds; the resume
// is in its log with who asked and why; a second resume, and a cancel of the ended saga, change nothing.
TEST_F(CliTest, AnOperatorResumesAStuckSagaAndItsLogSaysWhoAndWhy) {
  const std::string id = MakeStuckSaga(db_, "wedged").ToString();
  Outcome bad = Tool({"saga", "resume", id, "--by", std::string(300, 'a')});  // longer than an actor may be
  ExpectOneLineError(bad, 2);
  Json resumed = ToolJson({"saga", "resume", id, "--by", "alice", "--reason", "removed the lock by hand"});
  EXPECT_EQ(resumed["state"], "failed") << resumed;
  Json events = ToolJson({"saga", "events", id});
  const Json& last = events.back();
  EXPECT_EQ(last["type"], "undo_finished") << events;  // the unwind went on past the resume
  bool found = false;
  for (const auto& e : events) {
    if (e["type"] != "operator") continue;
    found = true;
    EXPECT_EQ(e["action"], "resume");
    EXPECT_EQ(e["by"], "alice");
    EXPECT_EQ(e["reason"], "removed the lock by hand");
    EXPECT_TRUE(e["node"].is_null());
  }
  EXPECT_TRUE(found) << events;
  Outcome text = Tool({"saga", "show", id});
  EXPECT_NE(text.out.find("resume by alice: removed the lock by hand"), std::string::npos) << text;
  EXPECT_TRUE(ToolJson({"check"})["ok"].get<bool>());

  const Snapshot before = Snap();
  ExpectOneLineError(Tool({"saga", "resume", id, "--by", "alice"}), 1);
  Outcome cancel = Tool({"saga", "cancel", id, "--by", "alice"});
  ExpectOneLineError(cancel, 1);
  EXPECT_NE(cancel.err.find("it has ended"), std::string::npos) << cancel;
  EXPECT_EQ(Snap(), before);
}

// A saga left running by a process that died is cancelled before anything resumes it forward, and unwinds.
TEST_F(CliTest, AnOperatorCancelsAnInterruptedSagaAndItUnwindsCleanly) {
  const std::string id = MakeInterruptedSaga(db_, "cut").ToString();
  Json cancelled = ToolJson({"saga", "cancel", id, "--by", "bob", "--reason", "tenant withdrew"});
  EXPECT_EQ(cancelled["state"], "failed") << cancelled;
  Outcome text = Tool({"saga", "show", id});
  EXPECT_NE(text.out.find("cancel by bob: tenant withdrew"), std::string::npos) << text;
  EXPECT_NE(text.out.find("Cancelled: cancelled by bob: tenant withdrew"), std::string::npos) << text;
  for (const auto& i : Rows({"instance", "list"})) EXPECT_EQ(i["state"], "destroyed") << i;
  EXPECT_TRUE(ToolJson({"check"})["ok"].get<bool>());
}

TEST_F(CliTest, AbandonTakesAKindAndRefusesAnUnknownOne) {
  const std::string id = MakeStuckSaga(db_, "wedged").ToString();
  const Snapshot before = Snap();
  ExpectOneLineError(Tool({"saga", "abandon", id, "--kind", "bored", "--reason", "x"}), 2);
  EXPECT_EQ(Snap(), before);
  Json a = ToolJson({"saga", "abandon", id, "--kind", "orphaned", "--by", "carol", "--reason", "host removed"});
  EXPECT_EQ(a["state"], "abandoned");
  Json events = ToolJson({"saga", "events", id});
  EXPECT_EQ(events.back()["action"], "abandon");
  EXPECT_EQ(events.back()["kind"], "orphaned");
  EXPECT_EQ(events.back()["by"], "carol");
  // Its instance, held in creating, is its leftover now.
  Json check = ToolJson({"check"});
  EXPECT_EQ(check["ok"], true) << check;
  bool leftover = false;
  for (const auto& n : check["notes"]) leftover |= n["kind"] == "leftover" && n["message"].get<std::string>().find(id) != std::string::npos;
  EXPECT_TRUE(leftover) << check;
}

// The operator's session of docs/TOOL.md: a drill fails the last step and keeps a volume's undo failing while
// the command runs; the saga pauses (exit 1, a note for check), and a resume after the cause is gone unwinds it.
TEST_F(CliTest, AVolumeUndoThatKeepsFailingPausesTheSagaAndAResumeUnwindsIt) {
  Outcome bad = Tool({"instance", "create", "web", "--drill", "explode:stop"});
  ExpectOneLineError(bad, 1);
  EXPECT_FALSE(fs::exists(db_));  // refused before anything was created
  Outcome create = Tool({"instance", "create", "web", "--disks", "2", "--drill", "fail:stop", "--drill",
                         "undo-busy:disk_1.volume"});
  EXPECT_EQ(create.exit_code, 1) << create;
  EXPECT_NE(create.err.find("is paused"), std::string::npos) << create;
  Json paused = Rows({"saga", "list", "--state", "paused"});
  ASSERT_EQ(paused.size(), 1u) << paused;
  const std::string id = paused[0]["id"];
  Json show = ToolJson({"saga", "show", id});
  EXPECT_EQ(show["state"], "paused");
  EXPECT_NE(show["error"].get<std::string>().find("disk_1.volume"), std::string::npos) << show;
  Json check = ToolJson({"check"});
  EXPECT_EQ(check["ok"], true) << check;  // paused between steps: notes, not violations
  EXPECT_EQ(Rows({"saga", "list", "--stalled", "1ms"}).size(), 0u);  // not in flight: nothing is waiting on it

  Json resumed = ToolJson({"saga", "resume", id, "--by", "alice", "--reason", "volume host back"});
  EXPECT_EQ(resumed["state"], "failed") << resumed;
  Json after = ToolJson({"check"});
  EXPECT_EQ(after["ok"], true) << after;
  EXPECT_EQ(after["notes"], Json::array()) << after;
  EXPECT_EQ(after["volumes"], 0) << after;
}

// --- Beside another process.

TEST_F(CliTest, InspectionWorksAndMutationIsRefusedWhileDemoOwnsTheDatabase) {
  const Uuid stuck = MakeStuckSaga(db_, "wedged");
  ToolJson({"instance", "create", "keep", "--disks", "1"});
  const size_t sagas_before = Rows({"saga", "list"}).size();

  BackgroundSagadb demo({"--db", db_, "demo", "--instances", "200", "--disks", "11", "--seed", "7", "--json"},
                        dir_.Sub("demo.out"), dir_.Sub("demo.err"));
  // Wait until it owns the database and has started sagas, reading beside it meanwhile.
  for (;;) {
    ASSERT_TRUE(demo.Running()) << "demo ended before it was seen running:\n" << ReadFile(dir_.Sub("demo.err"));
    Outcome list = Tool({"saga", "list", "--json"});
    ASSERT_EQ(list.exit_code, 0) << list;
    if (LockHolder(db_) == demo.pid() && list.JsonOut()["sagas"].size() > std::min<size_t>(sagas_before, 99)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  // Frozen mid-run, demo still holds the database: every mutation must be refused and change nothing.
  ASSERT_TRUE(demo.Stop()) << "demo ended before it could be paused";
  const Snapshot frozen = Snap();
  const std::vector<std::vector<std::string>> mutations = {
      {"instance", "create", "intruder"},
      {"instance", "delete", "keep"},
      {"disk", "create", "spare", "--size", "1GiB"},
      {"disk", "detach", "keep-d0", "keep"},
      {"disk", "delete", "keep-d0"},
      {"saga", "abandon", stuck.ToString(), "--reason", "while demo runs"},
      {"saga", "cancel", stuck.ToString(), "--by", "alice"},
      {"saga", "resume", stuck.ToString(), "--by", "alice"},
      {"saga", "prune", "--keep", "0"},
      {"recover"},
      {"demo", "--instances", "1"},
  };
  for (const auto& args : mutations) {
    Outcome o = Tool(args);
    ExpectOneLineError(o, 1);
    EXPECT_NE(o.err.find("in use by another process"), std::string::npos) << o;
  }
  EXPECT_EQ(Snap(), frozen);
  demo.Continue();

  // Read beside it while it runs (however far it has got).
  for (int poll = 0; poll < 5 && demo.Running(); ++poll) {
    Outcome list = Tool({"saga", "list", "--json"});
    EXPECT_EQ(list.exit_code, 0) << list;
    EXPECT_TRUE(list.JsonOut()["sagas"].is_array()) << list;
    Outcome check = Tool({"check", "--json"});
    EXPECT_EQ(check.exit_code, 0) << check;
    EXPECT_EQ(check.JsonOut()["ok"], true) << check;
    Outcome stats = Tool({"stats", "--json"});
    EXPECT_EQ(stats.exit_code, 0) << stats;
    EXPECT_GE(stats.JsonOut()["sagas"].get<size_t>(), sagas_before) << stats;
  }

  ASSERT_EQ(demo.Wait(), 0) << ReadFile(dir_.Sub("demo.out")) << ReadFile(dir_.Sub("demo.err"));
  Json report = Json::parse(ReadFile(dir_.Sub("demo.out")), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["succeeded"].get<int>() + report["failed"].get<int>(), 200);

  // Afterwards: the demo's sagas and nothing of the refused commands.
  EXPECT_EQ(Rows({"saga", "list"}).size(), sagas_before + 200);
  EXPECT_EQ(ToolJson({"saga", "show", stuck.ToString()})["state"], "stuck");
  ExpectOneLineError(Tool({"instance", "show", "intruder"}), 1);
  ExpectOneLineError(Tool({"disk", "show", "spare"}), 1);
  EXPECT_EQ(ToolJson({"instance", "show", "keep"})["state"], "stopped");
  EXPECT_EQ(ToolJson({"disk", "show", "keep-d0"})["state"], "attached");
}

// --- Bad input: one line on stderr, the right exit code, nothing written.

TEST_F(CliTest, BadInputIsOneLineOnStderrAndChangesNothing) {
  CreateWeb();
  ToolJson({"disk", "create", "solo-d0", "--size", "1GiB"});
  const std::string saga = Rows({"saga", "list"})[0]["id"];
  const Snapshot before = Snap();
  struct Case {
    std::vector<std::string> args;
    int exit_code;
  };
  const std::vector<Case> cases = {
      // Usage.
      {{}, 2},
      {{"frobnicate"}, 2},
      {{"--bogus", "saga", "list"}, 2},
      {{"instance"}, 2},
      {{"instance", "frob"}, 2},
      {{"instance", "list", "--bogus"}, 2},
      {{"instance", "list", "extra"}, 2},
      {{"instance", "create", "Bad_Name"}, 2},
      {{"instance", "create", "web2", "--project", "Bad Project"}, 2},
      {{"instance", "create", "web2", "--disk-size", "10XB"}, 2},
      {{"instance", "create", "web2", "--memory", "lots"}, 2},
      {{"instance", "create", "web2", "--disks", "13"}, 2},
      {{"instance", "create", "web2", "--disks", "two"}, 2},
      {{"instance", "create", "web2", "--cpus", "0"}, 2},
      {{"disk", "create", "spare"}, 2},
      {{"disk", "create", "spare", "--size", "0"}, 2},
      {{"disk", "create", "spare", "--size", "1.5GiB"}, 2},
      {{"saga", "show"}, 2},
      {{"saga", "show", "not-a-uuid"}, 2},
      {{"saga", "list", "--state", "weird"}, 2},
      {{"saga", "list", "--state", "running,weird"}, 2},
      {{"saga", "list", "--limit", "-1"}, 2},
      {{"saga", "list", "--after", "page-2"}, 2},
      {{"saga", "list", "--since", "yesterday"}, 2},
      {{"saga", "list", "--until", "2026-13-01T00:00:00Z"}, 2},
      {{"saga", "list", "--stalled", "soon"}, 2},
      {{"saga", "list", "--stalled", "30m", "--state", "running"}, 2},
      {{"instance", "list", "--state", "succeeded"}, 2},
      {{"disk", "list", "--after", "x"}, 2},
      {{"saga", "prune", "--keep", "-1"}, 2},
      {{"saga", "prune", "--keep", "many"}, 2},
      {{"saga", "prune", "--max-age", "5y"}, 2},
      {{"saga", "prune", "--keep", "all", "--max-age", "none"}, 2},
      {{"saga", "abandon", saga}, 2},
      {{"saga", "abandon", saga, "--reason", ""}, 2},
      {{"demo", "--instances", "0"}, 2},
      {{"demo", "--fail-rate", "2"}, 2},
      {{"demo", "--permanent-rate", "1"}, 2},
      // Unknown ids and names, taken names.
      {{"instance", "show", "nosuch"}, 1},
      {{"instance", "show", kZeroId}, 1},
      {{"disk", "show", "nosuch"}, 1},
      {{"saga", "show", kZeroId}, 1},
      {{"saga", "events", kZeroId}, 1},
      {{"saga", "dot", kZeroId}, 1},
      {{"saga", "abandon", kZeroId, "--reason", "x"}, 1},
      {{"instance", "delete", "nosuch"}, 1},
      {{"instance", "delete", kZeroId}, 1},
      {{"disk", "delete", "nosuch"}, 1},
      {{"disk", "attach", "nosuch", "web"}, 1},
      {{"disk", "attach", "web-d0", "nosuch"}, 1},
      {{"disk", "detach", "web-d0", kZeroId}, 1},
      {{"instance", "create", "web"}, 1},
      {{"instance", "create", "solo", "--disks", "1"}, 1},  // its disk would be "solo-d0", which is taken
      {{"disk", "create", "web-d0", "--size", "1GiB"}, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    ExpectOneLineError(Tool(c.args), c.exit_code);
  }
  EXPECT_EQ(Snap(), before);
}

TEST_F(CliTest, ADirectoryThatIsNotASagadbDatabaseIsRefusedAndLeftAlone) {
  // Not a database at all.
  const std::string stray = dir_.Sub("stray");
  fs::create_directory(stray);
  std::ofstream(stray + "/notes.txt") << "hello\n";
  // A RocksDB database of something else.
  const std::string other = dir_.Sub("other");
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, other, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "key", "value").ok());
    ASSERT_TRUE(db->Close().ok());
  }
  const std::string file = dir_.Sub("plain-file");
  std::ofstream(file) << "x";
  const std::string missing = dir_.Sub("missing");

  const std::vector<std::vector<std::string>> commands = {
      {"instance", "list"}, {"disk", "show", "x"},         {"saga", "list"}, {"check"},
      {"recover"},          {"instance", "create", "web"}, {"disk", "create", "x", "--size", "1GiB"},
      {"instance", "delete", "web"}, {"saga", "abandon", kZeroId, "--reason", "x"}, {"demo", "--instances", "1"},
      {"saga", "cancel", kZeroId}, {"saga", "resume", kZeroId}, {"stats"},
  };
  for (const std::string& db : {stray, other, file, missing}) {
    const auto files = FilesUnder(db);
    for (const auto& args : commands) {
      // Creating commands create a database in a missing directory, as they should.
      if (db == missing && (args[0] == "demo" || (args.size() > 1 && args[1] == "create"))) continue;
      std::vector<std::string> full = {"--db", db};
      full.insert(full.end(), args.begin(), args.end());
      SCOPED_TRACE(::testing::PrintToString(full));
      Outcome o = RunSagadb(full);
      ExpectOneLineError(o, 1);
      if (db == stray || db == other) {
        EXPECT_NE(o.err.find("not a sagadb database"), std::string::npos) << o;
      }
      EXPECT_EQ(FilesUnder(db), files);
    }
    EXPECT_EQ(fs::exists(missing), false);
  }
  std::vector<std::string> cfs;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), other, &cfs).ok());
  EXPECT_EQ(cfs, std::vector<std::string>{"default"});
}

// The exit code follows the error's code, never its text: a database path that happens to read like a usage
// error is still a failure to open the database (exit 1), and a saga the database refuses to start is the
// operation failing.
TEST_F(CliTest, ExitCodesFollowTheErrorNotItsWording) {
  const std::string odd = dir_.Sub("this is not a saga id, it must be a name");
  fs::create_directory(odd);
  std::ofstream(odd + "/notes.txt") << "hello\n";
  for (const char* command : {"show", "events", "dot"}) {
    SCOPED_TRACE(command);
    ExpectOneLineError(RunSagadb({"--db", odd, "saga", command, kZeroId}), 1);
    ExpectOneLineError(RunSagadb({"--db", odd, "saga", command, "not-a-uuid"}), 2);
  }
  const Uuid stuck = MakeStuckSaga(db_, "must-stay");  // its instance stays "creating"
  ASSERT_FALSE(stuck.IsNil());
  Outcome refused = Tool({"instance", "delete", "must-stay"});
  ExpectOneLineError(refused, 1);
  EXPECT_NE(refused.err.find("cannot be deleted in state \"creating\""), std::string::npos) << refused;
}

TEST_F(CliTest, HelpExitsZero) {
  Outcome o = RunSagadb({"--help"});
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_NE(o.out.find("saga"), std::string::npos) << o;
  EXPECT_EQ(o.err, "");
}

// --- The history: pages, filters, stalled sagas, retention.

// Lines of stdout.
std::vector<std::string> OutLines(const Outcome& o) {
  std::vector<std::string> lines;
  std::string line;
  for (char c : o.out) {
    if (c == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  return lines;
}

TEST_F(CliTest, ListingsComeInPagesWithACursorInEachForm) {
  for (int i = 0; i < 5; ++i) ToolJson({"instance", "create", "p" + std::to_string(i), "--disks", "0"});
  const Json all = Rows({"saga", "list"});
  ASSERT_EQ(all.size(), 5u);

  // --json: a document per page, with the cursor of the next.
  Json rows = Json::array();
  std::string after;
  std::vector<size_t> sizes;
  for (int page = 0; page < 5; ++page) {
    std::vector<std::string> args = {"saga", "list", "--limit", "2"};
    if (!after.empty()) args.insert(args.end(), {"--after", after});
    Json j = ToolJson(args);
    sizes.push_back(j["sagas"].size());
    for (const auto& r : j["sagas"]) rows.push_back(r);
    if (j["next"].is_null()) break;
    EXPECT_EQ(j["next"], j["sagas"].back()["id"]);
    after = j["next"];
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(rows, all);

  // --jsonl: a line per saga, then the cursor.
  Outcome jsonl = Tool({"saga", "list", "--limit", "2", "--jsonl"});
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl;
  std::vector<std::string> lines = OutLines(jsonl);
  ASSERT_EQ(lines.size(), 3u) << jsonl;
  EXPECT_EQ(Json::parse(lines[0]), all[0]);
  EXPECT_EQ(Json::parse(lines[1]), all[1]);
  EXPECT_EQ(Json::parse(lines[2]), Json({{"next", all[1]["id"]}}));
  Outcome last = Tool({"saga", "list", "--jsonl", "--after", all[3]["id"]});
  EXPECT_EQ(OutLines(last), std::vector<std::string>{all[4].dump()}) << last;

  // The table says where the next page starts.
  Outcome table = Tool({"saga", "list", "--limit", "4"});
  ASSERT_EQ(table.exit_code, 0) << table;
  EXPECT_EQ(OutLines(table).size(), 6u) << table;
  EXPECT_EQ(OutLines(table).back(), "(more: --after " + all[3]["id"].get<std::string>() + ")") << table;

  // Records page alike, and filter by state.
  Json instances = ToolJson({"instance", "list", "--limit", "3", "--state", "stopped,creating"});
  EXPECT_EQ(instances["instances"].size(), 3u);
  EXPECT_EQ(instances["next"], instances["instances"][2]["id"]);
  EXPECT_EQ(Rows({"instance", "list", "--state", "destroyed"}), Json::array());
  EXPECT_EQ(Rows({"disk", "list"}), Json::array());
}

TEST_F(CliTest, SagaListFiltersByKindAndCreationTime) {
  ToolJson({"instance", "create", "web", "--disks", "0"});
  ToolJson({"disk", "create", "spare", "--size", "1GiB"});
  EXPECT_EQ(Rows({"saga", "list", "--kind", "disk-create"}).size(), 1u);
  EXPECT_EQ(Rows({"saga", "list", "--kind", "instance-create", "--state", "succeeded"}).size(), 1u);
  EXPECT_EQ(Rows({"saga", "list", "--kind", "disk-delete"}), Json::array());
  EXPECT_EQ(Rows({"saga", "list", "--since", "1h"}).size(), 2u);
  EXPECT_EQ(Rows({"saga", "list", "--until", "1h"}), Json::array());
  EXPECT_EQ(Rows({"saga", "list", "--since", "2000-01-01T00:00:00Z", "--until", "2100-01-01T01:00:00+01:00"}).size(),
            2u);
  EXPECT_EQ(Rows({"saga", "list", "--since", "2100-01-01T00:00:00.5Z"}), Json::array());
}

TEST_F(CliTest, StatsCountsTheSagasByStateAndKindAndNamesTheOldestInFlightAndTheStalled) {
  Outcome empty = Tool({"stats"});
  ASSERT_EQ(empty.exit_code, 1) << empty;  // there is no database yet
  ToolJson({"instance", "create", "web", "--disks", "2"});
  ToolJson({"instance", "create", "api", "--disks", "0"});
  ToolJson({"disk", "create", "spare", "--size", "1GiB"});
  ASSERT_EQ(Tool({"disk", "attach", "web-d0", "api"}).exit_code, 1);  // attached elsewhere: the saga fails
  const Uuid stuck = MakeStuckSaga(db_, "wedged");
  const Uuid cut = MakeInterruptedSaga(db_, "cut");  // last: any later read-write open would resume it
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  Json st = ToolJson({"stats"});
  EXPECT_EQ(st["sagas"], 6) << st;
  EXPECT_EQ(st["finished"], 4);
  EXPECT_EQ(st["unfinished"], 2);
  EXPECT_EQ(st["by_state"], (Json{{"succeeded", 3}, {"failed", 1}, {"stuck", 1}, {"running", 1}})) << st;
  EXPECT_EQ(st["by_kind"], (Json{{"instance-create", {{"succeeded", 2}, {"stuck", 1}, {"running", 1}, {"total", 4}}},
                                 {"disk-create", {{"succeeded", 1}, {"total", 1}}},
                                 {"disk-attach", {{"failed", 1}, {"total", 1}}}}))
      << st;
  ASSERT_TRUE(st["oldest_in_flight"].is_object()) << st;  // the running one, not the older stuck one
  EXPECT_EQ(st["oldest_in_flight"]["id"], cut.ToString());
  EXPECT_EQ(st["oldest_in_flight"]["kind"], "instance-create");
  EXPECT_EQ(st["oldest_in_flight"]["state"], "running");
  EXPECT_GE(st["oldest_in_flight"]["age_seconds"].get<double>(), 0.02);
  EXPECT_EQ(st["stalled_after_seconds"], 1800.0);
  EXPECT_EQ(st["stalled"], Json::array()) << "quiet for less than the default 30m";
  EXPECT_EQ(st["source"], "index");

  Json quiet = ToolJson({"stats", "--stalled", "10ms"});
  ASSERT_EQ(quiet["stalled"].size(), 1u) << quiet;  // not the stuck one
  const Json& s = quiet["stalled"][0];
  EXPECT_EQ(s["id"], cut.ToString());
  EXPECT_EQ(s["state"], "running");
  EXPECT_EQ(s["last_event"]["node"], "disk_0.volume");
  EXPECT_EQ(s["last_event"]["type"], "started");
  EXPECT_GE(s["quiet_seconds"].get<double>(), 0.01);
  EXPECT_EQ(quiet["stalled_after_seconds"], 0.01);

  Outcome table = Tool({"stats", "--stalled", "10ms"});
  ASSERT_EQ(table.exit_code, 0) << table;
  EXPECT_EQ(table.err, "");
  EXPECT_TRUE(table.out.starts_with("6 sagas: 4 finished, 2 not finished\n")) << table;
  EXPECT_NE(table.out.find("\ninstance-create          4       1         2       0       1\n"), std::string::npos)
      << table;
  EXPECT_NE(table.out.find("oldest in flight: " + cut.ToString() + " instance-create running"), std::string::npos)
      << table;
  EXPECT_NE(table.out.find("stalled (no event for 10ms): 1"), std::string::npos) << table;
  EXPECT_EQ(ToolJson({"saga", "show", stuck.ToString()})["state"], "stuck");
  ExpectOneLineError(Tool({"stats", "--stalled", "soon"}), 2);
}

TEST_F(CliTest, SagaListStalledShowsSagasInFlightThatHaveBeenQuietWithTheirLastEvent) {
  ToolJson({"instance", "create", "fine", "--disks", "0"});
  const Uuid stuck = MakeStuckSaga(db_, "wedged");
  const Uuid cut = MakeInterruptedSaga(db_, "cut");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Json stalled = ToolJson({"saga", "list", "--stalled", "10ms"});
  ASSERT_EQ(stalled["sagas"].size(), 1u) << stalled;  // not the stuck one, not the finished one
  const Json& s = stalled["sagas"][0];
  EXPECT_EQ(s["id"], cut.ToString());
  EXPECT_EQ(s["state"], "running");
  ASSERT_TRUE(s["last_event"].is_object()) << s;
  // Its first round ended with the start of its volume file, and nothing after it became durable.
  EXPECT_EQ(s["last_event"]["type"], "started");
  EXPECT_EQ(s["last_event"]["node"], "disk_0.volume");
  EXPECT_TRUE(s["last_event"]["time"].is_string());
  EXPECT_GE(s["quiet_seconds"].get<double>(), 0.01);
  EXPECT_TRUE(stalled["next"].is_null());
  Outcome table = Tool({"saga", "list", "--stalled", "10ms"});
  ASSERT_EQ(table.exit_code, 0) << table;
  EXPECT_NE(table.out.find(cut.ToString()), std::string::npos) << table;
  EXPECT_NE(table.out.find("disk_0.volume started"), std::string::npos) << table;
  EXPECT_EQ(Rows({"saga", "list", "--stalled", "1h"}), Json::array());
  (void)stuck;
}

TEST_F(CliTest, SagaPruneRemovesFinishedSagasOnlyAndTheDryRunChangesNothing) {
  for (int i = 0; i < 4; ++i) ToolJson({"instance", "create", "p" + std::to_string(i), "--disks", "1"});
  const Uuid stuck = MakeStuckSaga(db_, "wedged");
  const Snapshot before = Snap();
  Json dry = ToolJson({"saga", "prune", "--keep", "1", "--dry-run"});
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(dry["sagas"], 3);
  EXPECT_EQ(dry["succeeded"], 3);
  EXPECT_EQ(dry["batches"], 0);
  EXPECT_EQ(dry["ids"].size(), 3u);
  EXPECT_GT(dry["events"].get<int>(), 3 * 5);
  EXPECT_EQ(Snap(), before);
  Outcome text = Tool({"saga", "prune", "--keep", "1", "--dry-run"});
  EXPECT_EQ(text.exit_code, 0) << text;
  EXPECT_TRUE(text.out.starts_with("would prune 3 finished sagas")) << text;

  Json done = ToolJson({"saga", "prune", "--keep", "1"});
  EXPECT_EQ(done["dry_run"], false);
  EXPECT_EQ(done["ids"], dry["ids"]);
  EXPECT_GE(done["batches"].get<int>(), 1);
  Json left = Rows({"saga", "list"});
  ASSERT_EQ(left.size(), 2u);  // the newest finished one and the stuck one
  std::set<std::string> ids;
  for (const auto& r : left) ids.insert(r["id"]);
  EXPECT_EQ(ids.count(stuck.ToString()), 1u);
  for (const auto& id : dry["ids"]) EXPECT_EQ(ids.count(id.get<std::string>()), 0u);
  // Instances, disks and volumes are untouched, and the database checks clean.
  EXPECT_EQ(Rows({"instance", "list"}).size(), 5u);
  EXPECT_EQ(Rows({"disk", "list"}).size(), 5u);
  Outcome check = Tool({"check", "--json"});
  EXPECT_EQ(check.exit_code, 0) << check;
  EXPECT_EQ(check.JsonOut()["ok"], true) << check;
  Outcome again = Tool({"saga", "prune", "--keep", "1"});
  EXPECT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(again.out, "nothing to prune\n") << again;
  EXPECT_EQ(ToolJson({"saga", "prune", "--max-age", "1h"})["sagas"], 0);
}

TEST_F(CliTest, AListingThatMeetsAnUnreadableRecordSaysSoOnStderrAndExitsOne) {
  ToolJson({"instance", "create", "web", "--disks", "0"});
  const Uuid broken = Uuid::Generate();
  {
    StoreConfig config;
    config.path = db_;
    auto store = Must(Store::Open(config));
    Batch b;
    b.Put(kSagasTable, broken.AsBytes(), "not a saga");
    b.Put(Must(store->FindTable("instances")), broken.AsBytes(), "not an instance");
    SagaIndexEntry e;
    b.Put(kSagaIndexTable, ActiveIndexKey(broken), Encode(e));  // listed in flight, unreadable
    Must(store->Write(b));
  }
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"saga", "list"}, {"saga", "list", "--json"}, {"saga", "list", "--state", "running"},
           {"instance", "list", "--jsonl"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    Outcome o = Tool(args);
    EXPECT_EQ(o.exit_code, 1) << o;
    ASSERT_EQ(o.ErrLines().size(), 1u) << o;
    EXPECT_NE(o.err.find(broken.ToString()), std::string::npos) << o;
    if (args.back() == "--json") {
      Json page = o.JsonOut();
      EXPECT_EQ(page["sagas"].size(), 1u) << o;  // the readable one is still listed
    }
  }
}

}  // namespace
}  // namespace sagadb::testing
