// The tool's command line parsed more than once by one ToolApp (tools/app.h): each parse starts from the
// defaults, as a fresh ToolApp would, whatever the parse before it set. The argument fuzzer relies on it.
#include "tools/app.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace sagadb::tool {
namespace {

using Args = std::vector<std::string>;

// Parses and runs `args`, returning what the command printed on stdout; the test fails unless it ran and
// exited 0.
std::string RunOk(ToolApp& app, const Args& args) {
  const Parsed p = app.Parse(args);
  EXPECT_EQ(p.outcome, Parsed::kRun) << p.text;
  if (p.outcome != Parsed::kRun) return "";
  ::testing::internal::CaptureStdout();
  const int code = app.Run();
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 0) << out;
  return out;
}

TEST(ToolParseTest, ASecondParseForgetsTheOptionsOfTheFirst) {
  testing::ScratchDir dir;
  const std::string db = dir.Sub("db");
  ToolApp app;
  RunOk(app, {"sagadb", "--db", db, "instance", "create", "vm1", "--disks", "0"});
  // --json on the first listing, not on the second: the second must be a table, not JSON.
  const std::string json = RunOk(app, {"sagadb", "--db", db, "--json", "instance", "list", "--limit", "1"});
  EXPECT_FALSE(nlohmann::json::parse(json, nullptr, false).is_discarded()) << json;
  const std::string table = RunOk(app, {"sagadb", "--db", db, "instance", "list"});
  EXPECT_TRUE(nlohmann::json::parse(table, nullptr, false).is_discarded()) << table;
  EXPECT_NE(table.find("vm1"), std::string::npos) << table;
}

TEST(ToolParseTest, ASecondParseForgetsTheCommandAndTheArgumentsOfTheFirst) {
  ToolApp app;
  EXPECT_EQ(app.Parse({"sagadb", "saga", "abandon", "x", "--reason", "r"}).outcome, Parsed::kRun);
  // The same command without its required --reason is a usage error again.
  const Parsed missing = app.Parse({"sagadb", "saga", "abandon", "x"});
  EXPECT_EQ(missing.outcome, Parsed::kUsageError);
  EXPECT_NE(missing.text.find("--reason"), std::string::npos) << missing.text;
  // No command at all is refused, though the parse before chose one.
  EXPECT_EQ(app.Parse({"sagadb", "saga", "show", "x"}).outcome, Parsed::kRun);
  EXPECT_EQ(app.Parse({"sagadb"}).outcome, Parsed::kUsageError);
  EXPECT_EQ(app.Parse({"sagadb", "--help"}).outcome, Parsed::kHelp);
  EXPECT_EQ(app.Parse({"sagadb", "disk", "list"}).outcome, Parsed::kRun);
}

}  // namespace
}  // namespace sagadb::tool
