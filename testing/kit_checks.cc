// The kit's parent side, checking how sagas ended: the log, recovery's report, each saga's end state against
// what the case expects, and the user's checks of the world.
#include <fmt/format.h>

#include <exception>
#include <string>
#include <vector>

#include "log/replay.h"
#include "log/saga_log.h"
#include "testing/kit_internal.h"
#include "testing/log_checks.h"

namespace sagadb::testing {

Status Kit::CallCheck(const std::function<Status(const RunContext&)>& fn, const RunContext& ctx, const char* what) {
  try {
    return fn(ctx);
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("{} threw: {}", what, e.what()));
  } catch (...) {
    return Status::Internal(fmt::format("{} threw", what));
  }
}

std::string Kit::CheckEnd(Opened& run, const std::string& world, const std::vector<SagaSlot>& sagas,
                          const Expect& expect, std::vector<std::string>* out) {
  Store& store = run.db->impl().store();
  for (std::string& v : CheckLogs(store)) out->push_back(std::move(v));
  const RecoveryReport& recovery = run.db->recovery();
  for (size_t i = 0; i < recovery.marked_stuck.size(); ++i) {
    out->push_back(fmt::format("recovery marked saga {} stuck: {}", recovery.marked_stuck[i].ToString(),
                               i < recovery.stuck_reasons.size() ? recovery.stuck_reasons[i] : ""));
  }
  if (!recovery.halted.empty()) out->push_back("recovery halted: " + recovery.Summary());
  std::vector<std::string> outcomes;
  for (const SagaSlot& slot : sagas) {
    std::string outcome;
    CheckOne(run, world, slot, sagas.size() == 1, expect, &outcome, out);
    outcomes.push_back(outcome);
  }
  const std::map<Uuid, SagaState> states = SagaStates(store);
  for (const SeenOutcome& s : expect.seen) {
    auto it = states.find(s.id);
    if (s.id.IsNil()) {
      out->push_back("a line of the outcomes file does not parse");
    } else if (it == states.end()) {
      out->push_back(fmt::format("saga {} was seen {} but is gone", s.id.ToString(), ToString(s.state)));
    } else if (it->second != s.state) {
      out->push_back(fmt::format("saga {} was seen {} but is now {}", s.id.ToString(), ToString(s.state),
                                 ToString(it->second)));
    }
  }
  return Join(outcomes, ",");
}

void Kit::CheckOne(Opened& run, const std::string& world, const SagaSlot& slot, bool alone, const Expect& expect,
                   std::string* outcome, std::vector<std::string>* out) {
  Store& store = run.db->impl().store();
  const std::string who = "saga " + slot.id.ToString();
  std::optional<SagaResult> result;
  auto rec = SagaLog(&store).ReadRecord(slot.id);
  if (!rec.ok() && !rec.status().IsNotFound()) {
    *outcome = "unreadable";
    out->push_back(who + ": " + rec.status().ToString());
    return;
  }
  if (rec.ok()) result = ResultOf(*rec);
  RunContext ctx{*run.db, world, run.user, slot.params, result, baseline_};
  auto compare = [&](const Json& expected, const char* what) {
    if (!alone || !saga_.snapshot || expected.is_null()) return;
    auto now = saga_.snapshot(ctx);
    if (!now.ok()) {
      out->push_back("snapshot: " + now.status().ToString());
    } else if (*now != expected) {
      out->push_back(fmt::format("{}: the world differs from {} (JSON patch from it): {}", who, what,
                                 Shorten(Json::diff(expected, *now).dump())));
    }
  };
  auto unchanged = [&] {
    Status st = CallCheck(saga_.check_unchanged, ctx, "check_unchanged");
    if (!st.ok()) out->push_back(fmt::format("{} ({}): check_unchanged: {}", who, *outcome, st.ToString()));
    compare(baseline_, "the world before the saga");
  };

  if (!result) {
    *outcome = "absent";
    if (!expect.may_be_absent) out->push_back(who + " does not exist");
    unchanged();
    return;
  }
  const SagaState state = result->state;
  *outcome = std::string(ToString(state));
  const std::string ended =
      result->error_node.empty() ? "" : fmt::format(" at {} ({})", result->error_node, result->error.ToString());
  if (expect.stuck) {
    if (!NeedsOperator(state)) {
      out->push_back(fmt::format("{} ended {}{}, not stuck", who, ToString(state), ended));
    } else if (result->error_node != expect.at_node) {
      out->push_back(fmt::format("{} is stuck at {}, not at {}", who, result->error_node, expect.at_node));
    }
    return;
  }
  if (state == SagaState::kSucceeded) {
    if (!expect.may_succeed) out->push_back(fmt::format("{} succeeded but had to fail", who));
    Status st = CallCheck(saga_.check_succeeded, ctx, "check_succeeded");
    if (!st.ok()) out->push_back(fmt::format("{} (succeeded): check_succeeded: {}", who, st.ToString()));
    compare(success_, "a clean run's");
  } else if (state == SagaState::kFailed) {
    if (!expect.may_fail) out->push_back(fmt::format("{} failed{}", who, ended));
    if (!expect.at_node.empty() && result->error_node != expect.at_node) {
      out->push_back(fmt::format("{} failed at {} ({}), not at {}", who, result->error_node, result->error.ToString(),
                                 expect.at_node));
    }
    if (!expect.error.empty() && result->error.message() != expect.error) {
      out->push_back(fmt::format("{} failed with \"{}\", not \"{}\"", who, result->error.message(), expect.error));
    }
    unchanged();
  } else if (NeedsOperator(state)) {
    out->push_back(fmt::format("{} is {}{}: an undo failed", who, ToString(state), ended));
  } else {
    out->push_back(fmt::format("{} is still {} with nothing executing", who, ToString(state)));
  }
}

}  // namespace sagadb::testing
