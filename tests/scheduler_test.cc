// The scheduler decides what a saga does next from its nodes' states, and records its decision in the run: forward
// it starts every node whose dependencies succeeded and finishes the saga once all have; unwinding it undoes
// children before their parents, runs a started external node to its end before undoing it, waits for nodes in
// flight, and finishes the saga failed once nothing is left to undo; stuck or stopping, it starts nothing.
#include "sagas/scheduler.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "log/saga_log.h"
#include "sagadb/dag.h"
#include "sagas/saga_run.h"
#include "tests/test_util.h"

namespace sagadb {
namespace {

using testing::Must;

// A run of `dag` as the executor builds one (sagas/executor.cc NewRun), never written anywhere.
class SchedulerTest : public ::testing::Test {
 protected:
  std::shared_ptr<SagaRun> NewRun(const SagaDag& dag, Json params = Json::object()) {
    SagaRecord record;
    record.id = Uuid::Generate();
    record.kind = dag.kind;
    record.nodes = dag.nodes;
    record.scopes = dag.scopes;
    record.params = params.dump();
    const size_t n = record.nodes.size();
    auto run = std::make_shared<SagaRun>(record, params, &log_, 1);
    run->actions.assign(n, nullptr);
    run->children.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      run->qualified_names.push_back(QualifiedName(record.nodes, record.scopes, i));
      for (uint32_t d : record.nodes[i].deps) run->children[d].push_back(i);
    }
    run->nodes.resize(n);
    run->scope_params.resize(record.scopes.size());
    run->scope_params[0] = run->params;
    return run;
  }

  // The index of the node with this qualified name.
  static uint32_t Node(const SagaRun& run, const std::string& name) {
    for (uint32_t i = 0; i < run.qualified_names.size(); ++i) {
      if (run.qualified_names[i] == name) return i;
    }
    ADD_FAILURE() << "no node " << name;
    return 0;
  }
  static std::vector<std::string> Names(const SagaRun& run, const std::vector<uint32_t>& nodes) {
    std::vector<std::string> out;
    for (uint32_t i : nodes) out.push_back(run.qualified_names[i]);
    return out;
  }

  // A step the scheduler planned has ended with `status`.
  static void Ended(SagaRun& run, const std::string& name, NodeStatus status, Json output = Json(nullptr)) {
    MutexLock lock(&run.mu);
    const uint32_t i = Node(run, name);
    run.nodes[i].status = status;
    if (status == NodeStatus::kSucceeded) run.nodes[i].output = std::move(output);
    run.tasks--;
  }
  // Sets a node's status without it having been planned (a state replayed from the log).
  static void Set(SagaRun& run, const std::string& name, NodeStatus status) {
    MutexLock lock(&run.mu);
    run.nodes[Node(run, name)].status = status;
  }

  static SchedulePlan Plan(SagaRun& run, bool stopping = false) {
    MutexLock lock(&run.mu);
    return Schedule(run, stopping);
  }

  SagaLog log_{nullptr};  // the runs' commit queues are never used
};

// a -> (b | c) -> d
SagaDag Diamond() {
  DagBuilder b("diamond");
  b.Append(NodeSpec::Action("a", "x"));
  b.AppendParallel({NodeSpec::Action("b", "x"), NodeSpec::Action("c", "x")});
  b.Append(NodeSpec::Action("d", "x"));
  return Must(b.Build());
}

TEST_F(SchedulerTest, ForwardStartsEachNodeOnceItsDependenciesSucceededAndFinishesWhenAllHave) {
  auto run = NewRun(Diamond());

  SchedulePlan p = Plan(*run);
  EXPECT_EQ(Names(*run, p.forward), std::vector<std::string>{"a"});
  EXPECT_TRUE(p.undo.empty());
  EXPECT_FALSE(p.finish.has_value());
  EXPECT_FALSE(p.complete);
  {
    MutexLock lock(&run->mu);
    EXPECT_EQ(run->nodes[Node(*run, "a")].status, NodeStatus::kRunning);
    EXPECT_EQ(run->tasks, 1);
  }
  // Nothing new while a runs.
  p = Plan(*run);
  EXPECT_TRUE(p.forward.empty());
  EXPECT_FALSE(p.complete);

  Ended(*run, "a", NodeStatus::kSucceeded);
  p = Plan(*run);
  EXPECT_EQ(Names(*run, p.forward), (std::vector<std::string>{"b", "c"}));

  Ended(*run, "b", NodeStatus::kSucceeded);
  p = Plan(*run);
  EXPECT_TRUE(p.forward.empty());  // d waits for c too
  Ended(*run, "c", NodeStatus::kSucceeded);
  p = Plan(*run);
  EXPECT_EQ(Names(*run, p.forward), std::vector<std::string>{"d"});

  Ended(*run, "d", NodeStatus::kSucceeded);
  p = Plan(*run);
  EXPECT_TRUE(p.forward.empty());
  ASSERT_TRUE(p.finish.has_value());
  EXPECT_EQ(*p.finish, SagaState::kSucceeded);
  EXPECT_FALSE(p.complete);
  MutexLock lock(&run->mu);
  EXPECT_TRUE(run->finishing);
  EXPECT_EQ(run->tasks, 1);  // the final record's write
}

TEST_F(SchedulerTest, ConstantAndSubsagaNodesResolveAtOnceAndNeverRun) {
  DagBuilder sub("sub");
  sub.Append(NodeSpec::Action("x", "x"));
  const SagaDag sub_dag = Must(sub.Build());
  DagBuilder b("pseudo");
  b.Append(NodeSpec::Constant("k", Json{{"size", 7}}));
  b.Append(NodeSpec::Subsaga("s", sub_dag, "k"));
  b.Append(NodeSpec::Action("after", "x"));
  auto run = NewRun(Must(b.Build()));

  SchedulePlan p = Plan(*run);
  EXPECT_EQ(Names(*run, p.forward), std::vector<std::string>{"s.x"});  // k and the subsaga's start resolved
  {
    MutexLock lock(&run->mu);
    EXPECT_EQ(run->nodes[Node(*run, "k")].status, NodeStatus::kSucceeded);
    EXPECT_EQ(run->nodes[Node(*run, "k")].output, (Json{{"size", 7}}));
    EXPECT_EQ(run->scope_params[1], (Json{{"size", 7}}));  // the subsaga's params: k's output
  }
  Ended(*run, "s.x", NodeStatus::kSucceeded, Json("x-out"));
  p = Plan(*run);
  EXPECT_EQ(Names(*run, p.forward), std::vector<std::string>{"after"});
  MutexLock lock(&run->mu);
  EXPECT_EQ(run->nodes[Node(*run, "s")].output, Json("x-out"));  // the subsaga's output: its last node's
}

TEST_F(SchedulerTest, AFailingSagaStartsNoNewForwardNode) {
  auto run = NewRun(Diamond());
  Plan(*run);
  Ended(*run, "a", NodeStatus::kSucceeded);
  {
    MutexLock lock(&run->mu);
    run->failing = true;
  }
  SchedulePlan p = Plan(*run);
  EXPECT_TRUE(p.forward.empty());
  EXPECT_FALSE(p.finish.has_value());
}

TEST_F(SchedulerTest, UnwindingUndoesChildrenBeforeTheirParentsAndThenFinishesFailed) {
  auto run = NewRun(Diamond());
  for (const char* n : {"a", "b", "c"}) Set(*run, n, NodeStatus::kSucceeded);
  Set(*run, "d", NodeStatus::kFailed);
  {
    MutexLock lock(&run->mu);
    run->mode = SagaState::kUnwinding;
  }

  SchedulePlan p = Plan(*run);
  EXPECT_TRUE(p.forward.empty());
  EXPECT_EQ(Names(*run, p.undo), (std::vector<std::string>{"b", "c"}));  // a waits for both children
  EXPECT_FALSE(p.finish.has_value());

  Ended(*run, "b", NodeStatus::kUndone);
  p = Plan(*run);
  EXPECT_TRUE(p.undo.empty());  // c is still being undone
  Ended(*run, "c", NodeStatus::kUndone);
  p = Plan(*run);
  EXPECT_EQ(Names(*run, p.undo), std::vector<std::string>{"a"});
  EXPECT_FALSE(p.finish.has_value());

  Ended(*run, "a", NodeStatus::kUndone);
  p = Plan(*run);
  EXPECT_TRUE(p.undo.empty());
  ASSERT_TRUE(p.finish.has_value());
  EXPECT_EQ(*p.finish, SagaState::kFailed);
  MutexLock lock(&run->mu);
  EXPECT_TRUE(run->finishing);
}

TEST_F(SchedulerTest, UnwindingWaitsForANodeInFlightThenUndoesItToo) {
  auto run = NewRun(Diamond());
  Plan(*run);
  Ended(*run, "a", NodeStatus::kSucceeded);
  Plan(*run);  // b and c start
  Ended(*run, "b", NodeStatus::kFailed);
  {
    MutexLock lock(&run->mu);
    run->mode = SagaState::kUnwinding;
  }

  SchedulePlan p = Plan(*run);
  EXPECT_TRUE(p.undo.empty());  // a's child c is still running
  EXPECT_FALSE(p.finish.has_value());
  Ended(*run, "c", NodeStatus::kSucceeded);
  p = Plan(*run);
  EXPECT_EQ(Names(*run, p.undo), std::vector<std::string>{"c"});
  EXPECT_TRUE(p.forward.empty());  // d never starts
  Ended(*run, "c", NodeStatus::kUndone);
  p = Plan(*run);
  EXPECT_EQ(Names(*run, p.undo), std::vector<std::string>{"a"});
  Ended(*run, "a", NodeStatus::kUndone);
  p = Plan(*run);
  ASSERT_TRUE(p.finish.has_value());
  EXPECT_EQ(*p.finish, SagaState::kFailed);
}

TEST_F(SchedulerTest, AStartedExternalNodeIsRunToItsEndBeforeItAndItsParentsAreUndone) {
  DagBuilder b("chain");
  b.Append(NodeSpec::Action("a", "x"));
  b.AppendParallel({NodeSpec::Action("ext", "x"), NodeSpec::Action("bad", "x")});
  auto run = NewRun(Must(b.Build()));
  Set(*run, "a", NodeStatus::kSucceeded);
  Set(*run, "bad", NodeStatus::kFailed);
  {
    MutexLock lock(&run->mu);
    run->nodes[Node(*run, "ext")].started_logged = true;  // its `started` is durable, its outcome is not
    run->mode = SagaState::kUnwinding;
  }

  SchedulePlan p = Plan(*run);
  EXPECT_EQ(Names(*run, p.forward), std::vector<std::string>{"ext"});
  EXPECT_TRUE(p.undo.empty());  // not a: its child ext is not clear
  Ended(*run, "ext", NodeStatus::kSucceeded);
  p = Plan(*run);
  EXPECT_EQ(Names(*run, p.undo), std::vector<std::string>{"ext"});
  Ended(*run, "ext", NodeStatus::kUndone);
  p = Plan(*run);
  EXPECT_EQ(Names(*run, p.undo), std::vector<std::string>{"a"});
}

TEST_F(SchedulerTest, AStuckSagaCompletesWithItsErrorOnceItsStepsHaveEnded) {
  auto run = NewRun(Diamond());
  {
    MutexLock lock(&run->mu);
    run->mode = SagaState::kStuck;
    run->record.error_node = static_cast<int32_t>(Node(*run, "b"));
    run->record.error_code = static_cast<uint8_t>(Code::kConflict);
    run->record.error = "the undo cannot be done";
    run->tasks = 1;  // a step still in flight
  }
  SchedulePlan p = Plan(*run);
  EXPECT_FALSE(p.complete);
  EXPECT_TRUE(p.forward.empty() && p.undo.empty());

  {
    MutexLock lock(&run->mu);
    run->tasks = 0;
  }
  p = Plan(*run);
  EXPECT_TRUE(p.complete);
  ASSERT_TRUE(p.result.has_value());
  EXPECT_EQ(p.result->id, run->id());
  EXPECT_EQ(p.result->state, SagaState::kStuck);
  EXPECT_EQ(p.result->error_node, "b");
  EXPECT_EQ(p.result->error, Status::Conflict("the undo cannot be done"));
}

TEST_F(SchedulerTest, AStoppingExecutorStartsNothingAndHaltsTheRunOnceItsStepsEnded) {
  auto run = NewRun(Diamond());
  Plan(*run);  // a starts

  SchedulePlan p = Plan(*run, /*stopping=*/true);
  EXPECT_FALSE(p.complete);
  Ended(*run, "a", NodeStatus::kSucceeded);
  p = Plan(*run, /*stopping=*/true);
  EXPECT_TRUE(p.forward.empty());  // b and c could run, but do not
  EXPECT_TRUE(p.complete);
  EXPECT_FALSE(p.result.has_value());
  MutexLock lock(&run->mu);
  ASSERT_TRUE(run->halted.has_value());
  EXPECT_EQ(*run->halted, Status::InvalidRequest("the executor shut down"));
  EXPECT_EQ(run->nodes[Node(*run, "b")].status, NodeStatus::kPending);
}

TEST_F(SchedulerTest, AHaltedRunCompletesWithoutAResultOnceItsStepsEnded) {
  auto run = NewRun(Diamond());
  Plan(*run);
  {
    MutexLock lock(&run->mu);
    run->halted = Status::IOError("injected: the log cannot be written");
  }
  SchedulePlan p = Plan(*run);
  EXPECT_FALSE(p.complete);
  Ended(*run, "a", NodeStatus::kSucceeded);
  p = Plan(*run);
  EXPECT_TRUE(p.complete);
  EXPECT_TRUE(p.forward.empty());
  EXPECT_FALSE(p.result.has_value());
  MutexLock lock(&run->mu);
  EXPECT_EQ(*run->halted, Status::IOError("injected: the log cannot be written"));
}

}  // namespace
}  // namespace sagadb
