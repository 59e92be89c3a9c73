// Clang's thread-safety annotations (-Wthread-safety). With any other compiler they expand to nothing.
//
//   class Counter {
//     Mutex mu_;
//     int value_ GUARDED_BY(mu_) = 0;
//     void BumpLocked() REQUIRES(mu_) { ++value_; }
//   };
//
// The analysis is a compile-time check of the locking that each member's comment would otherwise only state.
// A CI job builds the tree with clang and -Wthread-safety -Werror.
#pragma once

#if defined(__clang__)
#define SAGADB_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SAGADB_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) SAGADB_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY SAGADB_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) SAGADB_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) SAGADB_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) SAGADB_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) SAGADB_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) SAGADB_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) SAGADB_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) SAGADB_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) SAGADB_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) SAGADB_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) SAGADB_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) SAGADB_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS SAGADB_THREAD_ANNOTATION(no_thread_safety_analysis)
