// The metrics a database reports (sagadb/metrics.h) and their Prometheus text: after sagas that succeed, fail,
// get stuck and halt, the snapshot counts each by outcome and kind, the index says what has not finished, and
// the text, read back line by line as a scraper reads it, is well formed and says the same.
#include "sagadb/metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/histogram.h"
#include "db/database_impl.h"
#include "engine/fault_injector.h"
#include "sagadb/database.h"
#include "sagas/fault_plan.h"
#include "tests/saga_test_util.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

// --- Reading the exposition format back.

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Family {
  std::string help;
  std::string type;
  std::vector<Sample> samples;
};

struct Exposition {
  std::map<std::string, Family> families;
  std::vector<std::string> order;  // family names as they came

  // The value of the one sample with this name and exactly these labels; nullopt if there is none.
  std::optional<double> Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& [_, f] : families) {
      for (const auto& s : f.samples) {
        if (s.name == name && s.labels == labels) return s.value;
      }
    }
    return std::nullopt;
  }
};

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

// Reads a metric or label name at `pos`; empty if there is none.
std::string ReadName(const std::string& line, size_t& pos) {
  const size_t start = pos;
  if (pos < line.size() && IsNameStart(line[pos])) {
    while (pos < line.size() && IsNameChar(line[pos])) ++pos;
  }
  return line.substr(start, pos - start);
}

double ParseValue(const std::string& text) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  size_t used = 0;
  const double v = std::stod(text, &used);
  if (used != text.size()) throw std::runtime_error("not a number: " + text);
  return v;
}

// The family a sample belongs to: its name, or for a histogram's series the name without its suffix.
std::string FamilyOf(const std::string& sample, const std::map<std::string, Family>& families) {
  if (families.count(sample) > 0) return sample;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (sample.size() > s.size() && sample.ends_with(s)) {
      const std::string base = sample.substr(0, sample.size() - s.size());
      if (families.count(base) > 0 && families.at(base).type == "histogram") return base;
    }
  }
  return "";
}

// Parses the text, failing the test at the first line that breaks the format (version 0.0.4): # HELP, then
// # TYPE, then the family's samples, one family after the other; label values with \\, \" and \n escapes.
Exposition Parse(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  std::string current;  // the family whose samples may follow
  int n = 0;
  EXPECT_TRUE(text.ends_with("\n"));
  while (std::getline(in, line)) {
    ++n;
    SCOPED_TRACE("line " + std::to_string(n) + ": " + line);
    EXPECT_FALSE(line.empty());
    if (line.starts_with("# HELP ")) {
      size_t pos = 7;
      const std::string name = ReadName(line, pos);
      EXPECT_FALSE(name.empty());
      EXPECT_EQ(e.families.count(name), 0u) << "a family is described twice";
      EXPECT_EQ(line[pos], ' ');
      e.families[name].help = line.substr(pos + 1);
      EXPECT_FALSE(e.families[name].help.empty());
      e.order.push_back(name);
      current = name;
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      size_t pos = 7;
      const std::string name = ReadName(line, pos);
      EXPECT_EQ(name, current) << "# TYPE must follow its family's # HELP";
      EXPECT_TRUE(e.families[name].type.empty()) << "a second # TYPE";
      EXPECT_TRUE(e.families[name].samples.empty()) << "# TYPE after a sample";
      const std::string type = line.substr(pos + 1);
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << type;
      e.families[name].type = type;
      continue;
    }
    EXPECT_FALSE(line.starts_with("#")) << "a comment that is neither HELP nor TYPE";
    Sample s;
    size_t pos = 0;
    s.name = ReadName(line, pos);
    EXPECT_FALSE(s.name.empty());
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      while (pos < line.size() && line[pos] != '}') {
        const std::string label = ReadName(line, pos);
        EXPECT_FALSE(label.empty());
        if (pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') {
          ADD_FAILURE() << "a label without =\"";
          return e;
        }
        pos += 2;
        std::string value;
        for (; pos < line.size() && line[pos] != '"'; ++pos) {
          if (line[pos] == '\\' && pos + 1 < line.size()) {
            const char c = line[++pos];
            EXPECT_TRUE(c == '\\' || c == '"' || c == 'n') << "an escape the format does not have";
            value += c == 'n' ? '\n' : c;
          } else {
            value += line[pos];
          }
        }
        EXPECT_LT(pos, line.size()) << "an unterminated label value";
        ++pos;
        EXPECT_EQ(s.labels.count(label), 0u) << "label " << label << " twice";
        s.labels[label] = value;
        if (pos < line.size() && line[pos] == ',') ++pos;
      }
      ++pos;  // '}'
    }
    EXPECT_LT(pos, line.size());
    EXPECT_EQ(line[pos], ' ');
    s.value = ParseValue(line.substr(pos + 1));
    const std::string family = FamilyOf(s.name, e.families);
    EXPECT_EQ(family, current) << "a sample outside its family's block";
    if (family.empty()) continue;
    e.families[family].samples.push_back(std::move(s));
  }
  return e;
}

// What every family of a given type must satisfy.
void ExpectWellTyped(const Exposition& e) {
  for (const auto& [name, f] : e.families) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(f.type.empty()) << "no # TYPE";
    if (f.type == "counter") {
      EXPECT_TRUE(name.ends_with("_total"));
      for (const auto& s : f.samples) {
        EXPECT_EQ(s.name, name);
        EXPECT_GE(s.value, 0);
        EXPECT_EQ(s.value, std::floor(s.value));
      }
    } else if (f.type == "gauge") {
      for (const auto& s : f.samples) EXPECT_EQ(s.name, name);
    } else {
      // Per label set (le aside): buckets in ascending le, cumulative, ending at +Inf, which equals _count.
      std::map<std::map<std::string, std::string>, std::vector<const Sample*>> buckets;
      std::map<std::map<std::string, std::string>, double> counts, sums;
      for (const auto& s : f.samples) {
        if (s.name == name + "_bucket") {
          auto labels = s.labels;
          EXPECT_EQ(labels.count("le"), 1u);
          labels.erase("le");
          buckets[labels].push_back(&s);
        } else if (s.name == name + "_count") {
          EXPECT_EQ(s.labels.count("le"), 0u);
          counts[s.labels] = s.value;
        } else {
          EXPECT_EQ(s.name, name + "_sum");
          sums[s.labels] = s.value;
        }
      }
      EXPECT_EQ(buckets.size(), counts.size());
      EXPECT_EQ(buckets.size(), sums.size());
      for (const auto& [labels, series] : buckets) {
        ASSERT_FALSE(series.empty());
        double le = -INFINITY, cumulative = 0;
        for (const Sample* b : series) {
          const double bound = ParseValue(b->labels.at("le"));
          EXPECT_GT(bound, le) << "le not ascending";
          EXPECT_GE(b->value, cumulative) << "buckets not cumulative";
          le = bound;
          cumulative = b->value;
        }
        EXPECT_EQ(series.back()->labels.at("le"), "+Inf");
        ASSERT_EQ(counts.count(labels), 1u);
        EXPECT_EQ(series.back()->value, counts[labels]) << "+Inf bucket != _count";
        EXPECT_GE(sums[labels], 0);
      }
    }
  }
}

double Count(const Histogram& h) { return static_cast<double>(h.count); }

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("files"));
    app_.files_dir = dir_.Sub("files");
  }

  std::unique_ptr<Database> OpenDb() {
    DatabaseOptions o;
    o.path = dir_.Sub("db");
    o.executor.threads = 4;
    o.executor.forward_retry.initial_backoff = std::chrono::microseconds(100);
    o.executor.undo_retry.initial_backoff = std::chrono::microseconds(100);
    return testing::Must(Database::Open(o, {testing::TestDomain(&app_)}));
  }

  static SagaResult RunSample(Database& db, const std::string& tag) {
    return testing::Must(db.Run(testing::SampleDag(), Json{{"tag", tag}}));
  }

  testing::ScratchDir dir_;
  testing::TestApp app_;
};

TEST_F(MetricsTest, ASnapshotCountsSagasByOutcomeAndKindAndTheIndexSaysWhatIsUnfinished) {
  auto db = OpenDb();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(RunSample(*db, "ok" + std::to_string(i)).state, SagaState::kSucceeded);
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected: d cannot run"));
  db->impl().executor().SetFaultPlan(plan);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(RunSample(*db, "no" + std::to_string(i)).state, SagaState::kFailed);
  plan->FailUndo("a", Status::Conflict("injected: a cannot be undone"), FaultPlan::kAlways);
  ASSERT_EQ(RunSample(*db, "stuck").state, SagaState::kStuck);
  db->impl().executor().SetFaultPlan(nullptr);

  const Metrics m = testing::Must(db->metrics());
  EXPECT_GT(m.time_ns, 0);
  EXPECT_EQ(m.sagas.started, 6u);
  EXPECT_EQ(m.sagas.resumed, 0u);
  EXPECT_EQ(m.sagas.Ended("succeeded"), 3u);
  EXPECT_EQ(m.sagas.Ended("failed"), 2u);
  EXPECT_EQ(m.sagas.Ended("stuck"), 1u);
  EXPECT_EQ(m.sagas.Ended("halted"), 0u);
  ASSERT_EQ(m.by_kind.size(), 1u);
  EXPECT_EQ(m.by_kind.at("sample").started, 6u);
  EXPECT_EQ(m.by_kind.at("sample").ended, m.sagas.ended);
  EXPECT_EQ(m.in_flight, 0u);
  EXPECT_EQ(m.Unfinished("stuck"), 1u);
  EXPECT_EQ(m.Unfinished("running"), 0u);
  EXPECT_EQ(m.unfinished.count("running"), 1u) << "a state in flight is listed even at zero";
  EXPECT_EQ(m.unfinished.count("succeeded"), 0u) << "finished states are history, not counted";

  EXPECT_EQ(Count(m.saga_seconds.at("succeeded")), 3);
  EXPECT_EQ(Count(m.saga_seconds.at("failed")), 2);
  EXPECT_EQ(Count(m.saga_seconds.at("stuck")), 1);
  // Each succeeded saga ran its six action nodes forward; failed and stuck ones all but d.
  EXPECT_EQ(Count(m.node_seconds), 3 * 6 + 3 * 5);
  double by_action = 0;
  for (const auto& [action, h] : m.node_seconds_by_action) by_action += Count(h);
  EXPECT_EQ(by_action, Count(m.node_seconds));
  EXPECT_GT(Count(m.node_seconds_by_action.at("test.disk")), 0);
  EXPECT_GT(m.node_seconds.sum, 0);
  EXPECT_GT(m.saga_seconds.at("succeeded").Quantile(0.5), 0);

  const Store& store = db->impl().store();
  EXPECT_EQ(m.synced_writes, store.synced_writes());
  EXPECT_EQ(Count(m.synced_write_entries), static_cast<double>(m.synced_writes));
  EXPECT_GT(m.synced_write_entries.sum, static_cast<double>(m.synced_writes)) << "rounds carry several entries";
  EXPECT_EQ(m.rounds, db->stats().rounds);
  EXPECT_EQ(Count(m.round_events), static_cast<double>(m.rounds));
  EXPECT_LE(m.rounds, m.synced_writes);
}

TEST_F(MetricsTest, ThePrometheusTextIsWellFormedAndSaysWhatTheSnapshotSays) {
  auto db = OpenDb();
  for (int i = 0; i < 4; ++i) RunSample(*db, "ok" + std::to_string(i));
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction("d", Status::InvalidRequest("injected: d cannot run"));
  plan->FailAction("sub.x", Status::Transient("injected: busy"), 2);  // retried, then it runs
  db->impl().executor().SetFaultPlan(plan);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(RunSample(*db, "no" + std::to_string(i)).state, SagaState::kFailed);
  db->impl().executor().SetFaultPlan(nullptr);

  const Metrics m = testing::Must(db->metrics());
  const std::string text = WritePrometheus(m);
  const Exposition e = Parse(text);
  ExpectWellTyped(e);
  if (HasFailure()) std::cout << text;

  for (const char* family : {"sagadb_sagas_started_total", "sagadb_sagas_ended_total", "sagadb_sagas_in_flight",
                             "sagadb_sagas_unfinished", "sagadb_saga_duration_seconds", "sagadb_node_duration_seconds",
                             "sagadb_action_duration_seconds", "sagadb_store_synced_writes_total",
                             "sagadb_store_synced_write_entries", "sagadb_saga_rounds_total", "sagadb_retries_total"}) {
    EXPECT_EQ(e.families.count(family), 1u) << family;
  }
  EXPECT_EQ(e.families.at("sagadb_saga_duration_seconds").type, "histogram");
  EXPECT_EQ(e.families.at("sagadb_sagas_unfinished").type, "gauge");

  EXPECT_EQ(e.Value("sagadb_sagas_started_total", {{"kind", "sample"}}), 7);
  EXPECT_EQ(e.Value("sagadb_sagas_ended_total", {{"kind", "sample"}, {"outcome", "succeeded"}}), 4);
  EXPECT_EQ(e.Value("sagadb_sagas_ended_total", {{"kind", "sample"}, {"outcome", "failed"}}), 3);
  EXPECT_EQ(e.Value("sagadb_sagas_ended_total", {{"kind", "sample"}, {"outcome", "stuck"}}), std::nullopt);
  EXPECT_EQ(e.Value("sagadb_sagas_in_flight"), 0);
  EXPECT_EQ(e.Value("sagadb_sagas_unfinished", {{"state", "stuck"}}), 0);
  EXPECT_EQ(e.Value("sagadb_saga_duration_seconds_count", {{"outcome", "succeeded"}}), 4);
  EXPECT_EQ(e.Value("sagadb_saga_duration_seconds_count", {{"outcome", "failed"}}), 3);
  EXPECT_EQ(e.Value("sagadb_node_duration_seconds_count"), Count(m.node_seconds));
  EXPECT_NEAR(*e.Value("sagadb_node_duration_seconds_sum"), m.node_seconds.sum, 1e-9 * m.node_seconds.sum);
  for (const auto& [action, h] : m.node_seconds_by_action) {
    EXPECT_EQ(e.Value("sagadb_action_duration_seconds_count", {{"action", action}}), Count(h)) << action;
  }
  EXPECT_EQ(e.Value("sagadb_store_synced_writes_total"), static_cast<double>(m.synced_writes));
  EXPECT_EQ(e.Value("sagadb_store_synced_write_entries_count"), static_cast<double>(m.synced_writes));
  EXPECT_EQ(e.Value("sagadb_saga_rounds_total"), static_cast<double>(m.rounds));
  EXPECT_EQ(e.Value("sagadb_retries_total", {{"what", "action"}}), static_cast<double>(m.action_retries));
  EXPECT_GE(m.action_retries, 2u);
  EXPECT_EQ(e.Value("sagadb_retries_total", {{"what", "undo"}}), 0);
  // Each bucket of one action's histogram as the snapshot has it, cumulated.
  const Histogram& disk = m.node_seconds_by_action.at("test.disk");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < disk.bounds.size(); ++i) {
    cumulative += disk.buckets[i];
    const std::string le = fmt::format("{}", disk.bounds[i]);
    EXPECT_EQ(e.Value("sagadb_action_duration_seconds_bucket", {{"action", "test.disk"}, {"le", le}}),
              static_cast<double>(cumulative))
        << le;
  }
}

TEST_F(MetricsTest, LabelValuesAreEscapedAndTheFamiliesArePrefixed) {
  Metrics m;
  const std::string kind = "a \"quoted\" kind\\with\na line feed";
  m.by_kind[kind].started = 2;
  m.by_kind[kind].ended["succeeded"] = 1;
  m.sagas = m.by_kind[kind];
  m.saga_seconds["succeeded"] = Histogram{{0.5, 1}, {1, 0, 0}, 1, 0.25};
  const std::string text = WritePrometheus(m, "appliance_sagas");
  const Exposition e = Parse(text);
  ExpectWellTyped(e);
  EXPECT_EQ(e.Value("appliance_sagas_sagas_started_total", {{"kind", kind}}), 2);
  EXPECT_NE(text.find(R"(kind="a \"quoted\" kind\\with\na line feed")"), std::string::npos) << text;
  for (const auto& name : e.order) EXPECT_TRUE(name.starts_with("appliance_sagas_")) << name;
  EXPECT_EQ(e.Value("appliance_sagas_saga_duration_seconds_bucket", {{"outcome", "succeeded"}, {"le", "0.5"}}), 1);
  EXPECT_EQ(e.Value("appliance_sagas_saga_duration_seconds_bucket", {{"outcome", "succeeded"}, {"le", "+Inf"}}), 1);
  // Nothing ran: the families are there, with no series or with zeros.
  EXPECT_EQ(e.Value("appliance_sagas_node_duration_seconds_count"), 0);
  EXPECT_EQ(e.Value("appliance_sagas_node_duration_seconds_bucket", {{"le", "+Inf"}}), 0);
}

TEST_F(MetricsTest, ASagaThatHaltedIsCountedSoAndRecoveryCountsItResumed) {
  Uuid id;
  {
    auto db = OpenDb();
    Store& store = db->impl().store();
    FaultInjector dead;
    dead.FailWritesFrom(store.write_attempts() + 2, Status::IOError("injected: the disk went away"));
    store.SetHooks(&dead);
    auto handle = testing::Must(db->Start(testing::SampleDag(), Json{{"tag", "halt"}}));
    id = handle.id();
    EXPECT_FALSE(handle.Wait().ok());
    store.SetHooks(nullptr);
    const Metrics m = testing::Must(db->metrics());
    EXPECT_EQ(m.sagas.started, 1u);
    EXPECT_EQ(m.sagas.Ended("halted"), 1u);
    EXPECT_EQ(m.saga_seconds.count("halted"), 0u);
    EXPECT_EQ(m.Unfinished("running"), 1u) << "it stays running in the database";
  }
  auto db = OpenDb();
  ASSERT_EQ(db->recovery().finished_succeeded.size(), 1u);
  const Metrics m = testing::Must(db->metrics());
  EXPECT_EQ(m.sagas.started, 0u);
  EXPECT_EQ(m.sagas.resumed, 1u);
  EXPECT_EQ(m.by_kind.at("sample").resumed, 1u);
  EXPECT_EQ(m.sagas.Ended("succeeded"), 1u);
  EXPECT_EQ(m.Unfinished("running"), 0u);
}

TEST(AtomicHistogramTest, EachSampleFallsInThePowerOfTwoBucketThatBoundsIt) {
  AtomicHistogram h(16, 4);  // 16, 32, 64, 128, and above
  for (uint64_t v : {0, 1, 16, 17, 32, 33, 64, 128, 129, 1'000'000}) h.Add(v);
  const Histogram s = h.Snapshot();
  EXPECT_EQ(s.bounds, (std::vector<double>{16, 32, 64, 128}));
  EXPECT_EQ(s.buckets, (std::vector<uint64_t>{3, 2, 2, 1, 2}));
  EXPECT_EQ(s.count, 10u);
  EXPECT_EQ(s.sum, 0 + 1 + 16 + 17 + 32 + 33 + 64 + 128 + 129 + 1'000'000);
  EXPECT_EQ(s.Quantile(0.3), 16);
  EXPECT_EQ(s.Quantile(0.5), 32);
  EXPECT_EQ(s.Quantile(0.8), 128);
  EXPECT_TRUE(std::isinf(s.Quantile(1)));
  EXPECT_EQ(Histogram{}.Quantile(0.5), 0);
  const Histogram scaled = h.Snapshot(1e6);
  EXPECT_EQ(scaled.bounds[0], 16e-6);
  EXPECT_EQ(scaled.sum, s.sum / 1e6);
}

}  // namespace
}  // namespace sagadb
