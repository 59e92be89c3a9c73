// ThreadPool: every task runs exactly once; a task submitted from a pool thread runs on that thread right after
// the submitting task returns (no hand-off); one kept task at most, the rest go to the shared queue. Timed tasks
// (SubmitAfter) run no earlier than their delay, in the order they fall due, at once after Expedite, and the
// destructor runs those still pending.
#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <vector>

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
  // Declared before the pool, so that the pool's threads are joined before these go: a thread may still be
  // inside arrive_and_wait when the latch opens and this test returns.
  std::latch all_started(4);
  std::mutex mu;
  std::set<std::thread::id> threads;
  ThreadPool pool(4);
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

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(ThreadPoolTimerTest, ATimedTaskRunsNoEarlierThanItsDelay) {
  ThreadPool pool(2);
  constexpr auto kDelay = milliseconds(50);
  std::promise<Clock::time_point> ran;
  const Clock::time_point submitted = Clock::now();
  pool.SubmitAfter(kDelay, [&] { ran.set_value(Clock::now()); });
  EXPECT_EQ(pool.pending_timers(), 1u);
  auto future = ran.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_GE(future.get() - submitted, kDelay);
  EXPECT_EQ(pool.pending_timers(), 0u);
}

TEST(ThreadPoolTimerTest, TimedTasksRunInTheOrderTheyFallDueNotTheOrderSubmitted) {
  ThreadPool pool(1);
  std::mutex mu;
  std::vector<int> order;  // guarded by mu
  std::promise<void> all;
  auto record = [&](int k) {
    std::lock_guard lock(mu);
    order.push_back(k);
    if (order.size() == 3) all.set_value();
  };
  pool.SubmitAfter(milliseconds(120), [&] { record(3); });
  pool.SubmitAfter(milliseconds(60), [&] { record(2); });
  pool.SubmitAfter(milliseconds(10), [&] { record(1); });
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(ThreadPoolTimerTest, ExpediteMakesPendingTimersDueAtOnceAndLaterOnesToo) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  std::promise<void> first, second;
  pool.SubmitAfter(std::chrono::hours(1), [&] {
    ran++;
    first.set_value();
  });
  EXPECT_EQ(pool.pending_timers(), 1u);
  const Clock::time_point expedited = Clock::now();
  pool.Expedite();
  ASSERT_EQ(first.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LT(Clock::now() - expedited, std::chrono::seconds(10));
  EXPECT_EQ(pool.pending_timers(), 0u);

  // Submitted after Expedite: due at once, never held as a timer.
  pool.SubmitAfter(std::chrono::hours(1), [&] {
    ran++;
    second.set_value();
  });
  EXPECT_EQ(pool.pending_timers(), 0u);
  ASSERT_EQ(second.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(ran.load(), 2);
}

TEST(ThreadPoolTimerTest, TheDestructorRunsPendingTimedTasksWithoutWaitingOutTheirDelays) {
  std::atomic<int> ran{0};
  const Clock::time_point start = Clock::now();
  {
    ThreadPool pool(2);
    for (int i = 0; i < 3; ++i) pool.SubmitAfter(std::chrono::hours(1), [&ran] { ran++; });
    // A timed task that submits more work: that runs too.
    pool.SubmitAfter(std::chrono::hours(2), [&pool, &ran] {
      ran++;
      pool.Submit([&ran] { ran++; });
    });
    EXPECT_EQ(pool.pending_timers(), 4u);
    EXPECT_EQ(ran.load(), 0);
  }
  EXPECT_EQ(ran.load(), 5);
  EXPECT_LT(Clock::now() - start, std::chrono::minutes(1));
}

}  // namespace
}  // namespace sagadb
