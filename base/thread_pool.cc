#include "base/thread_pool.h"

namespace sagadb {
namespace {

// The pool whose thread this is, and the task that thread runs next.
struct LocalSlot {
  const ThreadPool* pool = nullptr;
  std::function<void()> next;
};
thread_local LocalSlot tls_slot;

}  // namespace

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  timer_thread_ = std::thread([this] { TimerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    expedite_ = true;
  }
  timer_cv_.SignalAll();
  // The timer thread hands every pending timed task to the workers before it ends; only then may they stop.
  timer_thread_.join();
  work_cv_.SignalAll();
  for (auto& t : threads_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  if (tls_slot.pool == this && !tls_slot.next) {
    tls_slot.next = std::move(task);
    return;
  }
  Enqueue(std::move(task));
}

void ThreadPool::Enqueue(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }
  work_cv_.Signal();
}

void ThreadPool::SubmitAfter(Clock::duration delay, std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (expedite_) {
      // Due at once; and once the pool is stopping the timer thread may be gone, so go straight to the queue.
      tasks_.push_back(std::move(task));
      work_cv_.Signal();
      return;
    }
    const Clock::time_point due = Clock::now() + delay;
    const bool earliest = timers_.empty() || due < timers_.begin()->first.first;
    timers_.emplace(std::make_pair(due, next_timer_++), std::move(task));
    if (!earliest) return;
  }
  timer_cv_.Signal();
}

void ThreadPool::Expedite() {
  {
    MutexLock lock(&mu_);
    expedite_ = true;
  }
  timer_cv_.Signal();
}

size_t ThreadPool::pending_timers() const {
  MutexLock lock(&mu_);
  return timers_.size();
}

void ThreadPool::TimerLoop() {
  MutexLock lock(&mu_);
  for (;;) {
    while (!timers_.empty() && (expedite_ || timers_.begin()->first.first <= Clock::now())) {
      tasks_.push_back(std::move(timers_.begin()->second));
      timers_.erase(timers_.begin());
      work_cv_.Signal();
    }
    if (stopping_ && timers_.empty()) return;
    if (timers_.empty()) {
      timer_cv_.Wait();
    } else if (!expedite_) {
      timer_cv_.WaitUntil(timers_.begin()->first.first);
    }
  }
}

void ThreadPool::Loop() {
  tls_slot.pool = this;
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      // Stopping ends a worker only once the timer thread has handed over every timed task too.
      while (tasks_.empty() && !(stopping_ && timers_.empty())) work_cv_.Wait();
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
    while (tls_slot.next) {
      std::function<void()> next = std::move(tls_slot.next);
      tls_slot.next = nullptr;
      next();
    }
  }
}

}  // namespace sagadb
