// Shared helpers for the test suite: a scratch directory per test, removed afterwards.
#pragma once

#include <filesystem>
#include <string>

namespace sagadb::testing {

// A fresh empty directory under the system temp dir; removed (recursively) by the destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

 private:
  std::string path_;
};

}  // namespace sagadb::testing
