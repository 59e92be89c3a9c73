// ThreadPool: every task runs exactly once; a task submitted from a pool thread runs on that thread right after
// the submitting task returns (no hand-off); one kept task at most, the rest go to the shared queue.
#include "sagas/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <set>

namespace sagadb {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskOnceFromOutsideAndInside) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(4);
    for (int i = 0; i < 200; ++i) {
      pool.Submit([&pool, &ran] {
        ran++;
        // Three follow-ups: the first is kept by this thread, the others are queued.
        for (int k = 0; k < 3; ++k) pool.Submit([&ran] { ran++; });
      });
    }
  }  // the destructor runs everything submitted, including follow-ups
  EXPECT_EQ(ran.load(), 200 * 4);
}

TEST(ThreadPoolTest, FollowUpRunsOnTheSubmittingThreadAfterItsTaskReturns) {
  ThreadPool pool(4);
  std::promise<void> done;
  std::thread::id parent_thread, child_thread;
  std::atomic<bool> parent_returned{false};
  std::atomic<bool> child_saw_parent_returned{false};
  pool.Submit([&] {
    parent_thread = std::this_thread::get_id();
    pool.Submit([&] {
      child_thread = std::this_thread::get_id();
      child_saw_parent_returned = parent_returned.load();
      done.set_value();
    });
    // Idle threads are available, yet the follow-up must wait for this task to return.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    parent_returned = true;
  });
  done.get_future().wait();
  EXPECT_EQ(parent_thread, child_thread);
  EXPECT_TRUE(child_saw_parent_returned.load());
}

TEST(ThreadPoolTest, SecondFollowUpGoesToAnotherThread) {
  ThreadPool pool(4);
  // The parent blocks until the second follow-up has run: that only works if the second one was queued for
  // another thread instead of being kept behind the first.
  std::latch second_ran(1);
  std::promise<void> all;
  std::atomic<int> count{0};
  pool.Submit([&] {
    pool.Submit([&] {
      if (++count == 2) all.set_value();
    });
    pool.Submit([&] {
      second_ran.count_down();
      if (++count == 2) all.set_value();
    });
    second_ran.wait();
  });
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(ThreadPoolTest, TasksFromOutsideAreSpreadOverThreads) {
  ThreadPool pool(4);
  std::latch all_started(4);
  std::mutex mu;
  std::set<std::thread::id> threads;
  for (int i = 0; i < 4; ++i) {
    pool.Submit([&] {
      {
        std::lock_guard lock(mu);
        threads.insert(std::this_thread::get_id());
      }
      all_started.arrive_and_wait();  // deadlocks unless four threads run these at once
    });
  }
  all_started.wait();
  std::lock_guard lock(mu);
  EXPECT_EQ(threads.size(), 4u);
}

}  // namespace
}  // namespace sagadb
