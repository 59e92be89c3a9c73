#include "engine/db_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

namespace sagadb {

pid_t LockHolder(const std::string& path) {
  const int fd = ::open((std::filesystem::path(path) / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  pid_t holder = 0;
  if (::fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK) holder = lock.l_pid;
  ::close(fd);
  return holder;
}

}  // namespace sagadb
