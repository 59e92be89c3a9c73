// CommitQueue: the group commit of one saga's log. Every outcome a saga records (a local step's staged writes
// with its `succeeded` event, an external step's `started`, a failure, the saga's final record) is a LogWrite
// submitted here; the queue numbers the events, stages them with the writes, and commits them.
//
//   CommitQueue queue(&log, saga_id, /*next_seq=*/1);
//   LogWrite w;
//   w.txn = std::move(step_txn);                    // its record locks are released once it is written
//   w.events.push_back(succeeded_event);
//   queue.Submit(std::move(w), [](Status st) { ... the step is durable, or nothing of it was written ... });
//
// Like LevelDB's writer queue: the first submitter to find no write in progress becomes the leader and writes
// everything queued as one synced batch, then whatever queued up meanwhile, until the queue is empty; parallel
// nodes of a saga so share their fsyncs. A batch is all or nothing: if it fails, no write of it is visible and
// each of its submitters is told so (and the sequence numbers it would have used are used again).
//
// Completion: `done` runs on the leader's thread once its write's batch is written or failed, after the write's
// txn (and with it every record lock it held) is gone, and at a moment when this thread is no longer leading, so
// that `done` may itself submit (a retry, a failure record) and lead that write.
//
// Lifetime: a completion may release the last reference to whatever owns the queue (a saga's run owns its
// queue). A caller of Submit or Write must therefore keep the queue alive until the call returns.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/mutex.h"
#include "engine/write_txn.h"
#include "log/saga_log.h"
#include "schema/records.h"

namespace sagadb {

struct LogWrite {
  std::unique_ptr<WriteTxn> txn;   // a local step's staged writes and record locks; may be null
  std::vector<SagaEvent> events;   // numbered in the order they are submitted
  std::optional<SagaRecord> record;
};

class CommitQueue {
 public:
  using Done = std::function<void(Status)>;

  // The events of `saga` are numbered from `next_seq` on. `log` must outlive the queue.
  CommitQueue(const SagaLog* log, const Uuid& saga, uint64_t next_seq) : log_(log), saga_(saga), next_seq_(next_seq) {}

  void Submit(LogWrite write, Done done) EXCLUDES(mu_);
  // Submit, then wait for the outcome.
  Status Write(LogWrite write) EXCLUDES(mu_);

  // The sequence number the next event will get.
  uint64_t next_seq() const EXCLUDES(mu_);
  // Batches written so far (each one synced write).
  uint64_t batches() const EXCLUDES(mu_);

 private:
  struct Pending {
    LogWrite write;
    Done done;
  };

  const SagaLog* const log_;
  const Uuid saga_;
  mutable Mutex mu_;
  std::vector<Pending> queue_ GUARDED_BY(mu_);
  bool leading_ GUARDED_BY(mu_) = false;
  uint64_t next_seq_ GUARDED_BY(mu_);
  uint64_t batches_ GUARDED_BY(mu_) = 0;
};

}  // namespace sagadb
