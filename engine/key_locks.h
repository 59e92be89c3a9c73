// KeyLocks: the record-lock table. Lock striping over record keys, so that every read-modify-write of a record
// is serialized with the others on that record: a WriteTxn takes the stripes of every record it reads before
// reading, and holds them until its batch is written or discarded, so two attaches cannot both see the same
// free slot (no write skew).
//
// A stripe is a binary semaphore, not a mutex: a step takes its locks on the thread that runs it, and the
// commit that makes its writes durable may release them on another (the thread that wrote the batch). A
// semaphore may be released by any thread; a mutex may not.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <semaphore>
#include <string_view>

namespace sagadb {

class KeyLocks {
 public:
  static constexpr size_t kStripes = 1024;

  size_t StripeOf(std::string_view key) const { return std::hash<std::string_view>{}(key) % kStripes; }
  // Blocks until the stripe is free, then holds it.
  void Lock(size_t stripe) { stripes_[stripe].sem.acquire(); }
  // Holds the stripe if it is free; false otherwise.
  bool TryLock(size_t stripe) { return stripes_[stripe].sem.try_acquire(); }
  // REQUIRES: the stripe is held (by any thread's txn, handed over to the caller).
  void Unlock(size_t stripe) { stripes_[stripe].sem.release(); }

 private:
  struct Stripe {
    std::binary_semaphore sem{1};
  };
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace sagadb
