#include "testing/power_loss_env.h"

#include <fmt/format.h>

#include <rocksdb/file_system.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sagadb::testing {
namespace {

using rocksdb::FileOptions;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

// One spelling per file (absolute, lexically normal, no trailing slash), so that a file's directory matches
// the name RocksDB gave NewDirectory however either was written.
std::string Normalize(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) p = path;
  std::string n = p.lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

std::string DirOf(const std::string& normalized) {
  return std::filesystem::path(normalized).parent_path().string();
}

IOStatus Refuse(const std::string& what, const std::string& name) {
  return IOStatus::IOError("simulated power loss: the disk is frozen, refusing to " + what, name);
}

// The data of one file: shared by its open handle and the name table (and by hard links), so a rename of
// an open file keeps the handle's writes attached to the file.
struct FileState {
  uint64_t size = 0;     // bytes written
  uint64_t durable = 0;  // bytes covered by a completed sync before the crash
};

// A change to a directory's entries that is lost unless the directory is fsynced after it.
struct NameChange {
  enum class Kind { kCreate, kRename, kDelete };

  static NameChange Create(std::string name) { return NameChange(Kind::kCreate, std::move(name), "", {}); }
  static NameChange Delete(std::string name, std::string content) {
    return NameChange(Kind::kDelete, std::move(name), "", std::move(content));
  }
  static NameChange Rename(std::string from, std::string to, std::optional<std::string> replaced) {
    return NameChange(Kind::kRename, std::move(to), std::move(from), std::move(replaced));
  }

  Kind kind;
  std::string name;  // the file created or deleted; the new name of a renamed file
  std::string from;  // kRename: the old name
  // The durable content of the file this change deleted or replaced (kDelete; kRename over a file).
  std::optional<std::string> lost;
  std::vector<std::string> unsynced_dirs;  // directories still to be fsynced for the change to be durable
  uint64_t seq = 0;                        // order of the change, to undo in reverse and to match fsyncs

 private:
  NameChange(Kind k, std::string n, std::string f, std::optional<std::string> l)
      : kind(k), name(std::move(n)), from(std::move(f)), lost(std::move(l)) {
    unsynced_dirs.push_back(DirOf(name));
    if (kind == Kind::kRename && DirOf(from) != unsynced_dirs[0]) unsynced_dirs.push_back(DirOf(from));
  }
};

}  // namespace

class PowerLossFileSystem : public rocksdb::FileSystemWrapper {
 public:
  PowerLossFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "PowerLossFileSystem"; }

  IOStatus NewWritableFile(const std::string& fname, const FileOptions& opts,
                           std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) override;
  IOStatus ReopenWritableFile(const std::string& fname, const FileOptions& opts,
                              std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) override;
  IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname, const FileOptions& opts,
                             std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) override;
  IOStatus NewRandomRWFile(const std::string& fname, const FileOptions&,
                           std::unique_ptr<rocksdb::FSRandomRWFile>*, IODebugContext*) override {
    return IOStatus::NotSupported("the power-loss file system does not model random writes", fname);
  }
  IOStatus NewDirectory(const std::string& name, const IOOptions& io_opts,
                        std::unique_ptr<rocksdb::FSDirectory>* result, IODebugContext* dbg) override;
  IOStatus DeleteFile(const std::string& fname, const IOOptions& io_opts, IODebugContext* dbg) override;
  IOStatus RenameFile(const std::string& src, const std::string& dst, const IOOptions& io_opts,
                      IODebugContext* dbg) override;
  IOStatus LinkFile(const std::string& src, const std::string& dst, const IOOptions& io_opts,
                    IODebugContext* dbg) override;

  // Called by the tracked files and directories.
  void Appended(FileState& state, uint64_t n);
  void WroteUpTo(FileState& state, uint64_t end);
  template <typename SyncFn>
  IOStatus SyncFile(FileState& state, SyncFn sync);
  template <typename TruncateFn>
  IOStatus TruncateFile(FileState& state, uint64_t size, const std::string& name, TruncateFn truncate);
  template <typename SyncFn>
  IOStatus SyncDirectory(const std::string& dir, SyncFn sync);
  void WriterClosed();

  void Crash();
  bool crashed() const;
  Status DropUnsyncedData();
  void Reset();

 private:
  // The state of the file at `name`; a file not yet tracked starts fully durable at its current size.
  IOStatus TrackLocked(const std::string& name, std::shared_ptr<FileState>* state);
  // Shortens the file at `name` (the POSIX file system has no FileSystem::Truncate).
  IOStatus CutLocked(const std::string& name, uint64_t size);
  // What of the file at `name` would survive a power loss now.
  IOStatus DurableContentLocked(const std::string& name, std::string* content);
  void RecordLocked(NameChange change);
  IOStatus UndoLocked(const NameChange& change);

  mutable std::mutex mu_;
  bool crashed_ = false;                                       // guarded by mu_
  std::map<std::string, std::shared_ptr<FileState>> files_;    // guarded by mu_; by current name
  std::vector<NameChange> pending_;                            // guarded by mu_; in seq order
  uint64_t next_seq_ = 0;                                      // guarded by mu_
  int open_writers_ = 0;                                       // guarded by mu_
};

namespace {

class TrackedWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedWritableFile(std::unique_ptr<rocksdb::FSWritableFile> target, PowerLossFileSystem* fs, std::string name,
                      std::shared_ptr<FileState> state, bool strict_bytes_per_sync)
      : FSWritableFileOwnerWrapper(std::move(target)),
        fs_(fs),
        name_(std::move(name)),
        state_(std::move(state)),
        strict_bytes_per_sync_(strict_bytes_per_sync) {}
  ~TrackedWritableFile() override { fs_->WriterClosed(); }

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = target()->Append(data, o, dbg);
    if (s.ok()) fs_->Appended(*state_, data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& v,
                  IODebugContext* dbg) override {
    IOStatus s = target()->Append(data, o, v, dbg);
    if (s.ok()) fs_->Appended(*state_, data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = target()->PositionedAppend(data, offset, o, dbg);
    if (s.ok()) fs_->WroteUpTo(*state_, offset + data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& v, IODebugContext* dbg) override {
    IOStatus s = target()->PositionedAppend(data, offset, o, v, dbg);
    if (s.ok()) fs_->WroteUpTo(*state_, offset + data.size());
    return s;
  }
  IOStatus Truncate(uint64_t size, const IOOptions& o, IODebugContext* dbg) override {
    return fs_->TruncateFile(*state_, size, name_, [&] { return target()->Truncate(size, o, dbg); });
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override {
    return fs_->SyncFile(*state_, [&] { return target()->Sync(o, dbg); });
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    return fs_->SyncFile(*state_, [&] { return target()->Fsync(o, dbg); });
  }
  // sync_file_range only starts write-back; it is a full sync only when strict_bytes_per_sync asks for one.
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& o, IODebugContext* dbg) override {
    if (strict_bytes_per_sync_) return Sync(o, dbg);
    return target()->RangeSync(offset, nbytes, o, dbg);
  }

 private:
  PowerLossFileSystem* fs_;
  const std::string name_;
  const std::shared_ptr<FileState> state_;
  const bool strict_bytes_per_sync_;
};

class TrackedDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  TrackedDirectory(std::unique_ptr<rocksdb::FSDirectory> target, PowerLossFileSystem* fs, std::string name)
      : FSDirectoryWrapper(std::move(target)), fs_(fs), name_(std::move(name)) {}

  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    return fs_->SyncDirectory(name_, [&] { return FSDirectoryWrapper::Fsync(o, dbg); });
  }
  IOStatus FsyncWithDirOptions(const IOOptions& o, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& dir_opts) override {
    return fs_->SyncDirectory(name_, [&] { return FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, dir_opts); });
  }

 private:
  PowerLossFileSystem* fs_;
  const std::string name_;
};

}  // namespace

IOStatus PowerLossFileSystem::NewWritableFile(const std::string& fname, const FileOptions& opts,
                                              std::unique_ptr<rocksdb::FSWritableFile>* result,
                                              IODebugContext* dbg) {
  const std::string name = Normalize(fname);
  std::lock_guard lock(mu_);
  const bool existed = target()->FileExists(name, IOOptions(), nullptr).ok();
  // Opening truncates: after the crash that would destroy bytes the power loss keeps.
  if (crashed_ && existed) return Refuse("truncate an existing file by opening it for writing", name);
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->NewWritableFile(name, opts, &file, dbg);
  if (!s.ok()) return s;
  auto state = std::make_shared<FileState>();
  files_[name] = state;
  if (!existed) RecordLocked(NameChange::Create(name));
  ++open_writers_;
  *result = std::make_unique<TrackedWritableFile>(std::move(file), this, name, std::move(state),
                                                  opts.strict_bytes_per_sync);
  return s;
}

IOStatus PowerLossFileSystem::ReopenWritableFile(const std::string& fname, const FileOptions& opts,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                 IODebugContext* dbg) {
  const std::string name = Normalize(fname);
  std::lock_guard lock(mu_);
  const bool existed = target()->FileExists(name, IOOptions(), nullptr).ok();
  std::shared_ptr<FileState> state;
  if (existed) {
    IOStatus s = TrackLocked(name, &state);
    if (!s.ok()) return s;
  }
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReopenWritableFile(name, opts, &file, dbg);
  if (!s.ok()) return s;
  if (!existed) {
    state = files_[name] = std::make_shared<FileState>();
    RecordLocked(NameChange::Create(name));
  }
  ++open_writers_;
  *result = std::make_unique<TrackedWritableFile>(std::move(file), this, name, std::move(state),
                                                  opts.strict_bytes_per_sync);
  return s;
}

// What FileSystem's own default does, but through this class so that both steps are tracked.
IOStatus PowerLossFileSystem::ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                                const FileOptions& opts,
                                                std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                IODebugContext* dbg) {
  IOStatus s = RenameFile(old_fname, fname, IOOptions(), dbg);
  if (!s.ok()) return s;
  return NewWritableFile(fname, opts, result, dbg);
}

IOStatus PowerLossFileSystem::NewDirectory(const std::string& name, const IOOptions& io_opts,
                                           std::unique_ptr<rocksdb::FSDirectory>* result, IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> dir;
  IOStatus s = target()->NewDirectory(name, io_opts, &dir, dbg);
  if (!s.ok()) return s;
  *result = std::make_unique<TrackedDirectory>(std::move(dir), this, Normalize(name));
  return s;
}

IOStatus PowerLossFileSystem::DeleteFile(const std::string& fname, const IOOptions& io_opts,
                                         IODebugContext* dbg) {
  const std::string name = Normalize(fname);
  std::lock_guard lock(mu_);
  if (!target()->FileExists(name, io_opts, dbg).ok()) return target()->DeleteFile(name, io_opts, dbg);
  std::string content;
  IOStatus s = DurableContentLocked(name, &content);
  if (!s.ok()) return s;
  s = target()->DeleteFile(name, io_opts, dbg);
  if (!s.ok()) return s;
  files_.erase(name);
  RecordLocked(NameChange::Delete(name, std::move(content)));
  return s;
}

IOStatus PowerLossFileSystem::RenameFile(const std::string& src, const std::string& dst, const IOOptions& io_opts,
                                         IODebugContext* dbg) {
  const std::string from = Normalize(src);
  const std::string to = Normalize(dst);
  if (from == to) return target()->RenameFile(from, to, io_opts, dbg);
  std::lock_guard lock(mu_);
  std::optional<std::string> replaced;
  if (target()->FileExists(to, io_opts, dbg).ok()) {
    IOStatus s = DurableContentLocked(to, &replaced.emplace());
    if (!s.ok()) return s;
  }
  IOStatus s = target()->RenameFile(from, to, io_opts, dbg);
  if (!s.ok()) return s;
  auto it = files_.find(from);
  if (it != files_.end()) {
    files_[to] = it->second;
    files_.erase(it);
  } else {
    files_.erase(to);  // replaced by a file that was never written through here, hence durable as it is
  }
  RecordLocked(NameChange::Rename(from, to, std::move(replaced)));
  return s;
}

IOStatus PowerLossFileSystem::LinkFile(const std::string& src, const std::string& dst, const IOOptions& io_opts,
                                       IODebugContext* dbg) {
  const std::string from = Normalize(src);
  const std::string to = Normalize(dst);
  std::lock_guard lock(mu_);
  IOStatus s = target()->LinkFile(from, to, io_opts, dbg);
  if (!s.ok()) return s;
  if (auto it = files_.find(from); it != files_.end()) files_[to] = it->second;
  RecordLocked(NameChange::Create(to));
  return s;
}

void PowerLossFileSystem::Appended(FileState& state, uint64_t n) {
  std::lock_guard lock(mu_);
  state.size += n;
}

void PowerLossFileSystem::WroteUpTo(FileState& state, uint64_t end) {
  std::lock_guard lock(mu_);
  state.size = std::max(state.size, end);
}

template <typename SyncFn>
IOStatus PowerLossFileSystem::SyncFile(FileState& state, SyncFn sync) {
  uint64_t covered;
  {
    std::lock_guard lock(mu_);
    if (crashed_) return IOStatus::OK();
    // Only bytes whose write completed before the sync started are sure to be covered by it.
    covered = state.size;
  }
  IOStatus s = sync();
  if (!s.ok()) return s;
  std::lock_guard lock(mu_);
  if (!crashed_) state.durable = std::max(state.durable, covered);
  return s;
}

template <typename TruncateFn>
IOStatus PowerLossFileSystem::TruncateFile(FileState& state, uint64_t size, const std::string& name,
                                           TruncateFn truncate) {
  {
    std::lock_guard lock(mu_);
    if (crashed_ && size < state.durable) return Refuse("truncate durable bytes", name);
  }
  IOStatus s = truncate();
  if (!s.ok()) return s;
  std::lock_guard lock(mu_);
  state.size = size;
  // Conservative: the cut is taken as durable at once, and whatever it removed cannot come back.
  state.durable = std::min(state.durable, uint64_t{size});
  return s;
}

template <typename SyncFn>
IOStatus PowerLossFileSystem::SyncDirectory(const std::string& dir, SyncFn sync) {
  uint64_t before;
  {
    std::lock_guard lock(mu_);
    if (crashed_) return IOStatus::OK();
    before = next_seq_;  // changes made while the fsync runs may or may not be covered: take them as not
  }
  IOStatus s = sync();
  if (!s.ok()) return s;
  std::lock_guard lock(mu_);
  if (crashed_) return s;
  for (NameChange& c : pending_) {
    if (c.seq < before) std::erase(c.unsynced_dirs, dir);
  }
  std::erase_if(pending_, [](const NameChange& c) { return c.unsynced_dirs.empty(); });
  return s;
}

void PowerLossFileSystem::WriterClosed() {
  std::lock_guard lock(mu_);
  --open_writers_;
}

void PowerLossFileSystem::Crash() {
  std::lock_guard lock(mu_);
  crashed_ = true;
}

bool PowerLossFileSystem::crashed() const {
  std::lock_guard lock(mu_);
  return crashed_;
}

Status PowerLossFileSystem::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  if (open_writers_ > 0) {
    return Status::InvalidRequest(fmt::format(
        "{} file(s) are still open for writing; close the database before simulating the power loss",
        open_writers_));
  }
  // Data first, under the current names; then the names, newest change first, which carries each file back
  // to the name it had.
  for (const auto& [name, state] : files_) {
    uint64_t size = 0;
    if (!target()->GetFileSize(name, IOOptions(), &size, nullptr).ok() || size <= state->durable) continue;
    IOStatus s = CutLocked(name, state->durable);
    if (!s.ok()) return Status::IOError("dropping unsynced data: " + s.ToString());
  }
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    IOStatus s = UndoLocked(*it);
    if (!s.ok()) return Status::IOError("undoing an unsynced change of " + it->name + ": " + s.ToString());
  }
  files_.clear();
  pending_.clear();
  crashed_ = false;
  return Status::OK();
}

void PowerLossFileSystem::Reset() {
  std::lock_guard lock(mu_);
  files_.clear();
  pending_.clear();
  crashed_ = false;
}

IOStatus PowerLossFileSystem::TrackLocked(const std::string& name, std::shared_ptr<FileState>* state) {
  if (auto it = files_.find(name); it != files_.end()) {
    *state = it->second;
    return IOStatus::OK();
  }
  uint64_t size = 0;
  IOStatus s = target()->GetFileSize(name, IOOptions(), &size, nullptr);
  if (!s.ok()) return s;
  *state = files_[name] = std::make_shared<FileState>(FileState{.size = size, .durable = size});
  return s;
}

IOStatus PowerLossFileSystem::CutLocked(const std::string& name, uint64_t size) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReopenWritableFile(name, FileOptions(), &file, nullptr);
  if (s.ok()) s = file->Truncate(size, IOOptions(), nullptr);
  if (s.ok()) s = file->Close(IOOptions(), nullptr);
  return s;
}

IOStatus PowerLossFileSystem::DurableContentLocked(const std::string& name, std::string* content) {
  IOStatus s = rocksdb::ReadFileToString(target(), name, content);
  if (!s.ok()) return s;
  if (auto it = files_.find(name); it != files_.end() && content->size() > it->second->durable) {
    content->resize(it->second->durable);
  }
  return s;
}

void PowerLossFileSystem::RecordLocked(NameChange change) {
  change.seq = next_seq_++;
  pending_.push_back(std::move(change));
}

IOStatus PowerLossFileSystem::UndoLocked(const NameChange& change) {
  switch (change.kind) {
    case NameChange::Kind::kCreate:
      return target()->DeleteFile(change.name, IOOptions(), nullptr);
    case NameChange::Kind::kRename: {
      IOStatus s = target()->RenameFile(change.name, change.from, IOOptions(), nullptr);
      if (!s.ok() || !change.lost) return s;
      return rocksdb::WriteStringToFile(target(), *change.lost, change.name, /*should_sync=*/true);
    }
    case NameChange::Kind::kDelete:
      return rocksdb::WriteStringToFile(target(), *change.lost, change.name, /*should_sync=*/true);
  }
  return IOStatus::OK();
}

PowerLossEnv::PowerLossEnv()
    : fs_(std::make_shared<PowerLossFileSystem>()), env_(rocksdb::NewCompositeEnv(fs_)) {}

PowerLossEnv::~PowerLossEnv() = default;

void PowerLossEnv::Crash() { fs_->Crash(); }
bool PowerLossEnv::crashed() const { return fs_->crashed(); }
Status PowerLossEnv::DropUnsyncedData() { return fs_->DropUnsyncedData(); }
void PowerLossEnv::Reset() { fs_->Reset(); }

}  // namespace sagadb::testing
