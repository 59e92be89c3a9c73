// The sagadb program's command line: CLI11 parses it into the command to run, without running it, so that a
// test or a fuzzer (fuzz/cli_args.cc) can feed it any argument vector.
//
//   ToolApp app;
//   Parsed p = app.Parse({"sagadb", "--db", dir, "saga", "list"});
//   switch (p.outcome) {
//     case Parsed::kRun: return app.Run();
//     case Parsed::kHelp: std::fputs(p.text.c_str(), stdout); return kExitOk;
//     case Parsed::kUsageError: return UsageError(p.text);
//   }
//
// Parse prints nothing, runs nothing and never throws: whatever the arguments, the outcome is one of the three.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sagadb::tool {

struct Parsed {
  enum Outcome { kRun, kHelp, kUsageError };
  Outcome outcome = kUsageError;
  // kHelp: the help to print on stdout. kUsageError: what is wrong, ending with "(see sagadb --help)".
  std::string text;
};

class ToolApp {
 public:
  ToolApp();
  ~ToolApp();
  ToolApp(const ToolApp&) = delete;
  ToolApp& operator=(const ToolApp&) = delete;

  // args[0] is the program's name. Each call starts afresh: what an earlier one parsed is forgotten.
  Parsed Parse(const std::vector<std::string>& args);
  // Runs the command. REQUIRES: Parse returned kRun.
  int Run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The program: parses, prints help or the usage error, or runs the command; the exit code.
int Main(int argc, char** argv);

}  // namespace sagadb::tool
