#include "controlplane/volumes.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

namespace sagadb {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".vol";

std::atomic<uint64_t> g_syncs{0};

int CountedFsync(int fd) {
  g_syncs.fetch_add(1, std::memory_order_relaxed);
  return ::fsync(fd);
}

Status ErrnoStatus(int err, std::string_view what) {
  std::string msg = fmt::format("{}: {}", what, std::strerror(err));
  if (err == EINTR || err == EAGAIN || err == EBUSY) return Status::Transient(std::move(msg));
  return Status::IOError(std::move(msg));
}

// Makes the directory entry of a created or removed file durable.
Status SyncDir(std::string_view dir) {
  int fd = ::open(std::string(dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, fmt::format("opening {}", dir));
  int rc = CountedFsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : ErrnoStatus(err, fmt::format("syncing {}", dir));
}

// Directories whose entry in their parent this process has synced (or found already there and synced again).
// A directory another thread has just made may exist before its entry is durable, so existing is not enough:
// each process syncs the parent once per directory before putting a volume in it. A directory removed since
// (a database deleted and made again at the same path, a directory restored from a copy) is made and synced
// again: the process outlives what it remembers.
std::mutex g_durable_mu;
std::set<std::string> g_durable_dirs;  // guarded by g_durable_mu

Status EnsureDurableDir(const fs::path& d) {
  const std::string key = d.lexically_normal().string();
  {
    std::lock_guard lock(g_durable_mu);
    if (g_durable_dirs.count(key) != 0) {
      std::error_code ec;
      if (fs::is_directory(d, ec)) return Status::OK();
      g_durable_dirs.erase(key);
    }
  }
  std::error_code ec;
  fs::create_directories(d, ec);
  if (ec) return Status::IOError(fmt::format("creating {}: {}", d.string(), ec.message()));
  fs::path parent = d.parent_path();
  if (parent.empty()) parent = ".";
  SAGADB_RETURN_IF_ERROR(SyncDir(parent.string()));
  std::lock_guard lock(g_durable_mu);
  g_durable_dirs.insert(key);
  return Status::OK();
}

bool IsShardName(std::string_view name) {
  return name.size() == 2 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status CreateFile(const std::string& path, uint64_t size_bytes) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, fmt::format("creating {}", path));
  // ftruncate makes a sparse file: no block is written until the guest writes one.
  int rc = ::ftruncate(fd, static_cast<off_t>(size_bytes));
  if (rc == 0) rc = CountedFsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : ErrnoStatus(err, fmt::format("sizing {}", path));
}

}  // namespace

std::string VolumesDirFor(std::string_view database_dir) { return (fs::path(database_dir) / "volumes").string(); }

std::string VolumePath(std::string_view dir, const Uuid& disk) {
  const std::string id = disk.ToString();
  return (fs::path(dir) / id.substr(0, 2) / (id + std::string(kSuffix))).string();
}

std::optional<Uuid> VolumeDiskId(std::string_view file_name) {
  if (!file_name.ends_with(kSuffix)) return std::nullopt;
  file_name.remove_suffix(kSuffix.size());
  auto id = Uuid::Parse(file_name);
  // Only the canonical (lowercase) spelling is a volume's name: one disk, one possible file.
  if (!id || id->ToString() != file_name) return std::nullopt;
  return id;
}

Status CreateVolume(std::string_view dir, const Uuid& disk, uint64_t size_bytes) {
  const std::string path = VolumePath(dir, disk);
  const fs::path shard = fs::path(path).parent_path();
  SAGADB_RETURN_IF_ERROR(EnsureDurableDir(fs::path(dir)));
  SAGADB_RETURN_IF_ERROR(EnsureDurableDir(shard));
  Status st = CreateFile(path, size_bytes);
  if (st.ok()) st = SyncDir(shard.string());
  if (!st.ok()) ::unlink(path.c_str());  // a failed step leaves nothing: its undo will never run
  return st;
}

Status RemoveVolume(std::string_view dir, const Uuid& disk) {
  const std::string path = VolumePath(dir, disk);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::OK();
    return ErrnoStatus(errno, fmt::format("removing {}", path));
  }
  // The file is gone; only the durability of that is in doubt, and a retry (which finds no file) settles it.
  Status st = SyncDir(fs::path(path).parent_path().string());
  return st.ok() ? st : Status::Transient(st.message());
}

uint64_t VolumeSyncCount() { return g_syncs.load(std::memory_order_relaxed); }

Result<VolumeDirListing> ListVolumeDir(std::string_view dir) {
  VolumeDirListing out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  fs::directory_iterator top(dir, ec);
  for (; !ec && top != fs::directory_iterator(); top.increment(ec)) {
    const std::string name = top->path().filename().string();
    if (IsShardName(name) && top->is_directory(ec)) {
      out.shards[static_cast<uint8_t>(std::stoi(name, nullptr, 16))] = true;
    } else {
      out.other_files.push_back(name);
    }
  }
  if (ec) return Status::IOError(fmt::format("reading {}: {}", dir, ec.message()));
  std::sort(out.other_files.begin(), out.other_files.end());
  return out;
}

Result<ShardListing> ListVolumeShard(std::string_view dir, uint8_t shard_byte) {
  ShardListing out;
  const std::string shard = fmt::format("{:02x}", shard_byte);
  const fs::path path = fs::path(dir) / shard;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return out;
  fs::directory_iterator it(path, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::string relative = shard + "/" + name;
    auto id = VolumeDiskId(name);
    // A volume is only where its id puts it: anything else is reported, never mistaken for a disk's file.
    if (id && name.compare(0, 2, shard) == 0) {
      out.volumes.emplace_back(*id, std::move(relative));
    } else {
      out.other_files.push_back(std::move(relative));
    }
  }
  if (ec) return Status::IOError(fmt::format("reading {}: {}", path.string(), ec.message()));
  std::sort(out.volumes.begin(), out.volumes.end());
  std::sort(out.other_files.begin(), out.other_files.end());
  return out;
}

Result<VolumeListing> ListVolumes(std::string_view dir) {
  VolumeListing out;
  SAGADB_ASSIGN_OR_RETURN(VolumeDirListing top, ListVolumeDir(dir));
  out.other_files = std::move(top.other_files);
  for (int shard = 0; shard < 256; ++shard) {
    if (!top.shards[shard]) continue;
    SAGADB_ASSIGN_OR_RETURN(ShardListing listing, ListVolumeShard(dir, static_cast<uint8_t>(shard)));
    for (auto& [id, relative] : listing.volumes) out.volumes.emplace(id, std::move(relative));
    for (auto& name : listing.other_files) out.other_files.push_back(std::move(name));
  }
  std::sort(out.other_files.begin(), out.other_files.end());
  return out;
}

}  // namespace sagadb
