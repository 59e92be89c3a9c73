// `sagadb salvage` on a real database with a damaged block in a table file: it says what reads and what does
// not, names the damaged table and file and the sagas whose keys are in them, gives the way back and exits 1;
// with --repair-into it repairs a copy that opens, and the original stays byte for byte as it was. On a sound
// database it says so and exits 0.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "controlplane/requests.h"
#include "sagadb/control_plane.h"
#include "tests/cli_util.h"
#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

// Every file of the directory and its bytes; a volume (sparse, a gigabyte) by its size and link count.
std::map<std::string, std::string> Contents(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string name = fs::relative(e.path(), dir).string();
    if (name.starts_with("volumes/")) {
      out[name] = fmt::format("{} bytes", e.file_size());
      continue;
    }
    std::ifstream in(e.path(), std::ios::binary);
    out[name] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  return out;
}

class SalvageCliTest : public CliTest {
 protected:
  // Instance-creates enough to put the saga log in table files (small write buffers flush often).
  void Populate(int instances) {
    DatabaseOptions o;
    o.path = db_;
    o.executor.threads = 8;
    o.store.write_buffer_bytes = 64 << 10;
    o.store.sync = false;  // the set-up's writes need not wait for the disk
    auto cp = Must(ControlPlane::Open(o));
    for (int i = 0; i < instances; ++i) {
      InstanceCreateRequest r{"default", fmt::format("vm-{}", i), 1, 1ull << 30, {}};
      for (int d = 0; d < 3; ++d) r.disks.push_back(DiskRequest{fmt::format("vm-{}-d{}", i, d), 1ull << 30});
      SagaResult result = Must(Must(cp->CreateInstance(r)).Wait());
      if (result.state != SagaState::kSucceeded) throw std::runtime_error("set-up: an instance-create failed");
    }
  }

  // Damages a data block of the biggest table file of `table`; returns the file's name.
  std::string DamageABlock(const std::string& table) {
    TableFile victim;
    {
      StoreConfig config = ConfigAt(db_);
      config.mode = OpenMode::kReadOnly;
      auto store = Must(Store::Open(config));
      for (const TableFile& f : store->TableFiles()) {
        if (f.table == table && f.size_bytes > victim.size_bytes) victim = f;
      }
    }
    if (victim.name.empty()) throw std::runtime_error("set-up: " + table + " has no table file");
    std::fstream file(fs::path(db_) / victim.name, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(victim.size_bytes / 3));
    file.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
    return victim.name;
  }
};

TEST_F(SalvageCliTest, ASoundDatabaseReadsWholeAndExitsZero) {
  CreateWeb();
  Outcome o = Tool({"salvage"});
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_NE(o.out.find("reads and verifies"), std::string::npos) << o;
  Json j = ToolJson({"salvage"});
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["damaged_files"], Json::array());
  EXPECT_EQ(j["steps"], Json::array());
}

TEST_F(SalvageCliTest, ADamagedBlockIsNamedWithItsTableFileAndSagasAndTheCommandExitsOne) {
  Populate(60);
  const std::string file = DamageABlock("saga_events");
  const auto before = Contents(db_);

  Outcome text = Tool({"salvage"});
  EXPECT_EQ(text.exit_code, 1) << text;
  EXPECT_NE(text.out.find("unreadable: saga_events after "), std::string::npos) << text;
  EXPECT_NE(text.out.find("damaged file: " + file + " of saga_events"), std::string::npos) << text;
  EXPECT_NE(text.out.find("affected sagas:"), std::string::npos) << text;
  EXPECT_NE(text.out.find("instance-create succeeded: events unreadable (saga_events after "), std::string::npos)
      << text;
  EXPECT_NE(text.out.find("salvage --repair-into"), std::string::npos) << text;

  Outcome json = Tool({"salvage", "--json"});
  EXPECT_EQ(json.exit_code, 1) << json;
  Json j = json.JsonOut();
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["damaged_files"].size(), 1u) << j;
  EXPECT_EQ(j["damaged_files"][0]["file"], file);
  EXPECT_EQ(j["damaged_files"][0]["table"], "saga_events");
  bool events_unreadable = false;
  for (const auto& t : j["tables"]) {
    if (t["name"] == "saga_events") events_unreadable = !t["unreadable"].empty();
    if (t["name"] == "sagas") {
      EXPECT_EQ(t["keys"], 60) << t;
    }
  }
  EXPECT_TRUE(events_unreadable) << j["tables"];
  // The sagas whose events are unreadable now are named, with their kind and state; those only in the damaged
  // file (which repair sets aside) too.
  ASSERT_FALSE(j["affected"]["sagas"].empty());
  for (const auto& s : j["affected"]["sagas"]) {
    EXPECT_EQ(s["kind"], "instance-create") << s;
    EXPECT_EQ(s["state"], "succeeded") << s;
  }
  EXPECT_EQ(j["repair"], nullptr);
  EXPECT_FALSE(j["steps"].empty());
  EXPECT_EQ(Contents(db_), before);  // read-only
}

TEST_F(SalvageCliTest, RepairIntoRepairsACopyThatOpensAndLeavesTheOriginalAsItWas) {
  Populate(60);
  const std::string file = DamageABlock("saga_events");
  const auto before = Contents(db_);
  const std::string copy = dir_.Sub("repaired");

  Outcome o = Tool({"salvage", "--repair-into", copy, "--json"});
  EXPECT_EQ(o.exit_code, 1) << o;  // the original still has its damage
  Json j = o.JsonOut();
  ASSERT_TRUE(j["repair"].is_object()) << j;
  EXPECT_EQ(j["repair"]["ok"], true) << j["repair"];
  EXPECT_EQ(j["repair"]["set_aside"], Json::array({file}));
  EXPECT_GT(j["repair"]["volumes_linked"].get<int>(), 0);
  for (const auto& t : j["repair"]["tables"]) {
    if (t["name"] == "saga_events") {
      EXPECT_LT(t["after"].get<uint64_t>(), t["before"].get<uint64_t>()) << t;
    } else if (t["name"] != "meta") {
      EXPECT_EQ(t["after"], t["before"]) << t;
    }
  }
  EXPECT_EQ(Contents(db_), before);

  // The copy opens, recovery included, and reads whole.
  DatabaseOptions opts;
  opts.path = copy;
  opts.create_if_missing = false;
  { auto cp = Must(ControlPlane::Open(opts)); }
  Outcome again = RunSagadb({"--db", copy, "salvage"});
  EXPECT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(RunSagadb({"--db", copy, "instance", "show", "vm-0", "--json"}).exit_code, 0);
  EXPECT_EQ(Contents(db_), before);

  // Repairing into an existing directory, or into the database itself, is refused.
  ExpectOneLineError(Tool({"salvage", "--repair-into", copy}), 1);
  ExpectOneLineError(Tool({"salvage", "--repair-into", db_}), 2);
  EXPECT_EQ(Contents(db_), before);
}

}  // namespace
}  // namespace sagadb::testing
