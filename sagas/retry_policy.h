// RetryPolicy: how many times, and how patiently, the executor retries an operation that failed transiently.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace sagadb {

struct RetryPolicy {
  uint32_t max_attempts = 5;  // including the first
  std::chrono::microseconds initial_backoff{500};
  std::chrono::microseconds max_backoff{50'000};

  // The pause before attempt `next_attempt` (2, 3, ...): exponential from initial_backoff, capped.
  std::chrono::microseconds Backoff(uint32_t next_attempt) const {
    uint32_t doublings = std::min<uint32_t>(next_attempt > 2 ? next_attempt - 2 : 0, 30);
    auto pause = initial_backoff * (int64_t{1} << doublings);
    return std::min(pause, max_backoff);
  }
};

}  // namespace sagadb
