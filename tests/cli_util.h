// The sagadb program as the tool tests run it: the built binary in a child process (posix_spawn, no shell),
// its stdout, stderr and exit code captured; a fixture with a database of its own, and a snapshot of that
// database (as the tool shows it and as it is stored) to prove that a command changed nothing.
//
// Linked into the test binaries that define SAGADB_BIN, the path of the program.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace sagadb::testing {

using Json = nlohmann::json;

struct Outcome {
  int exit_code = -1;  // -1: ended by a signal
  std::string out;
  std::string err;

  std::vector<std::string> ErrLines() const {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < err.size()) {
      size_t end = err.find('\n', start);
      if (end == std::string::npos) end = err.size();
      lines.push_back(err.substr(start, end - start));
      start = end + 1;
    }
    return lines;
  }
  // The test fails (and null is returned) unless stdout is one JSON document.
  Json JsonOut() const {
    Json j = Json::parse(out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON:\n" << out;
    return j.is_discarded() ? Json() : j;
  }
};

std::ostream& operator<<(std::ostream& os, const Outcome& o);

// argv for posix_spawn: the program, then `args`, then null. Points into `args`.
std::vector<char*> Argv(const std::vector<std::string>& args);
// A waitpid status as an exit code; -1 if the process was ended by a signal.
int ExitCode(int status);
// This environment with PATH replaced.
std::vector<std::string> EnvWithPath(const std::string& path);
// Runs sagadb with `args` and waits for it. `env` empty: this process's environment.
Outcome RunSagadb(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

// Every file under `dir` (relative names); {} if there is no such directory, {"."} if it is not a directory.
std::set<std::string> FilesUnder(const std::string& dir);

// --- The database as the tool shows it, and as it is stored.

struct Snapshot {
  std::string instances;  // `instance list --json`
  std::string disks;      // `disk list --json`
  std::string sagas;      // `saga list --json`
  std::map<std::string, std::string> raw;  // every key and value of every column family
  std::set<std::string> files;             // the database directory, volumes included

  bool operator==(const Snapshot&) const = default;
};

void PrintTo(const Snapshot& s, std::ostream* os);

class CliTest : public ::testing::Test {
 protected:
  // sagadb --db <this test's database> args...
  Outcome Tool(std::vector<std::string> args, const std::vector<std::string>& env = {}) const {
    args.insert(args.begin(), {"--db", db_});
    return RunSagadb(args, env);
  }
  // Tool(args) that must succeed with JSON on stdout.
  Json ToolJson(std::vector<std::string> args) const {
    args.push_back("--json");
    Outcome o = Tool(args);
    EXPECT_EQ(o.exit_code, 0) << o;
    return o.JsonOut();
  }

  // A listing's rows, every page of it in one (--limit 0): the array of its JSON document.
  Json Rows(std::vector<std::string> args) const {
    const std::string items = args[0] == "saga" ? "sagas" : args[0] == "disk" ? "disks" : "instances";
    args.insert(args.end(), {"--limit", "0"});
    Json page = ToolJson(args);
    EXPECT_TRUE(page.contains("next") && page["next"].is_null()) << page;
    return page[items];
  }

  // The database as the tool shows it and as it is stored, read on a secondary (beside any owner).
  Snapshot Snap() const;

  // An instance "web" with disks web-d0 and web-d1; returns the instance's JSON.
  Json CreateWeb() const {
    return ToolJson({"instance", "create", "web", "--disks", "2", "--disk-size", "2GiB", "--cpus", "4", "--memory",
                     "8GiB"});
  }

  ScratchDir dir_;
  const std::string db_ = dir_.Sub("db");
};

// Exit code `code`, nothing on stdout, and exactly one line on stderr, "sagadb: ...".
void ExpectOneLineError(const Outcome& o, int code);

}  // namespace sagadb::testing
