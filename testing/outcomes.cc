#include "testing/outcomes.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sagadb::testing {

OutcomeWriter::OutcomeWriter(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) status_ = Status::IOError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
}

OutcomeWriter::~OutcomeWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status OutcomeWriter::Append(const Uuid& id, SagaState state) {
  if (fd_ < 0) return status_;
  const std::string line = fmt::format("{} {}\n", id.ToString(), ToString(state));
  const ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    return Status::IOError(fmt::format("appending an outcome: {}", n < 0 ? std::strerror(errno) : "short write"));
  }
  return Status::OK();
}

std::vector<SeenOutcome> ReadOutcomes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  std::vector<SeenOutcome> out;
  size_t begin = 0;
  for (size_t end; (end = all.find('\n', begin)) != std::string::npos; begin = end + 1) {
    const std::string_view line(all.data() + begin, end - begin);
    const size_t space = line.find(' ');
    SeenOutcome o;
    if (space != std::string_view::npos) {
      auto id = Uuid::Parse(line.substr(0, space));
      auto state = ParseSagaState(line.substr(space + 1));
      if (id && state) {
        o.id = *id;
        o.state = *state;
      }
    }
    out.push_back(o);
  }
  return out;
}

}  // namespace sagadb::testing
