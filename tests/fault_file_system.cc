#include "tests/fault_file_system.h"

#include <rocksdb/file_system.h>

#include <mutex>

namespace sagadb::testing {

using rocksdb::FileOptions;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class FaultFileSystem::Impl : public rocksdb::FileSystemWrapper {
 public:
  Impl() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FaultFileSystem"; }

  void Arm(unsigned ops, uint64_t n, IOStatus error, bool sticky, FaultFileSystem::FileFilter counts) {
    std::lock_guard lock(mu_);
    ops_ = ops;
    fail_at_ = n;
    error_ = std::move(error);
    sticky_ = sticky;
    counts_ = std::move(counts);
    counted_ = 0;
    failed_ = 0;
  }
  uint64_t counted() const {
    std::lock_guard lock(mu_);
    return counted_;
  }
  uint64_t failed() const {
    std::lock_guard lock(mu_);
    return failed_;
  }

  // Counts one operation of kind `op` on `name`; the error it must fail with, or OK.
  IOStatus Next(unsigned op, const std::string& name) {
    std::lock_guard lock(mu_);
    if ((ops_ & op) == 0 || (counts_ && !counts_(name))) return IOStatus::OK();
    const uint64_t n = ++counted_;
    if (fail_at_ == 0 || n < fail_at_ || (n > fail_at_ && !sticky_)) return IOStatus::OK();
    ++failed_;
    IOStatus s = error_;
    if (error_.IsNoSpace()) s.SetRetryable(true);  // as RocksDB's POSIX file system marks ENOSPC
    return s;
  }

  IOStatus NewWritableFile(const std::string& fname, const FileOptions& opts,
                           std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) override;
  IOStatus ReopenWritableFile(const std::string& fname, const FileOptions& opts,
                              std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) override;
  IOStatus NewDirectory(const std::string& name, const IOOptions& io_opts,
                        std::unique_ptr<rocksdb::FSDirectory>* result, IODebugContext* dbg) override;

 private:
  mutable std::mutex mu_;
  unsigned ops_ = 0;
  uint64_t fail_at_ = 0;
  IOStatus error_;
  bool sticky_ = false;
  FaultFileSystem::FileFilter counts_;
  uint64_t counted_ = 0;
  uint64_t failed_ = 0;
};

namespace {

class FaultWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(std::unique_ptr<rocksdb::FSWritableFile> target, FaultFileSystem::Impl* fs, std::string name)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), name_(std::move(name)) {}

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = fs_->Next(FaultFileSystem::kWrites, name_);
    return s.ok() ? target()->Append(data, o, dbg) : s;
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& v,
                  IODebugContext* dbg) override {
    IOStatus s = fs_->Next(FaultFileSystem::kWrites, name_);
    return s.ok() ? target()->Append(data, o, v, dbg) : s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = fs_->Next(FaultFileSystem::kWrites, name_);
    return s.ok() ? target()->PositionedAppend(data, offset, o, dbg) : s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& v, IODebugContext* dbg) override {
    IOStatus s = fs_->Next(FaultFileSystem::kWrites, name_);
    return s.ok() ? target()->PositionedAppend(data, offset, o, v, dbg) : s;
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = fs_->Next(FaultFileSystem::kSyncs, name_);
    return s.ok() ? target()->Sync(o, dbg) : s;
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = fs_->Next(FaultFileSystem::kSyncs, name_);
    return s.ok() ? target()->Fsync(o, dbg) : s;
  }

 private:
  FaultFileSystem::Impl* const fs_;
  const std::string name_;
};

class FaultDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  FaultDirectory(std::unique_ptr<rocksdb::FSDirectory> target, FaultFileSystem::Impl* fs, std::string name)
      : FSDirectoryWrapper(std::move(target)), fs_(fs), name_(std::move(name)) {}

  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = fs_->Next(FaultFileSystem::kSyncs, name_);
    return s.ok() ? FSDirectoryWrapper::Fsync(o, dbg) : s;
  }
  IOStatus FsyncWithDirOptions(const IOOptions& o, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& dir_opts) override {
    IOStatus s = fs_->Next(FaultFileSystem::kSyncs, name_);
    return s.ok() ? FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, dir_opts) : s;
  }

 private:
  FaultFileSystem::Impl* const fs_;
  const std::string name_;
};

}  // namespace

IOStatus FaultFileSystem::Impl::NewWritableFile(const std::string& fname, const FileOptions& opts,
                                                std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->NewWritableFile(fname, opts, &file, dbg);
  if (s.ok()) *result = std::make_unique<FaultWritableFile>(std::move(file), this, fname);
  return s;
}

IOStatus FaultFileSystem::Impl::ReopenWritableFile(const std::string& fname, const FileOptions& opts,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReopenWritableFile(fname, opts, &file, dbg);
  if (s.ok()) *result = std::make_unique<FaultWritableFile>(std::move(file), this, fname);
  return s;
}

IOStatus FaultFileSystem::Impl::NewDirectory(const std::string& name, const IOOptions& io_opts,
                                             std::unique_ptr<rocksdb::FSDirectory>* result, IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> dir;
  IOStatus s = target()->NewDirectory(name, io_opts, &dir, dbg);
  if (s.ok()) *result = std::make_unique<FaultDirectory>(std::move(dir), this, name);
  return s;
}

namespace {

// RocksDB's default Env creates its info log through its own file system; this one goes through the faults,
// as the info log of a database on a full disk does.
class FaultEnv : public rocksdb::EnvWrapper {
 public:
  explicit FaultEnv(std::unique_ptr<rocksdb::Env> target) : EnvWrapper(std::move(target)) {}
  static const char* kClassName() { return "FaultEnv"; }
  const char* Name() const override { return kClassName(); }
  rocksdb::Status NewLogger(const std::string& fname, std::shared_ptr<rocksdb::Logger>* result) override {
    return rocksdb::NewEnvLogger(fname, this, result);
  }
};

}  // namespace

FaultFileSystem::FaultFileSystem()
    : fs_(std::make_shared<Impl>()), env_(std::make_unique<FaultEnv>(rocksdb::NewCompositeEnv(fs_))) {}

FaultFileSystem::~FaultFileSystem() = default;

IOStatus FaultFileSystem::NoSpace() { return IOStatus::NoSpace("injected", "No space left on device"); }
IOStatus FaultFileSystem::DeviceError() { return IOStatus::IOError("injected", "Input/output error"); }

void FaultFileSystem::FailAt(unsigned ops, uint64_t n, IOStatus error, bool sticky, std::string suffix) {
  FileFilter counts;
  if (!suffix.empty()) counts = [suffix](std::string_view name) { return name.ends_with(suffix); };
  fs_->Arm(ops, n, std::move(error), sticky, std::move(counts));
}

void FaultFileSystem::FailAt(unsigned ops, uint64_t n, IOStatus error, bool sticky, FileFilter counts) {
  fs_->Arm(ops, n, std::move(error), sticky, std::move(counts));
}

void FaultFileSystem::Clear() { fs_->Arm(0, 0, IOStatus::OK(), false, nullptr); }

uint64_t FaultFileSystem::counted() const { return fs_->counted(); }
uint64_t FaultFileSystem::failed() const { return fs_->failed(); }

}  // namespace sagadb::testing
