// The kit's child side: a process started with SAGADB_KIT_CHILD reaches a RunKit call (or
// RunChildIfRequested) for its saga, and there runs what its order says on the case's database, ending itself
// at the order's fault point. It never returns into the program: its exit status and its result file are all
// the parent reads (0: done; kCrashExitCode: stopped at the point; 1: an error of its own, in the result file).
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "engine/fault_injector.h"
#include "testing/kit_internal.h"

namespace sagadb::testing {
namespace {

Json SlotsToJson(const std::vector<SagaSlot>& slots) {
  Json out = Json::array();
  for (const SagaSlot& s : slots) out.push_back({{"id", s.id.ToString()}, {"params", s.params}});
  return out;
}

// Ends the child with an error of its own, told in the result file.
[[noreturn]] void Die(const std::string& result_path, const std::string& why) {
  ChildResult r;
  r.error = why.empty() ? "unknown error" : why;
  (void)WriteChildResult(result_path, r);
  std::_Exit(1);
}

// The action nodes of a DAG, by qualified name.
std::vector<std::string> ActionNodesOf(const SagaDag& dag) {
  std::vector<std::string> nodes;
  for (uint32_t i = 0; i < dag.nodes.size(); ++i) {
    if (dag.nodes[i].kind == NodeKind::kAction) nodes.push_back(dag.QualifiedName(i));
  }
  return nodes;
}

class Child {
 public:
  Child(const SagaUnderTest& saga, const ChildOrder& order, const CasePaths& paths)
      : saga_(saga), order_(order), paths_(paths), outcomes_(paths.outcomes) {}

  [[noreturn]] void Run(const KitOptions& options) {
    if (!outcomes_.status().ok()) Die(paths_.result, outcomes_.status().ToString());
    if (!order_.point.empty()) {
      auto point = FaultPoint::Parse(order_.point);
      if (!point) Die(paths_.result, "a fault point that does not parse: " + order_.point);
      const std::string node_file = paths_.point_node;
      probe_.Arm(*point, [node_file](const std::string& node) {
        // Which node's effect this is, for the report: one write(2), then the end, as a crash.
        if (!node.empty()) {
          const int fd = ::open(node_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
          if (fd >= 0) {
            (void)!::write(fd, node.data(), node.size());
            ::close(fd);
          }
        }
        std::_Exit(kCrashExitCode);
      });
    }
    user_ = saga_.domains(order_.world);
    DatabaseOptions o = options.database;
    o.path = order_.world + "/db";
    OpenSeams seams;
    seams.hooks = &probe_;  // before recovery runs: its writes are numbered too
    auto db = OpenDatabase(o, probe_.Wrap(user_), seams);
    if (!db.ok()) Die(paths_.result, "open: " + db.status().ToString());
    db_ = std::move(*db);
    const RecoveryReport& report = db_->recovery();
    if (!report.halted.empty()) Die(paths_.result, "recovery halted: " + report.Summary());
    for (const Uuid& id : report.finished_succeeded) Seen(id, SagaState::kSucceeded);
    for (const Uuid& id : report.finished_failed) Seen(id, SagaState::kFailed);
    for (const Uuid& id : report.finished_stuck) Seen(id, SagaState::kStuck);

    if (order_.mode == "run") {
      RunSagas();
    } else if (order_.mode == "busy") {
      RunBusy();
    } else if (order_.mode != "recover") {
      Die(paths_.result, "unknown mode " + order_.mode);
    }
    db_->WaitIdle();
    ChildResult result;
    result.writes = db_->impl().store().write_attempts();
    result.effects = probe_.effects();
    db_.reset();
    if (Status st = WriteChildResult(paths_.result, result); !st.ok()) Die(paths_.result, st.ToString());
    std::_Exit(0);
  }

 private:
  void Seen(const Uuid& id, SagaState state) {
    if (Status st = outcomes_.Append(id, state); !st.ok()) Die(paths_.result, st.ToString());
  }

  Result<SagaHandle> Start(const SagaSlot& slot) {
    SAGADB_ASSIGN_OR_RETURN(SagaDag dag, saga_.dag(slot.params));
    StartOptions so;
    so.id = slot.id;
    so.admission_wait = std::chrono::seconds(60);
    return db_->Start(dag, slot.params, so);
  }

  void Wait(const SagaHandle& handle) {
    auto r = handle.Wait();
    if (!r.ok()) Die(paths_.result, fmt::format("saga {} halted: {}", handle.id().ToString(), r.status().ToString()));
    Seen(r->id, r->state);
  }

  // The order's sagas, all at once.
  void RunSagas() {
    if (!order_.fail_node.empty()) {
      auto plan = std::make_shared<FaultPlan>();
      plan->FailAction(order_.fail_node, Status::InvalidRequest(kInjected));
      db_->impl().executor().SetFaultPlan(plan);
    }
    std::vector<SagaHandle> handles;
    for (const SagaSlot& slot : order_.sagas) {
      auto h = Start(slot);
      if (!h.ok()) Die(paths_.result, fmt::format("saga {} did not start: {}", slot.id.ToString(), h.status().ToString()));
      handles.push_back(*h);
    }
    for (const SagaHandle& h : handles) Wait(h);
  }

  // Sagas back to back on `threads` threads; with the seed, about one in four has a node failing and one in
  // eight an undo failing twice transiently.
  void RunBusy() {
    if (!saga_.params_for) Die(paths_.result, "random kills need params_for");
    auto dag = saga_.dag(saga_.params_for(order_.first_index));
    if (!dag.ok()) Die(paths_.result, "dag: " + dag.status().ToString());
    const std::vector<std::string> nodes = ActionNodesOf(*dag);
    auto plan = std::make_shared<FaultPlan>();
    db_->impl().executor().SetFaultPlan(plan);
    Mutex mu;
    std::mt19937_64 rng(order_.seed);  // guarded by mu
    int started = 0;                   // guarded by mu
    std::vector<std::thread> workers;
    for (int t = 0; t < std::max(1, order_.threads); ++t) {
      workers.emplace_back([&] {
        for (;;) {
          int index;
          {
            MutexLock lock(&mu);
            if (started >= order_.count) return;
            index = order_.first_index + started++;
            const std::string& node = nodes[rng() % nodes.size()];
            switch (rng() % 8) {
              case 0:
              case 1: plan->FailAction(node, Status::InvalidRequest(kInjected), 1); break;
              case 2: plan->FailUndo(node, Status::Transient(kInjected), 2); break;
              default: break;
            }
          }
          const SagaSlot slot{Uuid::Generate(), saga_.params_for(index)};
          auto h = Start(slot);
          if (!h.ok()) Die(paths_.result, fmt::format("saga {} did not start: {}", index, h.status().ToString()));
          Wait(*h);
        }
      });
    }
    for (auto& w : workers) w.join();
  }

  const SagaUnderTest& saga_;
  const ChildOrder& order_;
  const CasePaths& paths_;
  OutcomeWriter outcomes_;
  KitProbe probe_;  // outlives the database
  Domains user_;
  std::unique_ptr<Database> db_;
};

}  // namespace

Status WriteOrder(const std::string& path, const ChildOrder& o) {
  Json j = {{"saga", o.saga},           {"mode", o.mode},   {"world", o.world},
            {"point", o.point},         {"sagas", SlotsToJson(o.sagas)},
            {"fail_node", o.fail_node}, {"seed", o.seed},   {"first_index", o.first_index},
            {"count", o.count},         {"threads", o.threads}};
  std::ofstream out(path, std::ios::trunc);
  out << j.dump();
  if (!out.flush()) return Status::IOError("cannot write " + path);
  return Status::OK();
}

Result<ChildOrder> ReadOrder(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidRequest("the kit's child order does not parse: " + path);
  try {
    ChildOrder o;
    o.saga = j.at("saga").get<std::string>();
    o.mode = j.at("mode").get<std::string>();
    o.world = j.at("world").get<std::string>();
    o.point = j.at("point").get<std::string>();
    for (const Json& s : j.at("sagas")) {
      auto id = Uuid::Parse(s.at("id").get<std::string>());
      if (!id) return Status::InvalidRequest("a saga id of the kit's child order does not parse");
      o.sagas.push_back({*id, s.at("params")});
    }
    o.fail_node = j.at("fail_node").get<std::string>();
    o.seed = j.at("seed").get<uint64_t>();
    o.first_index = j.at("first_index").get<int>();
    o.count = j.at("count").get<int>();
    o.threads = j.at("threads").get<int>();
    return o;
  } catch (const std::exception& e) {
    return Status::InvalidRequest(std::string("the kit's child order has the wrong shape: ") + e.what());
  }
}

std::optional<ChildOrder> OrderFromEnvironment() {
  const char* path = std::getenv(kChildEnv);
  if (path == nullptr || *path == '\0') return std::nullopt;
  auto order = ReadOrder(path);
  if (!order.ok()) {
    // Nothing to run and nowhere to say why but the exit status: the parent reports the child's output.
    std::_Exit(1);
  }
  return *order;
}

Result<ChildResult> ReadChildResult(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::NotFound("the child wrote no result");
  ChildResult r;
  r.writes = j.value("writes", uint64_t{0});
  r.effects = j.value("effects", uint64_t{0});
  r.error = j.value("error", std::string());
  return r;
}

Status WriteChildResult(const std::string& path, const ChildResult& r) {
  Json j = {{"writes", r.writes}, {"effects", r.effects}};
  if (!r.error.empty()) j["error"] = r.error;
  std::ofstream out(path, std::ios::trunc);
  out << j.dump();
  if (!out.flush()) return Status::IOError("cannot write " + path);
  return Status::OK();
}

void RunChildPart(const SagaUnderTest& saga, const KitOptions& options, const ChildOrder& order) {
  // The case's directory is the one holding the order.
  const char* order_path = std::getenv(kChildEnv);
  const std::string dir = std::filesystem::path(order_path).parent_path().string();
  const CasePaths paths(dir);
  Child child(saga, order, paths);
  child.Run(options);
}

}  // namespace sagadb::testing
