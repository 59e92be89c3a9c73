#include "log/commit_queue.h"

namespace sagadb {

void CommitQueue::Submit(LogWrite write, Done done) {
  mu_.Lock();
  queue_.push_back(Pending{std::move(write), std::move(done)});
  if (leading_) {
    mu_.Unlock();  // the active leader writes it
    return;
  }
  while (!queue_.empty()) {
    leading_ = true;
    std::vector<Pending> group = std::move(queue_);
    queue_.clear();
    const uint64_t first_seq = next_seq_;
    Batch batch;
    for (Pending& p : group) {
      if (p.write.txn != nullptr) p.write.txn->AppendTo(&batch);
      for (const SagaEvent& e : p.write.events) log_->StageEvent(&batch, saga_, next_seq_++, e);
      if (p.write.record) log_->StageRecord(&batch, *p.write.record);
    }
    mu_.Unlock();

    const Status st = log_->store()->Write(batch);

    mu_.Lock();
    if (st.ok()) {
      batches_++;
    } else {
      next_seq_ = first_seq;
    }
    leading_ = false;
    mu_.Unlock();
    // Locks first, so that whatever `done` starts (the next node) finds the records free.
    for (Pending& p : group) p.write.txn.reset();
    for (Pending& p : group) p.done(st);
    mu_.Lock();
    if (leading_) break;  // a `done` (or another thread) leads now; it drains the queue
  }
  mu_.Unlock();
}

Status CommitQueue::Write(LogWrite write) {
  struct Waiter {
    Mutex mu;
    CondVar cv{&mu};
    bool done GUARDED_BY(mu) = false;
    Status status GUARDED_BY(mu);
  } waiter;
  Submit(std::move(write), [&waiter](Status st) {
    MutexLock lock(&waiter.mu);
    waiter.status = std::move(st);
    waiter.done = true;
    waiter.cv.Signal();
  });
  MutexLock lock(&waiter.mu);
  while (!waiter.done) waiter.cv.Wait();
  return waiter.status;
}

uint64_t CommitQueue::next_seq() const {
  MutexLock lock(&mu_);
  return next_seq_;
}

uint64_t CommitQueue::batches() const {
  MutexLock lock(&mu_);
  return batches_;
}

}  // namespace sagadb
