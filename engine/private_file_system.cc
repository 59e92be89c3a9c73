#include "engine/private_file_system.h"

#include <sys/stat.h>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sagadb {
namespace {

using rocksdb::FileOptions;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

// Makes `name` private after a successful creation. A name the POSIX file system does not know (a file system
// that is not backed by real files) has nothing to protect.
IOStatus MakePrivate(const IOStatus& created, const std::string& name, mode_t mode) {
  if (!created.ok()) return created;
  if (::chmod(name.c_str(), mode) == 0 || errno == ENOENT) return created;
  return IOStatus::IOError("cannot make " + name + " private to its owner", std::strerror(errno));
}

class PrivateFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit PrivateFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target) : FileSystemWrapper(target) {}
  static const char* kClassName() { return "SagadbPrivateFileSystem"; }
  const char* Name() const override { return kClassName(); }

  IOStatus NewWritableFile(const std::string& fname, const FileOptions& opts,
                           std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) override {
    return Private(target()->NewWritableFile(fname, opts, result, dbg), fname, result);
  }
  IOStatus ReopenWritableFile(const std::string& fname, const FileOptions& opts,
                              std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) override {
    return Private(target()->ReopenWritableFile(fname, opts, result, dbg), fname, result);
  }
  IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname, const FileOptions& opts,
                             std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) override {
    return Private(target()->ReuseWritableFile(fname, old_fname, opts, result, dbg), fname, result);
  }
  IOStatus NewRandomRWFile(const std::string& fname, const FileOptions& opts,
                           std::unique_ptr<rocksdb::FSRandomRWFile>* result, IODebugContext* dbg) override {
    return Private(target()->NewRandomRWFile(fname, opts, result, dbg), fname, result);
  }
  IOStatus LockFile(const std::string& fname, const IOOptions& opts, rocksdb::FileLock** lock,
                    IODebugContext* dbg) override {
    *lock = nullptr;
    IOStatus s = MakePrivate(target()->LockFile(fname, opts, lock, dbg), fname, kFileMode);
    if (!s.ok() && *lock != nullptr) {
      target()->UnlockFile(*lock, opts, dbg).PermitUncheckedError();
      *lock = nullptr;
    }
    return s;
  }
  IOStatus NewLogger(const std::string& fname, const IOOptions& opts, std::shared_ptr<rocksdb::Logger>* result,
                     IODebugContext* dbg) override {
    return Private(target()->NewLogger(fname, opts, result, dbg), fname, result);
  }
  IOStatus CreateDir(const std::string& dirname, const IOOptions& opts, IODebugContext* dbg) override {
    return MakePrivate(target()->CreateDir(dirname, opts, dbg), dirname, kDirMode);
  }
  // Only a directory made by this call: an existing one keeps the mode its owner gave it.
  IOStatus CreateDirIfMissing(const std::string& dirname, const IOOptions& opts, IODebugContext* dbg) override {
    if (target()->FileExists(dirname, opts, dbg).ok()) return target()->CreateDirIfMissing(dirname, opts, dbg);
    return MakePrivate(target()->CreateDirIfMissing(dirname, opts, dbg), dirname, kDirMode);
  }

 private:
  template <typename Handle>
  static IOStatus Private(IOStatus created, const std::string& fname, Handle* result) {
    IOStatus s = MakePrivate(created, fname, kFileMode);
    if (!s.ok()) result->reset();
    return s;
  }
};

}  // namespace

std::unique_ptr<rocksdb::Env> NewPrivateEnv(rocksdb::Env* base) {
  if (base == nullptr) base = rocksdb::Env::Default();
  return rocksdb::NewCompositeEnv(std::make_shared<PrivateFileSystem>(base->GetFileSystem()));
}

}  // namespace sagadb
