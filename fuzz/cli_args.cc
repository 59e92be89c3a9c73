// Fuzz target: the sagadb program's argument parsing (tools/app.h), on argument vectors made of the input's
// NUL-separated pieces, after the program's name. Parsing never runs a command.
//
// Whatever the arguments, Parse returns one of its three outcomes: it never throws, aborts or prints, and a
// usage error always says where to look for help.
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/app.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args = {"sagadb"};
  std::string arg;
  for (size_t i = 0; i < size && args.size() < 32; ++i) {
    if (data[i] == 0) {
      args.push_back(std::move(arg));
      arg.clear();
    } else {
      arg.push_back(static_cast<char>(data[i]));
    }
  }
  if (!arg.empty() && args.size() < 32) args.push_back(std::move(arg));
  // One parser for every input: building CLI11's whole command tree costs far more than a parse, and each
  // parse starts from the defaults (tests/tool_parse_test.cc).
  static sagadb::tool::ToolApp app;
  const sagadb::tool::Parsed parsed = app.Parse(args);
  switch (parsed.outcome) {
    case sagadb::tool::Parsed::kRun:
      break;
    case sagadb::tool::Parsed::kHelp:
      if (parsed.text.empty()) std::abort();
      break;
    case sagadb::tool::Parsed::kUsageError:
      if (!parsed.text.ends_with("(see sagadb --help)")) std::abort();
      break;
    default:
      std::abort();
  }
  return 0;
}
