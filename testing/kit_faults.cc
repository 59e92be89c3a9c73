// The kit's in-process phases: idempotency, a failure at every node (instead of the action, after it, and
// under pressure), undo failures, and random transient pressure. Each case runs the saga once in a fresh copy
// of the template, under a FaultPlan and the probe.
#include <fmt/format.h>

#include "log/replay.h"
#include "log/saga_log.h"
#include "testing/kit_internal.h"

namespace sagadb::testing {
namespace {

// The node's state in the saga's replayed log (kPending if it cannot be read).
LoggedStatus NodeStatus(Store& store, const Uuid& saga, const std::string& node) {
  SagaLog log(&store);
  auto rec = log.ReadRecord(saga);
  auto events = log.ReadEvents(saga);
  if (!rec.ok() || !events.ok()) return LoggedStatus::kPending;
  auto history = ReplaySagaLog(*rec, *events);
  if (!history.ok()) return LoggedStatus::kPending;
  for (uint32_t i = 0; i < rec->nodes.size(); ++i) {
    if (QualifiedName(rec->nodes, rec->scopes, i) == node) return history->nodes[i].status;
  }
  return LoggedStatus::kPending;
}

}  // namespace

void Kit::InProcessCase(const std::string& case_id, const std::string& node, const Expect& expect, const Arm& arm,
                        const More& more) {
  if (!Wanted(case_id)) return;
  std::vector<std::string> why;
  auto paths = NewCase(false);
  if (!paths.ok()) return Fail(case_id, node, 0, {paths.status().ToString()});
  auto run = Open(paths->world);
  if (!run.ok()) return Fail(case_id, node, 0, {"open: " + run.status().ToString()});
  SagaExecutor& executor = run->db->impl().executor();
  auto plan = std::make_shared<FaultPlan>();
  executor.SetFaultPlan(plan);
  arm(*run, *plan);

  const std::vector<SagaSlot> slots = Slots(false);
  std::optional<SagaResult> result;
  auto handle = Start(*run->db, slots[0]);
  if (!handle.ok()) {
    // Refused before anything was written: the same as a saga that never started, if the case allows it.
    if (!expect.may_be_absent || !handle.status().IsRetryable()) {
      why.push_back("the saga did not start: " + handle.status().ToString());
    }
  } else {
    auto r = handle->Wait();
    if (r.ok()) {
      result = *r;
    } else {
      why.push_back("the saga halted: " + r.status().ToString());
    }
  }
  // The faults end with the saga: what follows looks at the world as it is.
  executor.SetFaultPlan(nullptr);
  run->probe->SetPressure("");
  run->probe->SetTransientRate(0, 0);
  run->db->WaitIdle();
  std::string outcome = "halted";
  if (why.empty()) {
    outcome = CheckEnd(*run, paths->world, slots, expect, &why);
    if (more && result) more(*run, *paths, *result, &why);
  }
  Record(case_id, outcome);
  if (!why.empty()) Fail(case_id, node, 0, why);
}

void Kit::Idempotency() {
  Say("idempotency");
  // What sagadb may run twice: an external step, whose effect and outcome are two writes apart (and local ones
  // when the options ask for them).
  auto twice = [this](FaultPlan& plan, bool undos) {
    for (const NodeInfo& n : nodes_) {
      if (!n.external && !options_.local_actions_twice) continue;
      plan.RunActionTwice(n.name);
      if (undos) plan.RunUndoTwice(n.name);
    }
  };
  RunCases({
      [this, twice] {
        Expect once;
        once.may_fail = false;
        InProcessCase("idempotency/actions", "", once, [twice](Opened&, FaultPlan& plan) { twice(plan, false); });
      },
      [this, twice] {
        Expect unwind;
        unwind.may_succeed = false;
        unwind.at_node = LastNode();
        unwind.error = kInjected;
        InProcessCase("idempotency/undos", "", unwind, [this, twice](Opened&, FaultPlan& plan) {
          twice(plan, true);
          plan.FailAction(LastNode(), Status::InvalidRequest(kInjected));
        });
      },
  });
}

void Kit::NodeFailures() {
  Say(fmt::format("node failures at {} action nodes", nodes_.size()));
  std::vector<std::function<void()>> cases;
  for (const NodeInfo& n : nodes_) {
    cases.push_back([this, &n] {
      Expect e;
      e.may_succeed = false;
      e.at_node = n.name;
      e.error = kInjected;
      InProcessCase("fail-action/" + n.name, n.name, e, [&n](Opened&, FaultPlan& plan) {
        plan.FailAction(n.name, Status::InvalidRequest(kInjected));
      });
    });
  }
  for (const NodeInfo& n : nodes_) {
    cases.push_back([this, &n] {
      const std::string error = fmt::format("{} after its {}", kInjected, n.external ? "effect" : "staged writes");
      Expect e;
      if (n.external && !n.has_undo) {
        // An effect nothing can take back (the saga's last fallible step, by design): the step may fail after
        // it only transiently, and must then finish forward, its action running again over its own effect.
        e.may_fail = false;
        InProcessCase("fail-after/" + n.name, n.name, e, [&n, error](Opened&, FaultPlan& plan) {
          plan.FailAfterEffect(n.name, Status::Transient(error), 1);
        });
        return;
      }
      e.may_succeed = false;
      e.at_node = n.name;
      e.error = error;
      InProcessCase("fail-after/" + n.name, n.name, e, [&n, error](Opened&, FaultPlan& plan) {
        if (n.external) {
          plan.FailAfterEffect(n.name, Status::Internal(error));
        } else {
          plan.FailAfterStage(n.name, Status::Internal(error));
        }
      });
    });
  }
  for (const NodeInfo& n : nodes_) {
    // Every read the action makes fails, through all its retries: it must fail leaving nothing (or, if it
    // reads nothing, succeed).
    cases.push_back([this, &n] {
      Expect e;
      e.at_node = n.name;
      InProcessCase("pressure/" + n.name, n.name, e,
                    [&n](Opened& run, FaultPlan&) { run.probe->SetPressure(n.name); });
    });
  }
  RunCases(cases);
}

Result<std::vector<std::string>> Kit::UndoneByUnwind() {
  SAGADB_ASSIGN_OR_RETURN(CasePaths paths, NewCase(false));
  SAGADB_ASSIGN_OR_RETURN(Opened run, Open(paths.world));
  auto plan = std::make_shared<FaultPlan>();
  plan->FailAction(LastNode(), Status::InvalidRequest(kInjected));
  run.db->impl().executor().SetFaultPlan(plan);
  const SagaSlot slot = Slots(false)[0];
  SAGADB_ASSIGN_OR_RETURN(SagaHandle handle, Start(*run.db, slot));
  SAGADB_ASSIGN_OR_RETURN(SagaResult result, handle.Wait());
  if (result.state != SagaState::kFailed) {
    return Status::Internal(fmt::format("with its last node failing the saga ended {}", ToString(result.state)));
  }
  std::vector<std::string> undone;
  for (const NodeInfo& n : nodes_) {
    if (NodeStatus(run.db->impl().store(), slot.id, n.name) == LoggedStatus::kUndone) undone.push_back(n.name);
  }
  return undone;
}

void Kit::UndoFailures() {
  auto undone = UndoneByUnwind();
  if (!undone.ok()) return Fail("undo-transient", "", 0, {undone.status().ToString()});
  Say(fmt::format("undo failures at {} undone nodes", undone->size()));
  const int times = options_.undo_transient_failures;
  std::vector<std::function<void()>> cases;
  for (const std::string& node : *undone) {
    cases.push_back([this, node, times] {
      Expect e;
      e.may_succeed = false;
      e.at_node = LastNode();
      e.error = kInjected;
      InProcessCase(
          "undo-transient/" + node, node, e,
          [this, node, times](Opened&, FaultPlan& plan) {
            plan.FailAction(LastNode(), Status::InvalidRequest(kInjected));
            plan.FailUndo(node, Status::Transient(fmt::format("{}: all claims are used", kInjected)), times);
          },
          [times](Opened& run, const CasePaths&, const SagaResult&, std::vector<std::string>* why) {
            const uint64_t retries = run.db->stats().undo_retries;
            if (retries != static_cast<uint64_t>(times)) {
              why->push_back(fmt::format("the undo was retried {} times, not {}", retries, times));
            }
          });
    });
  }
  for (const std::string& node : *undone) {
    cases.push_back([this, node] {
      Expect e;
      e.stuck = true;
      e.at_node = node;
      InProcessCase(
          "undo-permanent/" + node, node, e,
          [this, node](Opened&, FaultPlan& plan) {
            plan.FailAction(LastNode(), Status::InvalidRequest(kInjected));
            // For good: a failure is only logged once what it follows is durable (an undo that fails in the
            // round that undid its child runs again in the next), so a fault that passed would be retried away.
            plan.FailUndo(node, Status::Internal(fmt::format("{} (a permanent undo failure)", kInjected)),
                          FaultPlan::kAlways);
          },
          [this, node](Opened& run, const CasePaths& paths, const SagaResult& result, std::vector<std::string>* why) {
            // The next open leaves it for an operator: recovery does not resume it, nor unwind it further.
            run.db.reset();
            auto again = Open(paths.world);
            if (!again.ok()) return why->push_back("reopening: " + again.status().ToString());
            again->db->WaitIdle();
            auto rec = SagaLog(&again->db->impl().store()).ReadRecord(result.id);
            if (!rec.ok()) return why->push_back("after reopening: " + rec.status().ToString());
            const SagaResult now = ResultOf(*rec);
            if (now.state != result.state || now.error_node != node) {
              why->push_back(fmt::format("after reopening the saga is {} at {}, not {} at {}", ToString(now.state),
                                         now.error_node, ToString(result.state), node));
            }
          });
    });
  }
  RunCases(cases);
}

void Kit::RandomPressure() {
  Say(fmt::format("random pressure: {} runs at {}", options_.random_pressure_runs, options_.pressure_rate));
  std::vector<std::function<void()>> cases;
  for (int i = 0; i < options_.random_pressure_runs; ++i) {
    cases.push_back([this, i] {
      Expect e;
      e.may_be_absent = true;  // its record's write may be refused: then it never started
      const uint64_t seed = report_.seed + static_cast<uint64_t>(i);
      InProcessCase(fmt::format("random-pressure/{}", i), "", e, [this, seed](Opened& run, FaultPlan&) {
        run.probe->SetTransientRate(options_.pressure_rate, seed);
      });
    });
  }
  RunCases(cases);
}

}  // namespace sagadb::testing
