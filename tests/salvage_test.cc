// The store's part of salvage (engine/salvage.h) on a real table file with a damaged block: a walk steps over
// the block and names what it could not read, the file fails its checksum, and a repaired copy opens while the
// original stays byte for byte as it was.
#include "engine/salvage.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kTable[] = "instances";  // any domain table: the store does not look inside it
constexpr int kKeys = 4000;

std::string Key(int i) { return fmt::format("key-{:06d}", i); }

std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    out[e.path().filename().string()] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  return out;
}

class SalvageTest : public ::testing::Test {
 protected:
  // A database whose table holds kKeys keys in several table files (small write buffers flush often).
  void SetUp() override {
    StoreConfig config = ConfigAt(path_);
    config.tables = {kTable};
    config.options.write_buffer_bytes = 64 << 10;
    config.options.sync = false;  // the writes of the set-up need not wait for the disk
    auto store = Must(Store::Open(config));
    const TableId table = Must(store->FindTable(kTable));
    for (int i = 0; i < kKeys; ++i) {
      Batch b;
      b.Put(table, Key(i), std::string(200, static_cast<char>('a' + i % 26)));
      Must(store->Write(b));
    }
  }

  std::unique_ptr<Store> OpenReadOnly(const std::string& path) {
    StoreConfig config = ConfigAt(path);
    config.mode = OpenMode::kReadOnly;
    return Must(Store::Open(config));
  }

  // Damages a data block of the table's biggest file; returns that file.
  TableFile DamageABlock() {
    TableFile victim;
    {
      auto store = OpenReadOnly(path_);
      for (const TableFile& f : store->TableFiles()) {
        if (f.table == kTable && f.size_bytes > victim.size_bytes) victim = f;
      }
    }
    if (victim.name.empty()) throw std::runtime_error("set-up: the table has no file");
    std::fstream file(fs::path(path_) / victim.name, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(victim.size_bytes / 3));
    file.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
    return victim;
  }

  ScratchDir dir_;
  const std::string path_ = dir_.Sub("db");
};

TEST_F(SalvageTest, AWalkStepsOverADamagedBlockAndNamesTheKeysItCouldNotRead) {
  const TableFile damaged = DamageABlock();
  auto store = OpenReadOnly(path_);
  const TableId table = Must(store->FindTable(kTable));

  // A plain cursor stops at the block.
  auto plain = store->NewCursor(table);
  int before_damage = 0;
  for (plain->SeekToFirst(); plain->Valid(); plain->Next()) ++before_damage;
  ASSERT_EQ(plain->status().code(), Code::kCorruption) << plain->status().ToString();

  std::set<std::string> seen;
  TableWalk walk;
  WalkReadable([&] { return store->NewCursor(table); },
               [&](std::string_view key, std::string_view) { seen.insert(std::string(key)); }, &walk);
  EXPECT_EQ(walk.keys, seen.size());
  ASSERT_EQ(walk.unreadable.size(), 1u);
  const UnreadableRange& r = walk.unreadable[0];
  EXPECT_FALSE(r.from_start);
  EXPECT_FALSE(r.to_end);
  EXPECT_NE(r.error.find("Corruption"), std::string::npos) << r.error;
  EXPECT_GT(walk.keys, static_cast<uint64_t>(before_damage));  // it went on past the block
  EXPECT_LT(walk.keys, static_cast<uint64_t>(kKeys));
  // Every key it did not read is inside the range it reports; the range is one block, not the rest of the table.
  for (int i = 0; i < kKeys; ++i) {
    if (!seen.contains(Key(i))) {
      EXPECT_TRUE(r.Contains(Key(i))) << Key(i);
    }
  }
  EXPECT_TRUE(seen.contains(r.after));
  EXPECT_TRUE(seen.contains(r.before));
  EXPECT_LT(kKeys - walk.keys, 200u);

  // The file fails its checksum; the others pass.
  for (const TableFile& f : store->TableFiles()) {
    const Status st = VerifyTableFile(path_, f);
    if (f.name == damaged.name) {
      EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
    } else {
      EXPECT_TRUE(st.ok()) << f.name << ": " << st.ToString();
    }
  }
  // Its own keys, walked in the file alone: the same damage.
  TableWalk in_file;
  WalkReadable([&] { return Must(OpenTableFile(path_, damaged)); }, [](std::string_view, std::string_view) {},
               &in_file);
  ASSERT_EQ(in_file.unreadable.size(), 1u);
  EXPECT_EQ(in_file.unreadable[0].after, r.after);
  EXPECT_LT(in_file.keys, damaged.entries);
}

TEST_F(SalvageTest, RepairRunsOnACopyThatOpensAndTheOriginalIsUnchanged) {
  const TableFile damaged = DamageABlock();
  const auto original = Files(path_);
  const std::string copy = dir_.Sub("repaired");

  RepairCopyReport report;
  ASSERT_EQ(RepairCopy(path_, copy, &report), Status::OK());
  EXPECT_EQ(report.set_aside, std::vector<std::string>{damaged.name});
  EXPECT_EQ(Files(path_), original);

  // The copy opens, for writing too, and reads to the end: the damaged file's keys are gone with it.
  {
    StoreConfig config = ConfigAt(copy);
    config.tables = {kTable};
    auto store = Must(Store::Open(config));
    auto c = store->NewCursor(Must(store->FindTable(kTable)));
    uint64_t keys = 0;
    for (c->SeekToFirst(); c->Valid(); c->Next()) ++keys;
    EXPECT_TRUE(c->status().ok()) << c->status().ToString();
    EXPECT_EQ(keys, kKeys - damaged.entries);
  }
  // A second repair into the same place is refused.
  EXPECT_EQ(RepairCopy(path_, copy, &report).code(), Code::kInvalidRequest);
  EXPECT_EQ(Files(path_), original);
}

}  // namespace
}  // namespace sagadb::testing
