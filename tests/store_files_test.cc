// The database's files are private to their owner, whatever the umask of the process, which sagadb leaves alone.
#include <sys/stat.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "engine/store.h"
#include "tests/test_util.h"

namespace sagadb::testing {
namespace {

namespace fs = std::filesystem;

// Every file and directory under `dir` whose mode lets anyone but the owner in, with its mode.
std::map<std::string, std::string> Shared(const std::string& dir) {
  std::map<std::string, std::string> shared;
  auto check = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    const mode_t want = S_ISDIR(st.st_mode) ? 0700 : 0600;
    if ((st.st_mode & 0777) != want) {
      shared[p.lexically_relative(dir).string()] = fmt::format("{:o}", st.st_mode & 0777);
    }
  };
  check(dir);
  for (const auto& e : fs::recursive_directory_iterator(dir)) check(e.path());
  return shared;
}

class UmaskTest : public ::testing::Test {
 protected:
  // The most permissive umask: whatever RocksDB creates with its own modes would show.
  void SetUp() override { old_ = ::umask(0); }
  void TearDown() override { ::umask(old_); }
  mode_t old_ = 0;
};

TEST_F(UmaskTest, EveryFileOfTheDatabaseIsPrivateToItsOwnerWhateverTheUmask) {
  ScratchDir dir;
  const std::string path = dir.Sub("db");
  StoreConfig config = ConfigAt(path);
  config.options.write_buffer_bytes = 64 << 10;
  config.options.keep_info_log_files = 2;
  config.options.sync = false;  // files are what matters here, not durability
  for (int open = 0; open < 3; ++open) {  // info logs rotate; tables are flushed and compacted
    auto store = Store::Open(config);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int i = 0; i < 2000; ++i) ASSERT_EQ((*store)->Write(OneWrite(std::to_string(i), 512)), Status::OK());
  }
  StoreConfig secondary = ConfigAt(path);
  secondary.mode = OpenMode::kSecondary;
  secondary.secondary_path = dir.Sub("secondary");
  ASSERT_TRUE(Store::Open(secondary).ok());

  EXPECT_EQ(Shared(path), (std::map<std::string, std::string>{}));
  EXPECT_EQ(Shared(secondary.secondary_path), (std::map<std::string, std::string>{}));
  // The umask of the process is the embedder's business: unchanged.
  EXPECT_EQ(::umask(0), 0u);
  bool sst = false;
  int logs = 0;
  for (const auto& e : fs::directory_iterator(path)) {
    sst |= e.path().extension() == ".sst";
    logs += e.path().filename().string().starts_with("LOG");
  }
  EXPECT_TRUE(sst);
  EXPECT_EQ(logs, 2);  // LOG and one LOG.old.*
}

}  // namespace
}  // namespace sagadb::testing
