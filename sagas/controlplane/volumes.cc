#include "sagas/controlplane/volumes.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sagadb {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".vol";

Status ErrnoStatus(int err, std::string_view what) {
  std::string msg = fmt::format("{}: {}", what, std::strerror(err));
  if (err == EINTR || err == EAGAIN || err == EBUSY) return Status::Transient(std::move(msg));
  return Status::IOError(std::move(msg));
}

// Makes the directory entry of a created or removed file durable.
Status SyncDir(std::string_view dir) {
  int fd = ::open(std::string(dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, fmt::format("opening {}", dir));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : ErrnoStatus(err, fmt::format("syncing {}", dir));
}

Status CreateFile(const std::string& path, uint64_t size_bytes) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, fmt::format("creating {}", path));
  // ftruncate makes a sparse file: no block is written until the guest writes one.
  int rc = ::ftruncate(fd, static_cast<off_t>(size_bytes));
  if (rc == 0) rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : ErrnoStatus(err, fmt::format("sizing {}", path));
}

}  // namespace

std::string VolumesDirFor(std::string_view database_dir) { return (fs::path(database_dir) / "volumes").string(); }

std::string VolumePath(std::string_view dir, const Uuid& disk) {
  return (fs::path(dir) / (disk.ToString() + std::string(kSuffix))).string();
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
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("creating {}: {}", dir, ec.message()));
  const std::string path = VolumePath(dir, disk);
  Status st = CreateFile(path, size_bytes);
  if (st.ok()) st = SyncDir(dir);
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
  Status st = SyncDir(dir);
  return st.ok() ? st : Status::Transient(st.message());
}

Result<VolumeListing> ListVolumes(std::string_view dir) {
  VolumeListing out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::IOError(fmt::format("reading {}: {}", dir, ec.message()));
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (auto id = VolumeDiskId(name)) {
      out.volumes.emplace(*id, std::move(name));
    } else {
      out.other_files.push_back(std::move(name));
    }
  }
  if (ec) return Status::IOError(fmt::format("reading {}: {}", dir, ec.message()));
  return out;
}

}  // namespace sagadb
