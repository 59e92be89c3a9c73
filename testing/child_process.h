// ChildProcess: a program started as a separate process (posix_spawn: fork and exec in one), and how it ended.
//
//   ChildSpec spec;
//   spec.argv = {"/proc/self/exe", "--gtest_filter=Suite.Test"};
//   spec.env = {"SAGADB_KIT_CHILD=/tmp/run/spec.json"};   // added to (or replacing in) this process's environment
//   spec.output = "/tmp/run/child.out";                     // its stdout and stderr
//   auto child = ChildProcess::Start(spec);
//   ChildExit e = child->Wait();           // e.exited && e.code == 86: it crashed itself as asked
//
// The kit never forks without exec: the child of a plain fork inherits RocksDB's thread pools without their
// threads.
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

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> env;   // "NAME=value": set in the child, over this process's environment
  std::vector<std::string> unset;  // names of this process's environment the child does not get
  std::string output;             // empty: the child shares this process's stdout and stderr
};

class ChildProcess {
 public:
  static Result<ChildProcess> Start(const ChildSpec& spec);

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
Result<ChildExit> RunChild(const ChildSpec& spec);

}  // namespace sagadb::testing
