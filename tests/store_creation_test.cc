// A creation the disk interrupted. Whatever point it reached, the next open finishes it, and refuses all the
// same what it cannot prove to be such a leftover.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "engine/store.h"
#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

void WriteFile(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::map<std::string, std::string> Contents(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    files[e.path().filename().string()] = std::string((std::istreambuf_iterator<char>(in)), {});
  }
  return files;
}

// What RocksDB makes before CURRENT (partly written: the disk filled), and the info log.
void LeaveCreationDebris(const std::string& path) {
  fs::create_directories(path);
  for (const char* name : {"LOCK", "LOG", "LOG.old.1700000000000000", "IDENTITY", "MANIFEST-000001", "000001.dbtmp"}) {
    WriteFile(path + "/" + name, "partly");
  }
}

TEST(StoreCreationTest, WhatACreationLeftBeforeCurrentIsCreatedAnew) {
  ScratchDir dir;
  const std::string path = dir.Sub("db");
  LeaveCreationDebris(path);

  auto store = Store::Open(ConfigAt(path));

  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->open_generation(), 1u);
  EXPECT_EQ((*store)->Write(OneWrite("a")), Status::OK());
}

TEST(StoreCreationTest, ADirectoryWithAnythingMoreThanThatIsStillRefusedAndLeftAlone) {
  ScratchDir dir;
  for (const char* extra : {"000004.log", "000005.sst", "OPTIONS-000007", "notes.txt"}) {
    SCOPED_TRACE(extra);
    const std::string path = dir.Sub(extra + std::string("-db"));
    LeaveCreationDebris(path);
    WriteFile(path + "/" + extra, "data");
    const auto before = Contents(path);

    auto store = Store::Open(ConfigAt(path));

    EXPECT_EQ(store.status(),
              Status::InvalidRequest(path + " is not a sagadb database (not empty, no database files)"));
    EXPECT_EQ(Contents(path), before);
  }
}

TEST(StoreCreationTest, AnEmptyRocksDbDatabaseLeftBeforeTheFirstTableIsFinished) {
  ScratchDir dir;
  const std::string path = dir.Sub("db");
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, path, &raw).ok());
    delete raw;
  }
  StoreConfig inspect = ConfigAt(path);
  inspect.mode = OpenMode::kReadOnly;
  EXPECT_EQ(Store::Open(inspect).status().code(), Code::kInvalidRequest);  // only an owner finishes a creation

  auto store = Store::Open(ConfigAt(path));

  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->open_generation(), 1u);
  EXPECT_TRUE((*store)->FindTable("sagas").ok());
}

}  // namespace
}  // namespace sagadb::testing
