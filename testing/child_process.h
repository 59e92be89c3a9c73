// ChildProcess: a program started as a separate process (posix_spawn: fork and exec in one), and how it ended.
//
//   auto child = ChildProcess::Start({CRASH_CHILD, "--db", dir, ...});
//   ChildExit e = child->Wait();           // e.exited && e.code == 86: it crashed itself as asked
//
// Tests never fork without exec: the child of a plain fork inherits RocksDB's thread pools without their threads.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "sagadb/status.h"

namespace sagadb::testing {

struct ChildExit {
  bool exited = false;  // ended by exit or _exit, with `code`
  int code = 0;
  int signal = 0;       // otherwise, killed by this signal (-1: the child could not be waited for)
  // "exit 86", "signal 9".
  std::string ToString() const;
};

class ChildProcess {
 public:
  // Starts argv[0] (a path) with the given arguments, this process's environment and standard streams.
  static Result<ChildProcess> Start(const std::vector<std::string>& argv);

  ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  ChildProcess& operator=(ChildProcess&&) = delete;
  // Kills and reaps a child that was not waited for.
  ~ChildProcess();

  // Blocks until the child ends. REQUIRES: not waited for yet.
  ChildExit Wait();
  // How the child ended, if it has; nullopt while it runs. REQUIRES: not waited for yet.
  std::optional<ChildExit> TryWait();
  // Sends the signal (the child may already have ended; then nothing happens).
  void Kill(int signal);

  pid_t pid() const { return pid_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  // Reaps the child (blocking or not); nullopt if it still runs.
  std::optional<ChildExit> Reap(bool block);

  pid_t pid_;
};

// Starts the program and waits for it.
Result<ChildExit> RunChild(const std::vector<std::string>& argv);

}  // namespace sagadb::testing
