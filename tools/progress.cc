#include "tools/progress.h"

#include <cerrno>

namespace sagadb::tool {

ProgressLine::ProgressLine(Render render, std::chrono::milliseconds after, std::chrono::milliseconds every, int fd)
    : render_(std::move(render)), after_(after), every_(every), fd_(fd), enabled_(isatty(fd) != 0) {
  if (enabled_) thread_ = std::thread([this] { Run(); });
}

ProgressLine::~ProgressLine() { Finish(); }

void ProgressLine::Run() {
  auto next = start_ + after_;
  for (;;) {
    {
      MutexLock lock(&mu_);
      while (!stop_ && cv_.WaitUntil(next)) {
      }
      if (stop_) return;
    }
    Draw(false);
    next = std::chrono::steady_clock::now() + every_;
  }
}

void ProgressLine::Draw(bool last) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // "\r" back to the start of the line, the text, then ESC [ K: erase what a longer line before left.
  std::string text = "\r" + render_(seconds) + "\033[K";
  if (last) text += "\n";
  {
    MutexLock lock(&mu_);
    shown_ = true;
  }
  for (size_t off = 0; off < text.size();) {
    const ssize_t n = write(fd_, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the terminal went away: nothing more to say
    off += static_cast<size_t>(n);
  }
}

void ProgressLine::Finish() {
  bool shown = false;
  {
    MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    stop_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  {
    MutexLock lock(&mu_);
    shown = shown_;
  }
  if (shown) Draw(true);
}

}  // namespace sagadb::tool
