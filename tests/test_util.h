// Shared helpers for the test suite: a scratch directory per test, readable failure output for sagadb's values,
// and Must() for set-up steps that a test cannot go on without.
#pragma once

#include <filesystem>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>

#include "engine/store.h"
#include "sagadb/control_plane_records.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"
#include "schema/records.h"

namespace sagadb {

// GoogleTest prints values through these (found by argument-dependent lookup) when an assertion fails.
void PrintTo(const Status& status, std::ostream* os);
void PrintTo(const Uuid& id, std::ostream* os);
void PrintTo(const AttachedDisk& a, std::ostream* os);
void PrintTo(const Instance& r, std::ostream* os);
void PrintTo(const Disk& r, std::ostream* os);
void PrintTo(InstanceState s, std::ostream* os);
void PrintTo(DiskState s, std::ostream* os);

}  // namespace sagadb

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

// The value of a set-up step. A failure throws, which GoogleTest reports as a failure of the test naming the
// status: set-up that went wrong must never let a test pass by asserting on nothing.
template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) throw std::runtime_error("set-up step failed: " + r.status().ToString());
  return std::move(*r);
}
inline void Must(const Status& s) {
  if (!s.ok()) throw std::runtime_error("set-up step failed: " + s.ToString());
}

// Every key and value of every table (the engine's four and every domain table of the store), as
// "table/<hex key>" -> "<hex value>", read through Store cursors (from one snapshot on a read-write store): what
// a test compares to prove that a failed operation wrote nothing at all. Cursors bypass the store's hooks.
std::map<std::string, std::string> RawContents(const Store& store);

// A store's config with only its path set (the engine's defaults for everything else).
StoreConfig ConfigAt(const std::string& path);
// One put of `value_bytes` bytes to the engine's sagas table under `key`: a write of the smallest useful kind.
Batch OneWrite(const std::string& key, size_t value_bytes = 16);

}  // namespace sagadb::testing
