// Logger: where sagadb's messages go. The library never writes to stdout or stderr by itself; a program that
// wants to see what it says (recovery's summary at open, an undo that keeps failing, a write that poisoned the
// store) gives it a Logger in DatabaseOptions.
//
//   class StderrLogger : public sagadb::Logger {
//    public:
//     void Log(sagadb::LogLevel level, std::string_view message) override {
//       std::fprintf(stderr, "sagadb %s: %.*s\n", sagadb::ToString(level).data(),
//                    static_cast<int>(message.size()), message.data());
//     }
//   };
//
// Thread safety: Log may be called from any of sagadb's threads, concurrently; an implementation must allow it.
#pragma once

#include <string_view>

namespace sagadb {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug", "info", "warning", "error".
std::string_view ToString(LogLevel level);

class Logger {
 public:
  virtual ~Logger() = default;
  // One message, one line, without a trailing newline.
  virtual void Log(LogLevel level, std::string_view message) = 0;
};

}  // namespace sagadb
