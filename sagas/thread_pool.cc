#include "sagas/thread_pool.h"

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
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
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
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::Loop() {
  tls_slot.pool = this;
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
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
