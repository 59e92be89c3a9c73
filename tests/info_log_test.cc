// RocksDB's diagnostic log as sagadb writes it: RocksDB's line format, its rotation at open, a private file.
// (Its silence after a failed write is tested on a real full file system: disk_full_test.)
#include "engine/info_log.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(InfoLogTest, LinesHaveRocksDbsFormatInAPrivateFile) {
  ScratchDir dir;
  auto log = OpenInfoLog(dir.path(), 4);
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "hello %d", 42);
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, log, "careful");
  rocksdb::Log(rocksdb::InfoLogLevel::DEBUG_LEVEL, log, "below the level");
  const std::string long_line(3000, 'x');
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "%s", long_line.c_str());
  log.reset();

  const std::string text = Read(dir.Sub("LOG"));
  const std::string stamp = R"(\d{4}/\d{2}/\d{2}-\d{2}:\d{2}:\d{2}\.\d{6} \d+ )";
  EXPECT_TRUE(std::regex_match(text, std::regex(stamp + "hello 42\n" + stamp + R"(\[WARN\] careful)" + "\n" + stamp +
                                                std::string(3000, 'x') + "\n")))
      << text;
  struct stat st {};
  ASSERT_EQ(::stat(dir.Sub("LOG").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(InfoLogTest, EachOpenMovesTheLogAsideAndKeepsTheNewestFiles) {
  ScratchDir dir;
  for (int open = 0; open < 5; ++open) {
    auto log = OpenInfoLog(dir.path(), 3);
    rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "open %d", open);
  }
  std::string old;  // the old logs' lines, together
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    ++files;
    if (name != "LOG") {
      EXPECT_TRUE(name.starts_with("LOG.old.")) << name;
      old += Read(e.path().string());
    }
  }
  EXPECT_EQ(files, 3);
  EXPECT_NE(Read(dir.Sub("LOG")).find("open 4"), std::string::npos);
  EXPECT_NE(old.find("open 3"), std::string::npos) << old;
  EXPECT_NE(old.find("open 2"), std::string::npos) << old;
  EXPECT_EQ(old.find("open 1"), std::string::npos) << old;
}

}  // namespace
}  // namespace sagadb::testing
