// The kit's parent side: templates, the clean run, opening cases, and the report (kit_checks.cc checks how
// sagas ended).
#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "log/replay.h"
#include "log/saga_log.h"
#include "testing/kit_internal.h"
#include "testing/log_checks.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kDefaultSeed = 20250611;

// Where the kit makes its scratch directory: SAGADB_KIT_DIR, else /dev/shm when it can, else TMPDIR or /tmp.
// Memory is enough: a crash the kit makes is a process's, which keeps what reached the page cache, and its power
// losses are simulated by an Env; a real disk would only add the cost of its fsyncs to every case.
std::string DefaultScratchParent() {
  for (const char* env : {kDirEnv}) {
    if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return v;
  }
  if (::access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

}  // namespace

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string all;
  for (size_t i = 0; i < parts.size(); ++i) all += (i ? std::string(sep) : "") + parts[i];
  return all;
}

bool NeedsOperator(SagaState state) {
  return state == SagaState::kStuck || ToString(state) == "paused";
}

std::string Shorten(std::string text, size_t max) {
  if (text.size() > max) text = text.substr(0, max) + " ...";
  return text;
}

CasePaths::CasePaths(std::string case_dir)
    : dir(std::move(case_dir)),
      world(dir + "/world"),
      db(world + "/db"),
      order(dir + "/kit-order.json"),
      result(dir + "/kit-result.json"),
      outcomes(dir + "/kit-outcomes"),
      output(dir + "/kit-child.out"),
      point_node(dir + "/kit-point-node") {}

SagaResult ResultOf(const SagaRecord& record) {
  SagaResult r;
  r.id = record.id;
  r.state = record.state;
  if (!record.output.empty()) r.output = Json::parse(record.output, nullptr, /*allow_exceptions=*/false);
  if (r.output.is_discarded()) r.output = Json();
  if (record.error_node >= 0 && static_cast<size_t>(record.error_node) < record.nodes.size()) {
    r.error_node = QualifiedName(record.nodes, record.scopes, static_cast<uint32_t>(record.error_node));
  }
  if (record.error_code != 0) r.error = Status::FromCode(record.error_code, record.error);
  return r;
}

DatabaseOptions KitOptions::FastDatabaseOptions() {
  DatabaseOptions o;
  o.executor.threads = 8;
  o.executor.forward_retry.initial_backoff = std::chrono::microseconds(100);
  o.executor.forward_retry.max_backoff = std::chrono::microseconds(2'000);
  o.executor.undo_retry.initial_backoff = std::chrono::microseconds(100);
  o.executor.undo_retry.max_backoff = std::chrono::microseconds(5'000);
  o.executor.log_retry.initial_backoff = std::chrono::microseconds(100);
  o.executor.log_retry.max_backoff = std::chrono::microseconds(5'000);
  // Small tables, few background threads: a kit opens hundreds of small databases.
  o.store.write_buffer_bytes = 1 << 20;
  o.store.block_cache_bytes = 1 << 20;
  o.store.max_background_jobs = 1;
  o.store.keep_info_log_files = 1;
  return o;
}

std::string KitFailure::Reproduce() const {
  return fmt::format("{}='{}' {}={}", kOnlyEnv, case_id, kSeedEnv, seed);
}

std::string KitFailure::ToString() const {
  std::string where;
  if (!node.empty()) where += " node " + node;
  if (write != 0) where += fmt::format(" write {}", write);
  return fmt::format("{}{}: {} [reproduce: {}]", case_id, where, message, Reproduce());
}

size_t KitReport::CountCases(std::string_view phase) const {
  return std::count_if(cases.begin(), cases.end(), [&](const KitCase& c) {
    return c.id.substr(0, c.id.find('/')) == phase;
  });
}

const KitCase* KitReport::FindCase(std::string_view id) const {
  for (const KitCase& c : cases) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::string KitReport::Describe() const {
  std::map<std::string, size_t> phases;
  for (const KitCase& c : cases) phases[c.id.substr(0, c.id.find('/'))]++;
  std::vector<std::string> parts;
  for (const auto& [phase, n] : phases) parts.push_back(fmt::format("{} {}", phase, n));
  const std::string counted =
      writes == 0 ? "" : fmt::format(", {} writes and {} effects in a run without faults", writes, effects);
  std::string out = fmt::format("saga {}: {} cases ({}){}, {:.1f} s, seed {}: ", saga, cases.size(),
                                Join(parts, ", "), counted, seconds, seed);
  out += failures.empty() ? "ok\n" : fmt::format("{} failed\n", failures.size());
  for (const KitFailure& f : failures) out += "  " + f.ToString() + "\n";
  return out;
}

bool IsKitChild() { return std::getenv(kChildEnv) != nullptr; }

void RunChildIfRequested(std::initializer_list<const SagaUnderTest*> sagas, const KitOptions& options) {
  auto order = OrderFromEnvironment();
  if (!order) return;
  for (const SagaUnderTest* saga : sagas) {
    if (saga != nullptr && saga->name == order->saga) RunChildPart(*saga, options, *order);
  }
}

KitReport RunKit(const SagaUnderTest& saga, const KitOptions& options) {
  if (IsKitChild()) {
    auto order = OrderFromEnvironment();
    if (order && order->saga == saga.name) RunChildPart(saga, options, *order);
    KitReport skipped;  // a child started for another saga of this program
    skipped.saga = saga.name;
    return skipped;
  }
  Kit kit(saga, options);
  return kit.Run();
}

Kit::Kit(const SagaUnderTest& saga, const KitOptions& options) : saga_(saga), options_(options) {
  report_.saga = saga.name;
  report_.seed = options.seed != 0 ? options.seed : kDefaultSeed;
  if (const char* env = std::getenv(kSeedEnv); env != nullptr && *env != '\0') {
    report_.seed = std::strtoull(env, nullptr, 10);
  }
  only_ = options.only;
  if (const char* env = std::getenv(kOnlyEnv); env != nullptr) only_ = env;
}

Kit::~Kit() {
  if (own_scratch_ && !options_.keep_scratch && !scratch_.empty()) {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
}

KitReport Kit::Run() {
  start_ = std::chrono::steady_clock::now();
  auto finish = [this] {
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    MutexLock lock(&mu_);
    report_.failures = failures_;
    report_.cases = cases_;
    return report_;
  };
  std::vector<std::string> missing;
  if (saga_.name.empty()) missing.push_back("name");
  if (!saga_.domains) missing.push_back("domains");
  if (!saga_.dag) missing.push_back("dag");
  if (!saga_.check_succeeded) missing.push_back("check_succeeded");
  if (!saga_.check_unchanged) missing.push_back("check_unchanged");
  if (options_.concurrent > 1 && !saga_.params_for) missing.push_back("params_for (KitOptions::concurrent > 1)");
  if (options_.random_kill_rounds > 0 && !saga_.params_for) missing.push_back("params_for (random kills)");
  if (!missing.empty()) {
    Fail("setup", "", 0, {"the saga under test has no " + Join(missing, ", ")});
    return finish();
  }
  if (options_.scratch_dir.empty()) {
    std::string pattern = (fs::path(DefaultScratchParent()) / "sagadb-kit-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      Fail("setup", "", 0, {"cannot make a scratch directory under " + pattern});
      return finish();
    }
    scratch_ = pattern;
    own_scratch_ = true;
  } else {
    scratch_ = options_.scratch_dir;
    std::error_code ec;
    fs::create_directories(scratch_, ec);
  }

  if (Status st = PrepareTemplates(); !st.ok()) {
    Fail("setup", "", 0, {st.ToString()});
    return finish();
  }
  if (Status st = CleanRun(); !st.ok()) {
    Fail("clean", "", 0, {st.ToString()});
    return finish();
  }
  const std::vector<std::pair<bool, void (Kit::*)()>> phases = {
      {options_.idempotency, &Kit::Idempotency},
      {options_.node_failures, &Kit::NodeFailures},
      {options_.undo_failures, &Kit::UndoFailures},
      {options_.random_pressure_runs > 0, &Kit::RandomPressure},
      {options_.crashes, &Kit::Crashes},
      {options_.power_loss, &Kit::PowerLoss},
      {options_.recovery_crashes, &Kit::RecoveryCrashes},
      {options_.random_kill_rounds > 0, &Kit::RandomKills},
  };
  for (const auto& [enabled, phase] : phases) {
    if (enabled && FailureCount() < options_.max_failures) (this->*phase)();
  }
  return finish();
}

std::vector<SagaSlot> Kit::Slots(bool several) const {
  std::vector<SagaSlot> slots;
  if (!several || options_.concurrent <= 1) {
    slots.push_back({Uuid::Generate(), saga_.params});
  } else {
    for (int i = 0; i < options_.concurrent; ++i) slots.push_back({Uuid::Generate(), saga_.params_for(i)});
  }
  return slots;
}

Status Kit::PrepareTemplates() {
  template_one_ = scratch_ + "/template-1/world";
  SAGADB_RETURN_IF_ERROR(PrepareTemplate(template_one_, {saga_.params}, /*take_baseline=*/true));
  if (options_.concurrent > 1) {
    template_several_ = fmt::format("{}/template-{}/world", scratch_, options_.concurrent);
    std::vector<Json> params;
    for (int i = 0; i < options_.concurrent; ++i) params.push_back(saga_.params_for(i));
    SAGADB_RETURN_IF_ERROR(PrepareTemplate(template_several_, params, /*take_baseline=*/false));
  }
  return Status::OK();
}

Status Kit::PrepareTemplate(const std::string& world, const std::vector<Json>& params, bool take_baseline) {
  std::error_code ec;
  fs::create_directories(world, ec);
  if (ec) return Status::IOError(fmt::format("cannot make {}: {}", world, ec.message()));
  SAGADB_ASSIGN_OR_RETURN(Opened run, Open(world));
  const std::optional<SagaResult> none;
  for (const Json& p : params) {
    if (!saga_.setup) break;
    RunContext ctx{*run.db, world, run.user, p, none, baseline_};
    Status st;
    try {
      st = saga_.setup(ctx);
    } catch (const std::exception& e) {
      st = Status::Internal(fmt::format("setup threw: {}", e.what()));
    }
    if (!st.ok()) return Status::FromCode(static_cast<uint8_t>(st.code()), "setup: " + st.message());
  }
  run.db->WaitIdle();
  if (take_baseline && saga_.snapshot) {
    RunContext ctx{*run.db, world, run.user, params[0], none, baseline_};
    auto snap = saga_.snapshot(ctx);
    if (!snap.ok()) return Status::FromCode(static_cast<uint8_t>(snap.status().code()), "snapshot: " + snap.status().message());
    baseline_ = std::move(*snap);
  }
  return Status::OK();
}

// Runs the saga once without faults: it must succeed (nothing else can be tested otherwise). Gives the action
// nodes and their kinds, and the snapshot of success.
Status Kit::CleanRun() {
  const std::string id = "clean";
  SAGADB_ASSIGN_OR_RETURN(CasePaths paths, NewCase(false));
  SAGADB_ASSIGN_OR_RETURN(Opened run, Open(paths.world));
  auto dag = saga_.dag(saga_.params);
  if (!dag.ok()) return Status::FromCode(static_cast<uint8_t>(dag.status().code()), "dag: " + dag.status().message());
  for (uint32_t i = 0; i < dag->nodes.size(); ++i) {
    if (dag->nodes[i].kind != NodeKind::kAction) continue;
    const ActionDef* def = run.db->impl().registry().Find(dag->nodes[i].action);
    if (def == nullptr) return Status::InvalidRequest("no domain registers action " + dag->nodes[i].action);
    nodes_.push_back({dag->QualifiedName(i), def->kind == ActionKind::kExternal, static_cast<bool>(def->undo)});
  }
  if (nodes_.empty()) return Status::InvalidRequest("the saga has no action node");
  const std::vector<SagaSlot> slots = Slots(false);
  auto handle = Start(*run.db, slots[0]);
  if (!handle.ok()) return handle.status();
  auto result = handle->Wait();
  if (!result.ok()) return Status::Internal("the saga halted without faults: " + result.status().ToString());
  if (result->state != SagaState::kSucceeded) {
    return Status::Internal(fmt::format("without faults the saga ended {} (at {}: {})", ToString(result->state),
                                        result->error_node, result->error.ToString()));
  }
  std::vector<std::string> why;
  Expect expect;
  expect.may_fail = false;
  const std::string outcome = CheckEnd(run, paths.world, slots, expect, &why);
  Record(id, outcome);
  if (!why.empty()) return Status::Internal(Join(why, "; "));
  if (saga_.snapshot) {
    std::optional<SagaResult> r = *result;
    RunContext ctx{*run.db, paths.world, run.user, slots[0].params, r, baseline_};
    auto snap = saga_.snapshot(ctx);
    if (!snap.ok()) return snap.status();
    success_ = std::move(*snap);
  }
  return Status::OK();
}

Result<CasePaths> Kit::NewCase(bool several) {
  CasePaths paths(fmt::format("{}/case-{}", scratch_, next_case_++));
  std::error_code ec;
  fs::remove_all(paths.dir, ec);
  fs::create_directories(paths.dir, ec);
  if (ec) return Status::IOError(fmt::format("cannot make {}: {}", paths.dir, ec.message()));
  if (!options_.keep_scratch) {
    // Done with once the case is: keep the scratch directory small.
    paths.cleanup = std::shared_ptr<void>(nullptr, [dir = paths.dir](void*) {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    });
  }
  SAGADB_RETURN_IF_ERROR(CopyTree(several && options_.concurrent > 1 ? template_several_ : template_one_, paths.world));
  return paths;
}

Result<Kit::Opened> Kit::Open(const std::string& world, rocksdb::Env* env, bool probe_hooks) {
  Opened run;
  run.user = saga_.domains(world);
  run.probe = std::make_unique<KitProbe>();
  DatabaseOptions o = options_.database;
  o.path = world + "/db";
  OpenSeams seams;
  seams.env = env;
  seams.hooks = probe_hooks ? run.probe.get() : nullptr;
  SAGADB_ASSIGN_OR_RETURN(run.db, OpenDatabase(o, run.probe->Wrap(run.user), seams));
  return run;
}

Result<SagaHandle> Kit::Start(Database& db, const SagaSlot& slot) {
  SAGADB_ASSIGN_OR_RETURN(SagaDag dag, saga_.dag(slot.params));
  StartOptions so;
  so.id = slot.id;
  so.admission_wait = std::chrono::seconds(60);
  return db.Start(dag, slot.params, so);
}

bool Kit::Wanted(const std::string& case_id) const {
  if (FailureCount() >= options_.max_failures) return false;
  return only_.empty() || case_id.starts_with(only_);
}

bool Kit::WantedGroup(const std::string& prefix) const {
  if (FailureCount() >= options_.max_failures) return false;
  return only_.empty() || prefix.starts_with(only_) || only_.starts_with(prefix);
}

size_t Kit::FailureCount() const {
  MutexLock lock(&mu_);
  return failures_.size();
}

void Kit::Record(const std::string& case_id, const std::string& outcome) {
  MutexLock lock(&mu_);
  cases_.push_back({case_id, outcome});
}

void Kit::RunCases(const std::vector<std::function<void()>>& cases) {
  const size_t jobs = std::min<size_t>(std::max(1, options_.jobs), cases.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < cases.size();) cases[i]();
  };
  std::vector<std::thread> workers;
  for (size_t j = 1; j < jobs; ++j) workers.emplace_back(work);
  work();
  for (auto& w : workers) w.join();
}

void Kit::Fail(const std::string& case_id, const std::string& node, uint64_t write,
               const std::vector<std::string>& why) {
  KitFailure f;
  f.case_id = case_id;
  f.phase = case_id.substr(0, case_id.find('/'));
  f.node = node;
  f.write = write;
  f.seed = report_.seed;
  f.message = Join(why, "; ");
  Say("FAILED " + f.ToString());
  MutexLock lock(&mu_);
  failures_.push_back(std::move(f));
}

void Kit::Say(const std::string& line) const {
  if (options_.logger != nullptr) options_.logger->Log(LogLevel::kInfo, fmt::format("kit {}: {}", saga_.name, line));
}

}  // namespace sagadb::testing
