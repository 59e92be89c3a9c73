// ThreadPool: a fixed number of threads running submitted tasks. The executor runs every node's action and undo
// here, so the number of threads bounds how many run at once.
//
// A task submitted from one of the pool's own threads is kept by that thread and run as soon as its current
// task returns (one such task at a time; more go to the shared FIFO queue). A finished node usually makes the
// next one ready, and running it on the thread that is already awake saves a wake-up and a context switch per
// node.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sagadb {

class ThreadPool {
 public:
  explicit ThreadPool(size_t threads);
  // Runs every task already submitted, then joins the threads.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);
  size_t size() const { return threads_.size(); }

 private:
  void Loop();
  void Enqueue(std::function<void()> task);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace sagadb
