// Status and Result<T>: the one error type of sagadb.
//
//   Result<SagaHandle> h = db->Start(dag, params);
//   if (!h.ok()) return h.status();          // e.g. Overloaded: 64 sagas are in flight, the limit
//   SagaHandle& handle = *h;
//
// A Status is cheap when OK (no allocation). Codes say what a caller can do about the error: Transient and
// Overloaded may pass if retried; the others will not. No exceptions cross sagadb's API.
//
// Thread safety: Status and Result are values; distinct objects may be used from distinct threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sagadb {

enum class Code : uint8_t {
  kOk = 0,
  kNotFound,
  kInvalidRequest,
  kConflict,
  kOverloaded,
  kTransient,
  kCorruption,
  kIOError,
  kInternal,
  // The file system holding the database is full. Not retryable as such: nothing more is written until space is
  // freed and the database reopened. Codes are stored (saga events keep their error's code): new ones are
  // appended, never inserted.
  kNoSpace,
  // An operator cancelled the saga (the error a cancelled saga ends with).
  kCancelled,
};

std::string_view ToString(Code code);

class Status {
 public:
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidRequest(std::string msg) { return Status(Code::kInvalidRequest, std::move(msg)); }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  static Status Overloaded(std::string msg) { return Status(Code::kOverloaded, std::move(msg)); }
  static Status Transient(std::string msg) { return Status(Code::kTransient, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }
  static Status NoSpace(std::string msg) { return Status(Code::kNoSpace, std::move(msg)); }
  static Status Cancelled(std::string msg) { return Status(Code::kCancelled, std::move(msg)); }
  // Rebuilds a status from a stored code (an unknown code becomes Internal).
  static Status FromCode(uint8_t code, std::string msg);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // Whether retrying the same operation may succeed.
  bool IsRetryable() const { return code_ == Code::kTransient || code_ == Code::kOverloaded; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }

  // "InvalidRequest: disk is in state \"faulted\"", or "OK".
  std::string ToString() const;

  bool operator==(const Status&) const = default;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// A value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  // REQUIRES: !status.ok()
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok()
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace sagadb

// Propagates a non-OK Status (or the status of a failed Result) to the caller.
#define SAGADB_RETURN_IF_ERROR(expr)        \
  do {                                      \
    ::sagadb::Status _st = (expr);          \
    if (!_st.ok()) return _st;              \
  } while (0)

#define SAGADB_CONCAT_INNER(a, b) a##b
#define SAGADB_CONCAT(a, b) SAGADB_CONCAT_INNER(a, b)
// SAGADB_ASSIGN_OR_RETURN(Disk d, datastore.GetDisk(id));
#define SAGADB_ASSIGN_OR_RETURN(lhs, expr) SAGADB_ASSIGN_OR_RETURN_IMPL(SAGADB_CONCAT(_res_, __LINE__), lhs, expr)
#define SAGADB_ASSIGN_OR_RETURN_IMPL(res, lhs, expr) \
  auto res = (expr);                                 \
  if (!res.ok()) return res.status();                \
  lhs = std::move(*res)
