// A saga as its caller sees it: its state, a handle to wait on, and how it ended.
//
//   sagadb::Result<sagadb::SagaHandle> h = db->Start(dag, params);
//   sagadb::Result<sagadb::SagaResult> r = h->Wait();
//   if (r.ok() && r->state == sagadb::SagaState::kSucceeded) use(r->output);
//
// States (the saga record's): running; unwinding (a node failed, or an operator cancelled it, and its completed
// nodes are being undone); succeeded; failed (fully unwound: nothing it did remains); stuck (an undo failed for
// good: an operator must look); abandoned (an operator gave up on it); paused (an undo kept failing with errors
// that may pass: the next open and an operator's resume retry it).
//
// Thread safety: a SagaHandle may be copied and used from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sagadb/dag.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace sagadb {

enum class SagaState : uint8_t { kRunning, kUnwinding, kSucceeded, kFailed, kStuck, kAbandoned, kPaused };
// "running", "unwinding", "succeeded", "failed", "stuck", "abandoned", "paused".
std::string_view ToString(SagaState state);
std::optional<SagaState> ParseSagaState(std::string_view text);

// Why an operator abandoned a saga (stored: new kinds are appended). "operator": someone decided to; 
// "unrecoverable": its log or its world cannot be put right; "orphaned": what it worked on is gone.
enum class AbandonKind : uint8_t { kOperator, kUnrecoverable, kOrphaned };
std::string_view ToString(AbandonKind kind);
std::optional<AbandonKind> ParseAbandonKind(std::string_view text);

// Who asks for an operator action and why, in the caller's own words; both are kept in the saga's log.
struct OperatorRequest {
  std::string actor;   // e.g. "alice", "appliance-api"; must not be empty
  std::string reason;  // e.g. "volume host replaced"; may be empty
};

struct StartOptions {
  // Wait this long for room under the in-flight limit instead of failing at once with Overloaded.
  std::optional<std::chrono::milliseconds> admission_wait;
  // Use this id for the saga (default: a new random id). Lets a caller record the id before starting, and
  // start again after a crash without starting twice: an id names one saga, never overwritten. Starting an id
  // that a saga has (in flight here, or in the log) gives that saga's handle when the kind and params are the
  // same (its Wait reports how it ended; a saga of the log that this process does not run says that the next
  // open resumes it), and Conflict otherwise.
  std::optional<Uuid> id;
};

struct SagaResult {
  Uuid id;
  SagaState state = SagaState::kRunning;
  Json output;             // kSucceeded: the output of the saga's last node (null if its last stage has several)
  std::string error_node;  // kFailed: the node whose failure began the unwind; kStuck: the node whose undo failed
  Status error;
};

class SagaRun;

// A started saga. Keeps the saga's in-memory state alive.
class SagaHandle {
 public:
  explicit SagaHandle(std::shared_ptr<SagaRun> run) : run_(std::move(run)) {}
  const Uuid& id() const;
  // Blocks until the saga ends (succeeded, failed, stuck), or halts: then the error that halted it (a write of
  // its log failed for good, or the database is closing). A halted saga stays running or unwinding in the
  // database and is resumed by the next open. The end it reports is durable: it is published only once the
  // write carrying the saga's final record has succeeded, and if that write fails, Wait reports the halt.
  Result<SagaResult> Wait() const;
  // Whether Wait would return at once.
  bool Done() const;

 private:
  std::shared_ptr<SagaRun> run_;
};

}  // namespace sagadb
