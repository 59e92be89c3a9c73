#include "log/replay.h"

#include <fmt/format.h>

#include <functional>

namespace sagadb {

std::string_view ToString(LoggedStatus s) {
  switch (s) {
    case LoggedStatus::kPending: return "pending";
    case LoggedStatus::kStarted: return "started";
    case LoggedStatus::kSucceeded: return "succeeded";
    case LoggedStatus::kFailed: return "failed";
    case LoggedStatus::kUndoStarted: return "undo_started";
    case LoggedStatus::kUndone: return "undone";
    case LoggedStatus::kUndoFailed: return "undo_failed";
  }
  return "unknown";
}

namespace {

class Replayer {
 public:
  explicit Replayer(const SagaRecord& r) : rec_(r) {
    hist_.nodes.resize(r.nodes.size());
    children_.resize(r.nodes.size());
    for (uint32_t i = 0; i < r.nodes.size(); ++i) {
      for (uint32_t d : r.nodes[i].deps) {
        if (d < r.nodes.size()) children_[d].push_back(i);
      }
    }
  }

  Status Apply(const LoggedEvent& le) {
    const SagaEvent& e = le.event;
    auto fail = [&](std::string_view why) {
      return Status::Corruption(fmt::format("saga {} event #{} ({} of node {}): {}", rec_.id.ToString(), le.seq,
                                            ToString(e.type), e.node, why));
    };
    if (le.seq < hist_.next_seq) return fail("sequence numbers out of order");
    hist_.next_seq = le.seq + 1;
    hist_.events++;
    if (e.type == EventType::kOperator) return ApplyOperator(e, fail);
    if (e.node >= rec_.nodes.size()) return fail("no such node");
    if (rec_.nodes[e.node].kind != NodeKind::kAction) return fail("only action nodes have events");
    for (uint32_t d : rec_.nodes[e.node].deps) {
      if (d >= rec_.nodes.size()) return fail("the DAG names a dependency that does not exist");
    }
    NodeHistory& n = hist_.nodes[e.node];
    const LoggedStatus s = n.status;
    switch (e.type) {
      case EventType::kStarted:
        if (s != LoggedStatus::kPending) return fail(fmt::format("node is already {}", ToString(s)));
        if (!DepsSucceeded(e.node)) return fail("a dependency has not succeeded");
        n.status = LoggedStatus::kStarted;
        break;
      case EventType::kSucceeded:
      case EventType::kFailed:
        if (s != LoggedStatus::kPending && s != LoggedStatus::kStarted) {
          return fail(fmt::format("node is already {}", ToString(s)));
        }
        if (!DepsSucceeded(e.node)) return fail("a dependency has not succeeded");
        if (e.type == EventType::kSucceeded) {
          n.status = LoggedStatus::kSucceeded;
          n.output = e.output;
        } else {
          n.status = LoggedStatus::kFailed;
          n.error_code = e.error_code;
          n.error = e.error;
          if (hist_.first_failed < 0) hist_.first_failed = static_cast<int32_t>(e.node);
        }
        n.attempts = e.attempts;
        break;
      case EventType::kUndoStarted:
      case EventType::kUndoFinished:
      case EventType::kUndoFailed:
        if (hist_.first_failed < 0 && !hist_.cancelled) return fail("an undo, but no node has failed");
        if (e.type == EventType::kUndoStarted ? s != LoggedStatus::kSucceeded
                                              : (s != LoggedStatus::kSucceeded && s != LoggedStatus::kUndoStarted)) {
          return fail(fmt::format("node is {}", ToString(s)));
        }
        if (!ChildrenClear(e.node)) return fail("a child of the node has not been undone");
        n.status = e.type == EventType::kUndoStarted   ? LoggedStatus::kUndoStarted
                   : e.type == EventType::kUndoFinished ? LoggedStatus::kUndone
                                                        : LoggedStatus::kUndoFailed;
        n.undo_attempts = e.attempts;
        if (e.type == EventType::kUndoFailed) {
          n.error_code = e.error_code;
          n.error = e.error;
          hist_.undo_failed = static_cast<int32_t>(e.node);
        }
        break;
      case EventType::kOperator:
        break;  // handled above
    }
    if (n.start_ns == 0) n.start_ns = e.start_ns != 0 ? e.start_ns : e.time_ns;
    n.end_ns = e.time_ns;
    return Status::OK();
  }

  SagaHistory Take() { return std::move(hist_); }

 private:
  template <typename Fail>
  Status ApplyOperator(const SagaEvent& e, const Fail& fail) {
    switch (e.op) {
      case OperatorOp::kCancel:
        if (!hist_.cancelled) hist_.cancel_error = CancelMessage(e.actor, e.reason);
        hist_.cancelled = true;
        return Status::OK();
      case OperatorOp::kResume:
        if (hist_.undo_failed < 0) return fail("a resume, but no undo has failed");
        for (NodeHistory& n : hist_.nodes) {
          if (n.status == LoggedStatus::kUndoFailed) n.status = LoggedStatus::kSucceeded;
        }
        hist_.undo_failed = -1;
        hist_.resumes++;
        return Status::OK();
      case OperatorOp::kAbandon:
        return Status::OK();  // the record says abandoned; any log may precede it
      case OperatorOp::kNone:
        break;
    }
    return fail("an operator event without an action");
  }

  // Whether node i has succeeded as far as its dependants are concerned.
  bool Succeeded(uint32_t i, int depth = 0) const {
    const DagNode& node = rec_.nodes[i];
    if (node.kind == NodeKind::kAction) return hist_.nodes[i].status == LoggedStatus::kSucceeded;
    if (depth > 64) return false;
    for (uint32_t d : node.deps) {
      if (d >= rec_.nodes.size() || !Succeeded(d, depth + 1)) return false;
    }
    if (node.link >= 0 && (static_cast<size_t>(node.link) >= rec_.nodes.size() || !Succeeded(node.link, depth + 1))) {
      return false;
    }
    return true;
  }

  bool DepsSucceeded(uint32_t i) const {
    for (uint32_t d : rec_.nodes[i].deps) {
      if (!Succeeded(d)) return false;
    }
    return true;
  }

  // Whether node i no longer holds anything its parents' undo would conflict with.
  bool Clear(uint32_t i, int depth = 0) const {
    if (rec_.nodes[i].kind == NodeKind::kAction) {
      LoggedStatus s = hist_.nodes[i].status;
      return s == LoggedStatus::kPending || s == LoggedStatus::kFailed || s == LoggedStatus::kUndone;
    }
    if (depth > 64) return false;
    for (uint32_t c : children_[i]) {
      if (!Clear(c, depth + 1)) return false;
    }
    return true;
  }

  bool ChildrenClear(uint32_t i) const {
    for (uint32_t c : children_[i]) {
      if (!Clear(c)) return false;
    }
    return true;
  }

  const SagaRecord& rec_;
  SagaHistory hist_;
  std::vector<std::vector<uint32_t>> children_;
};

}  // namespace

std::string CancelMessage(std::string_view actor, std::string_view reason) {
  return reason.empty() ? fmt::format("cancelled by {}", actor) : fmt::format("cancelled by {}: {}", actor, reason);
}

Result<SagaHistory> ReplaySagaLog(const SagaRecord& record, const std::vector<LoggedEvent>& events) {
  Replayer r(record);
  for (const auto& e : events) SAGADB_RETURN_IF_ERROR(r.Apply(e));
  return r.Take();
}

Result<SagaState> StateFromLog(const SagaRecord& record, const SagaHistory& h) {
  auto disagree = [&](std::string_view why) {
    return Status::Corruption(
        fmt::format("saga {} is cached as {} but {}", record.id.ToString(), ToString(record.state), why));
  };
  const bool failed = h.first_failed >= 0 || h.cancelled;
  const bool undo_failed = h.undo_failed >= 0;
  switch (record.state) {
    case SagaState::kRunning:
    case SagaState::kUnwinding:
      if (undo_failed) return disagree("an undo failed (it should be stuck)");
      return failed ? SagaState::kUnwinding : SagaState::kRunning;
    case SagaState::kSucceeded:
      if (failed) return disagree("a node failed");
      for (size_t i = 0; i < h.nodes.size(); ++i) {
        if (record.nodes[i].kind == NodeKind::kAction && h.nodes[i].status != LoggedStatus::kSucceeded) {
          return disagree(fmt::format("node {} is {}", i, ToString(h.nodes[i].status)));
        }
      }
      return SagaState::kSucceeded;
    case SagaState::kFailed:
      if (!failed) return disagree("no node failed and it was not cancelled");
      for (size_t i = 0; i < h.nodes.size(); ++i) {
        LoggedStatus s = h.nodes[i].status;
        if (s != LoggedStatus::kPending && s != LoggedStatus::kFailed && s != LoggedStatus::kUndone) {
          return disagree(fmt::format("node {} is {}", i, ToString(s)));
        }
      }
      return SagaState::kFailed;
    case SagaState::kPaused:
      if (!undo_failed) return disagree("no undo has failed");
      return SagaState::kPaused;
    case SagaState::kStuck:
    case SagaState::kAbandoned:
      return record.state;  // an operator's business; any log is possible
  }
  return disagree("the state is unknown");
}

}  // namespace sagadb
