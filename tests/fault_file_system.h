// FaultFileSystem: a RocksDB file system for tests that fails a chosen write or sync of the database's files,
// the way a full disk (ENOSPC) or a failing device (EIO) does.
//
//   FaultFileSystem faults;
//   faults.FailAt(FaultFileSystem::kWrites | FaultFileSystem::kSyncs, 7, FaultFileSystem::NoSpace(), /*sticky=*/true);
//   StoreConfig config;
//   config.env = faults.env();            // or OpenSeams::env
//   ... the 7th write or sync from now fails, and (sticky: the disk stays full) every one after it
//   faults.Clear();                        // space was freed: nothing fails any more
//
// Operations, counted from the last FailAt or Clear (CountFrom restarts the count without a fault):
//   kWrites: Append and PositionedAppend of a file opened for writing (the WAL, the MANIFEST, SST files,
//            OPTIONS, CURRENT's temporary file, IDENTITY).
//   kSyncs:  Sync and Fsync of such a file, and Fsync of a directory.
// env() creates RocksDB's info log (when the database lets RocksDB make one) through the faults too.
// A failed operation does nothing. Errors are those RocksDB's own POSIX file system returns: NoSpace() is an
// IOError with subcode kNoSpace marked retryable, DeviceError() a plain IOError. A file-name suffix (".sst", ".log"),
// or any test on the file's name, narrows the operations that count to those files.
//
// Thread safety: all methods may be called concurrently with the database's use of env().
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/io_status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace sagadb::testing {

class FaultFileSystem {
 public:
  enum Ops : unsigned { kWrites = 1, kSyncs = 2 };

  // Wraps RocksDB's default (POSIX) file system.
  FaultFileSystem();
  ~FaultFileSystem();
  FaultFileSystem(const FaultFileSystem&) = delete;
  FaultFileSystem& operator=(const FaultFileSystem&) = delete;

  rocksdb::Env* env() const { return env_.get(); }

  static rocksdb::IOStatus NoSpace();
  static rocksdb::IOStatus DeviceError();

  // Operation number n (1-based) of the kinds in `ops` from now fails with `error`; with `sticky`, so does every
  // such operation after it. Only files whose names end with `suffix` count (empty: every file).
  void FailAt(unsigned ops, uint64_t n, rocksdb::IOStatus error, bool sticky, std::string suffix = "");
  // The same, for the files whose names `counts` accepts.
  using FileFilter = std::function<bool(std::string_view name)>;
  void FailAt(unsigned ops, uint64_t n, rocksdb::IOStatus error, bool sticky, FileFilter counts);
  // No more faults; restarts the count.
  void Clear();
  // Counts operations of these kinds from now, without failing any.
  void CountFrom(unsigned ops, std::string suffix = "") { FailAt(ops, 0, rocksdb::IOStatus::OK(), false, suffix); }

  // Operations counted since the last FailAt / Clear / CountFrom.
  uint64_t counted() const;
  // Operations failed since then.
  uint64_t failed() const;

  class Impl;

 private:
  std::shared_ptr<Impl> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace sagadb::testing
