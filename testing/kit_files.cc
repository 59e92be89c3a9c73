// The kit's files: worlds copied case by case (sparse files kept sparse), and the tail of a child's output.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "testing/kit_internal.h"

namespace sagadb::testing {

namespace fs = std::filesystem;

namespace {

// Copies one regular file, holes kept as holes: a world may hold large sparse files (the control plane's volumes
// are), and copying their zeros would cost each case the whole nominal size.
Status CopySparseFile(const fs::path& from, const fs::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::IOError(fmt::format("opening {}: {}", from.string(), std::strerror(errno)));
  struct stat st {};
  const int out = ::fstat(in, &st) == 0 ? ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777) : -1;
  Status result;
  if (out < 0) {
    result = Status::IOError(fmt::format("creating {}: {}", to.string(), std::strerror(errno)));
  } else if (::ftruncate(out, st.st_size) != 0) {
    result = Status::IOError(fmt::format("sizing {}: {}", to.string(), std::strerror(errno)));
  } else {
    std::vector<char> buf(1 << 16);
    for (off_t data = ::lseek(in, 0, SEEK_DATA); data >= 0 && data < st.st_size && result.ok();) {
      const off_t hole = ::lseek(in, data, SEEK_HOLE);
      const off_t end = hole < 0 ? st.st_size : hole;
      for (off_t at = data; at < end && result.ok();) {
        const ssize_t n = ::pread(in, buf.data(), std::min<off_t>(static_cast<off_t>(buf.size()), end - at), at);
        if (n <= 0 || ::pwrite(out, buf.data(), static_cast<size_t>(n), at) != n) {
          result = Status::IOError(fmt::format("copying {}: {}", from.string(), std::strerror(errno)));
        }
        at += n;
      }
      data = ::lseek(in, end, SEEK_DATA);
    }
  }
  if (out >= 0) ::close(out);
  ::close(in);
  return result;
}

}  // namespace

Status CopyTree(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  if (ec) return Status::IOError(fmt::format("removing {}: {}", to, ec.message()));
  fs::create_directories(to, ec);
  if (ec) return Status::IOError(fmt::format("making {}: {}", to, ec.message()));
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path target = fs::path(to) / fs::relative(it->path(), from);
    if (it->is_symlink(ec)) {
      fs::copy_symlink(it->path(), target, ec);
    } else if (it->is_directory(ec)) {
      fs::create_directories(target, ec);
    } else if (it->is_regular_file(ec)) {
      SAGADB_RETURN_IF_ERROR(CopySparseFile(it->path(), target));
    }
    if (ec) break;
  }
  if (ec) return Status::IOError(fmt::format("copying {} to {}: {}", from, to, ec.message()));
  return Status::OK();
}

std::string Tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  if (all.size() > max_bytes) all = "..." + all.substr(all.size() - max_bytes);
  return all;
}

}  // namespace sagadb::testing
