// ThreadPool: a fixed number of threads running submitted tasks, and timed tasks that join them when due. The
// executor runs every node's action and undo here, so the number of threads bounds how many run at once.
//
//   ThreadPool pool(8);
//   pool.Submit([] { ... });                                        // runs as soon as a thread is free
//   pool.SubmitAfter(std::chrono::milliseconds(5), [] { ... });     // a retry after its backoff
//
// A retry waits as a timed task, never as a sleeping thread: one timer thread holds every pending delay and
// hands each task to the pool when it is due, so a backoff costs no pool thread.
//
// A task submitted from one of the pool's own threads is kept by that thread and run as soon as its current
// task returns (one such task at a time; more go to the shared FIFO queue). A finished node usually makes the
// next one ready, and running it on the thread that is already awake saves a wake-up and a context switch.
//
// Thread safety: all methods may be called concurrently, from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "base/mutex.h"

namespace sagadb {

class ThreadPool {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ThreadPool(size_t threads);
  // Runs every task already submitted, timed ones included (at once, not waiting for their delays), then joins
  // the threads.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task) EXCLUDES(mu_);
  // Runs the task on the pool once `delay` has passed (or at once after Expedite).
  void SubmitAfter(Clock::duration delay, std::function<void()> task) EXCLUDES(mu_);
  // Every timed task pending now, and every one submitted from now on, is due at once. For shutting down: a
  // task waiting out a backoff should see the stop now, not when its delay ends.
  void Expedite() EXCLUDES(mu_);

  size_t size() const { return threads_.size(); }
  // Timed tasks not yet handed to the pool.
  size_t pending_timers() const EXCLUDES(mu_);

 private:
  void Loop() EXCLUDES(mu_);
  void TimerLoop() EXCLUDES(mu_);
  void Enqueue(std::function<void()> task) EXCLUDES(mu_);

  mutable Mutex mu_;
  CondVar work_cv_{&mu_};
  CondVar timer_cv_{&mu_};
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  // Due time and a sequence number (FIFO among equal times) -> task.
  std::map<std::pair<Clock::time_point, uint64_t>, std::function<void()>> timers_ GUARDED_BY(mu_);
  uint64_t next_timer_ GUARDED_BY(mu_) = 0;
  bool expedite_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
  std::thread timer_thread_;
};

}  // namespace sagadb
