#include "engine/info_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <rocksdb/env.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "base/mutex.h"

namespace sagadb {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kLogName = "LOG";
constexpr std::string_view kOldPrefix = "LOG.old.";

int64_t NowMicros() {
  struct timeval tv {};
  ::gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1'000'000 + tv.tv_usec;
}

// Moves <dir>/LOG aside as LOG.old.<now> and removes the oldest old logs beyond keep_files - 1. Failures are
// ignored: at worst an old log is appended to, or kept.
void Rotate(const fs::path& dir, size_t keep_files) {
  std::error_code ec;
  const fs::path log = dir / kLogName;
  if (fs::exists(log, ec)) {
    fs::rename(log, dir / (std::string(kOldPrefix) + std::to_string(NowMicros())), ec);
  }
  std::vector<std::pair<uint64_t, fs::path>> old;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(kOldPrefix)) continue;
    const std::string digits = name.substr(kOldPrefix.size());
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    old.emplace_back(std::strtoull(digits.c_str(), nullptr, 10), it->path());
  }
  const size_t keep_old = keep_files > 0 ? keep_files - 1 : 0;
  if (old.size() <= keep_old) return;
  std::sort(old.begin(), old.end());
  for (size_t i = 0; i + keep_old < old.size(); ++i) fs::remove(old[i].second, ec);
}

class InfoLog : public rocksdb::Logger {
 public:
  // Takes ownership of fd; -1 makes a logger that discards everything.
  explicit InfoLog(int fd) : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), fd_(fd) {}
  ~InfoLog() override { CloseFd(); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char stack[512];
    std::string heap;
    const char* line = Format(stack, sizeof(stack), &heap, format, ap);
    MutexLock lock(&mu_);
    if (fd_ < 0) return;
    size_t left = std::strlen(line);
    while (left > 0) {
      const ssize_t n = ::write(fd_, line, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // The first failure ends the log (see the header): nothing is ever written after it.
        ::close(fd_);
        fd_ = -1;
        return;
      }
      line += n;
      left -= static_cast<size_t>(n);
    }
  }

 protected:
  rocksdb::Status CloseImpl() override {
    CloseFd();
    return rocksdb::Status::OK();
  }

 private:
  void CloseFd() {
    MutexLock lock(&mu_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // "2024/01/31-12:00:00.123456 <thread> <message>\n", as RocksDB writes its lines.
  static const char* Format(char* stack, size_t size, std::string* heap, const char* format, va_list ap) {
    const int64_t now = NowMicros();
    const time_t seconds = static_cast<time_t>(now / 1'000'000);
    struct tm t {};
    ::localtime_r(&seconds, &t);
    char prefix[64];
    const int p = std::snprintf(prefix, sizeof(prefix), "%04d/%02d/%02d-%02d:%02d:%02d.%06d %llu ", t.tm_year + 1900,
                                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                                static_cast<int>(now % 1'000'000), static_cast<unsigned long long>(::gettid()));
    va_list copy;
    va_copy(copy, ap);
    const int m = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    const size_t body = m > 0 ? static_cast<size_t>(m) : 0;
    const size_t total = static_cast<size_t>(p) + body + 2;  // a newline and the terminator
    char* out = stack;
    if (total > size) {
      heap->resize(total);
      out = heap->data();
    }
    std::memcpy(out, prefix, static_cast<size_t>(p));
    va_copy(copy, ap);
    std::vsnprintf(out + p, body + 1, format, copy);
    va_end(copy);
    size_t end = static_cast<size_t>(p) + body;
    if (end == 0 || out[end - 1] != '\n') out[end++] = '\n';
    out[end] = '\0';
    return out;
  }

  Mutex mu_;
  int fd_ GUARDED_BY(mu_);
};

}  // namespace

std::shared_ptr<rocksdb::Logger> OpenInfoLog(const std::string& dir, size_t keep_files) {
  Rotate(dir, keep_files);
  const std::string path = (fs::path(dir) / kLogName).string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  // A LOG that existed (its rotation failed) keeps its mode: make it private too.
  if (fd >= 0 && ::fchmod(fd, 0600) != 0) {
    ::close(fd);
    fd = -1;
  }
  return std::make_shared<InfoLog>(fd);
}

}  // namespace sagadb
