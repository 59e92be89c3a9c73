// ProgressLine: one status line on a terminal, rewritten in place while a long command runs, so that a user sees
// it move; nothing at all when the output is not a terminal, so logs, pipes and tests stay clean.
//
//   ProgressLine line([&](double seconds) { return fmt::format("{:.1f} s  {}/{} done", seconds, done, total); });
//   ... the work, on this thread or others ...
//   line.Finish();   // the last state on its line, then a line feed; nothing if it never showed
//
// The line shows once the command has run for `after` (a second by default: a short command prints nothing),
// then a thread of its own redraws it every `every` ("\r", the text, and an erase to the end of the line).
// `render` is called on that thread, and once more by Finish: it must be safe to call from there.
#pragma once

#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "base/mutex.h"

namespace sagadb::tool {

class ProgressLine {
 public:
  using Render = std::function<std::string(double elapsed_seconds)>;

  explicit ProgressLine(Render render, std::chrono::milliseconds after = std::chrono::seconds(1),
                        std::chrono::milliseconds every = std::chrono::milliseconds(250), int fd = STDERR_FILENO);
  // Finish.
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Whether the output is a terminal (otherwise nothing is ever written).
  bool enabled() const { return enabled_; }
  // Stops the redrawing; if the line showed, draws it once more and ends it. Idempotent.
  void Finish() EXCLUDES(mu_);

 private:
  void Run() EXCLUDES(mu_);
  void Draw(bool last) EXCLUDES(mu_);

  const Render render_;
  const std::chrono::milliseconds after_;
  const std::chrono::milliseconds every_;
  const int fd_;
  const bool enabled_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  Mutex mu_;
  CondVar cv_{&mu_};
  bool stop_ GUARDED_BY(mu_) = false;
  bool shown_ GUARDED_BY(mu_) = false;
  bool finished_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sagadb::tool
