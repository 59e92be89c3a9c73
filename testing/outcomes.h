// The outcomes file: the sagas a kit's child process saw end, so that the parent can check that a crash lost
// none of them.
//
//   OutcomeWriter out(path);                         // opens for appending; out.status() says whether it did
//   out.Append(result.id, result.state);             // one "<id> <state>\n" line, one write(2)
//   ...
//   std::vector<SeenOutcome> seen = ReadOutcomes(path);   // in the parent, after the child ended
//
// Each line goes to the kernel in a single write(2) on an O_APPEND descriptor, with no user-space buffer: a
// process crash keeps what reached the page cache, so the file holds every line appended before the crash.
// A kill in the middle of the call can at worst leave a partial last line, which ReadOutcomes skips.
#pragma once

#include <string>
#include <vector>

#include "sagadb/status.h"
#include "schema/records.h"
#include "sagadb/uuid.h"

namespace sagadb::testing {

struct SeenOutcome {
  Uuid id;
  SagaState state = SagaState::kRunning;
};

class OutcomeWriter {
 public:
  explicit OutcomeWriter(const std::string& path);
  ~OutcomeWriter();
  OutcomeWriter(const OutcomeWriter&) = delete;
  OutcomeWriter& operator=(const OutcomeWriter&) = delete;

  // Whether the file could be opened.
  const Status& status() const { return status_; }
  // Appends one whole line. Thread-safe (O_APPEND writes do not interleave).
  Status Append(const Uuid& id, SagaState state);

 private:
  int fd_ = -1;
  Status status_;
};

// The complete lines of the file, in order; an empty list if it does not exist. A line that does not parse is
// returned with a nil id, so that the caller reports it.
std::vector<SeenOutcome> ReadOutcomes(const std::string& path);

}  // namespace sagadb::testing
