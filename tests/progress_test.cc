// The progress line of long commands (tools/progress.h): drawn in place on a terminal once the command has run
// a while, never anywhere else.
#include "tools/progress.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>

namespace sagadb::tool {
namespace {

using std::chrono::milliseconds;

// Everything the other end of `fd` has to read now.
std::string Drain(int fd) {
  std::string out;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 50) > 0 && (p.revents & POLLIN) != 0) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class Terminal {
 public:
  Terminal() {
    if (openpty(&master_, &slave_, nullptr, nullptr, nullptr) != 0) throw std::runtime_error("openpty failed");
  }
  ~Terminal() {
    close(master_);
    close(slave_);
  }
  int master() const { return master_; }
  int slave() const { return slave_; }

 private:
  int master_ = -1, slave_ = -1;
};

TEST(ProgressLineTest, OnATerminalTheLineIsRedrawnInPlaceAndEndedOnce) {
  Terminal t;
  std::atomic<int> done{0};
  ProgressLine line([&](double) { return "done " + std::to_string(done.load()); }, milliseconds(0), milliseconds(5),
                    t.slave());
  ASSERT_TRUE(line.enabled());
  for (int i = 1; i <= 5; ++i) {
    done = i;
    std::this_thread::sleep_for(milliseconds(15));
  }
  line.Finish();
  line.Finish();
  const std::string out = Drain(t.master());
  EXPECT_TRUE(out.starts_with("\r")) << out;
  EXPECT_GE(std::count(out.begin(), out.end(), '\r'), 3) << "drawn while it ran, then once more at the end";
  EXPECT_NE(out.find("\rdone 5\033[K"), std::string::npos) << out;  // the terminal maps \n to \r\n
  EXPECT_TRUE(out.ends_with("done 5\033[K\r\n")) << out;
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line feed, at the end";
}

TEST(ProgressLineTest, ACommandShorterThanTheDelayPrintsNothing) {
  Terminal t;
  ProgressLine line([](double) { return std::string("never"); }, milliseconds(60'000), milliseconds(5), t.slave());
  EXPECT_TRUE(line.enabled());
  std::this_thread::sleep_for(milliseconds(20));
  line.Finish();
  EXPECT_EQ(Drain(t.master()), "");
}

TEST(ProgressLineTest, WhenTheOutputIsNotATerminalNothingIsEverWritten) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  {
    ProgressLine line([](double) { return std::string("never"); }, milliseconds(0), milliseconds(1), fds[1]);
    EXPECT_FALSE(line.enabled());
    std::this_thread::sleep_for(milliseconds(20));
  }
  close(fds[1]);
  EXPECT_EQ(Drain(fds[0]), "");
  close(fds[0]);
}

}  // namespace
}  // namespace sagadb::tool
