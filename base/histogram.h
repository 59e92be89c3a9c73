// AtomicHistogram: counts samples in fixed power-of-two buckets with relaxed atomic increments, for figures
// kept on hot paths (a step's latency, a batch's size) and read now and then (sagadb/metrics.h).
//
//   AtomicHistogram latency(/*first_bound=*/16, /*buckets=*/22);   // 16, 32, 64, ... 2^25 (microseconds)
//   latency.Add(elapsed_us);
//   Histogram h = latency.Snapshot(1e6);                           // bounds in seconds
//
// Bucket i holds the samples above first_bound * 2^(i-1) and at most first_bound * 2^i (bucket 0: at most
// first_bound); one more bucket holds those above every bound. Adding costs a shift, a bit count and two
// relaxed increments; no lock, no allocation. A snapshot taken while samples are added may count a sample in
// its bucket and not yet in the sum: its count is the sum of its buckets, so the buckets always agree.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>

#include "sagadb/metrics.h"

namespace sagadb {

class AtomicHistogram {
 public:
  // REQUIRES: first_bound is a power of two, buckets >= 1.
  AtomicHistogram(uint64_t first_bound, int buckets)
      : shift_(std::countr_zero(first_bound)), bounds_(buckets), counts_(new std::atomic<uint64_t>[buckets + 1]) {
    for (int i = 0; i <= bounds_; ++i) counts_[i].store(0, std::memory_order_relaxed);
  }

  void Add(uint64_t value) {
    const uint64_t over = value == 0 ? 0 : (value - 1) >> shift_;
    const int i = over == 0 ? 0 : static_cast<int>(std::bit_width(over));
    counts_[i < bounds_ ? i : bounds_].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  // Bounds and sum divided by `per_unit` (1e6: microseconds as seconds).
  Histogram Snapshot(double per_unit = 1) const {
    Histogram h;
    h.bounds.reserve(bounds_);
    h.buckets.reserve(bounds_ + 1);
    for (int i = 0; i < bounds_; ++i) h.bounds.push_back(static_cast<double>(uint64_t{1} << (shift_ + i)) / per_unit);
    for (int i = 0; i <= bounds_; ++i) {
      h.buckets.push_back(counts_[i].load(std::memory_order_relaxed));
      h.count += h.buckets.back();
    }
    h.sum = static_cast<double>(sum_.load(std::memory_order_relaxed)) / per_unit;
    return h;
  }

 private:
  const int shift_;
  const int bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> sum_{0};
};

}  // namespace sagadb
