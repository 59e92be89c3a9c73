// The scheduler says which nodes of a saga can run or be undone now, from the nodes' states alone: forward, a
// node once every dependency has succeeded or is staged in the open round (so a chain of local steps runs in one
// round); unwinding, children before their parents, a started external node run to its end first; constant and
// subsaga nodes follow their dependencies, staged with them or settled with them.
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
    run->scope_params.assign(record.scopes.size(), NullJson());
    run->scope_params[0] = std::make_shared<const Json>(run->params);
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

  static void Set(SagaRun& run, const std::string& name, NodeStatus status, Json output = Json(nullptr)) {
    MutexLock lock(&run.mu);
    NodeRt& n = run.nodes[Node(run, name)];
    n.status = status;
    if (!output.is_null()) n.output = std::make_shared<const Json>(std::move(output));
  }
  static NodeStatus StatusOf(SagaRun& run, const std::string& name) {
    MutexLock lock(&run.mu);
    return run.nodes[Node(run, name)].status;
  }
  static std::vector<std::string> Runnable(SagaRun& run) {
    MutexLock lock(&run.mu);
    ResolvePseudoNodes(run);
    return Names(run, ReadyToRun(run));
  }
  static std::vector<std::string> Undoable(SagaRun& run) {
    MutexLock lock(&run.mu);
    return Names(run, ReadyToUndo(run));
  }
  static bool Done(SagaRun& run) {
    MutexLock lock(&run.mu);
    return AllRan(run);
  }
  static bool Clean(SagaRun& run) {
    MutexLock lock(&run.mu);
    return Unwound(run);
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

TEST_F(SchedulerTest, ForwardANodeIsReadyOnceEachDependencyHasSucceededAndTheSagaIsDoneWhenAllHave) {
  auto run = NewRun(Diamond());
  EXPECT_EQ(Runnable(*run), std::vector<std::string>{"a"});
  Set(*run, "a", NodeStatus::kRunning);
  EXPECT_TRUE(Runnable(*run).empty());  // nothing new while a runs

  Set(*run, "a", NodeStatus::kSucceeded);
  EXPECT_EQ(Runnable(*run), (std::vector<std::string>{"b", "c"}));
  Set(*run, "b", NodeStatus::kSucceeded);
  Set(*run, "c", NodeStatus::kRunning);
  EXPECT_TRUE(Runnable(*run).empty());  // d waits for c too
  Set(*run, "c", NodeStatus::kSucceeded);
  EXPECT_EQ(Runnable(*run), std::vector<std::string>{"d"});
  EXPECT_FALSE(Done(*run));
  Set(*run, "d", NodeStatus::kSucceeded);
  EXPECT_TRUE(Runnable(*run).empty());
  EXPECT_TRUE(Done(*run));
}

TEST_F(SchedulerTest, AStagedParentMakesItsChildrenReadyInTheSameRound) {
  auto run = NewRun(Diamond());
  // a ran in the open round, its outcome not durable yet: b and c may build on it in that round.
  Set(*run, "a", NodeStatus::kStaged);
  EXPECT_EQ(Runnable(*run), (std::vector<std::string>{"b", "c"}));
  Set(*run, "b", NodeStatus::kStaged);
  Set(*run, "c", NodeStatus::kStaged);
  EXPECT_EQ(Runnable(*run), std::vector<std::string>{"d"});
  Set(*run, "d", NodeStatus::kStaged);
  EXPECT_TRUE(Done(*run));  // the final record may go out with the same round
  // Waiting, starting or running nodes have not run.
  Set(*run, "c", NodeStatus::kWaiting);
  EXPECT_FALSE(Done(*run));
  Set(*run, "c", NodeStatus::kStarting);
  EXPECT_FALSE(Done(*run));
}

TEST_F(SchedulerTest, ConstantAndSubsagaNodesResolveWithTheirDependenciesAndNeverRun) {
  DagBuilder sub("sub");
  sub.Append(NodeSpec::Action("x", "x"));
  const SagaDag sub_dag = Must(sub.Build());
  DagBuilder b("pseudo");
  b.Append(NodeSpec::Constant("k", Json{{"size", 7}}));
  b.Append(NodeSpec::Subsaga("s", sub_dag, "k"));
  b.Append(NodeSpec::Action("after", "x"));
  auto run = NewRun(Must(b.Build()));

  EXPECT_EQ(Runnable(*run), std::vector<std::string>{"s.x"});  // k and the subsaga's start resolved
  {
    MutexLock lock(&run->mu);
    EXPECT_EQ(run->nodes[Node(*run, "k")].status, NodeStatus::kSucceeded);
    EXPECT_EQ(*run->nodes[Node(*run, "k")].output, (Json{{"size", 7}}));
    EXPECT_EQ(*run->scope_params[1], (Json{{"size", 7}}));  // the subsaga's params: k's output
  }
  Set(*run, "s.x", NodeStatus::kStaged, Json("x-out"));
  EXPECT_EQ(Runnable(*run), std::vector<std::string>{"after"});
  EXPECT_EQ(StatusOf(*run, "s"), NodeStatus::kStaged);  // staged with the step it ends on
  {
    MutexLock lock(&run->mu);
    EXPECT_EQ(*run->nodes[Node(*run, "s")].output, Json("x-out"));  // the subsaga's output: its last node's
  }
  // The round is written: s.x succeeded, and the end node settles with it.
  Set(*run, "s.x", NodeStatus::kSucceeded);
  {
    MutexLock lock(&run->mu);
    SettlePseudoNodes(*run);
  }
  EXPECT_EQ(StatusOf(*run, "s"), NodeStatus::kSucceeded);
}

TEST_F(SchedulerTest, APseudoNodeStagedWithADroppedRoundIsPendingAgain) {
  DagBuilder b("pseudo");
  b.Append(NodeSpec::Action("a", "x"));
  b.Append(NodeSpec::Constant("k", Json(1)));
  b.Append(NodeSpec::Action("b", "x"));
  auto run = NewRun(Must(b.Build()));
  Set(*run, "a", NodeStatus::kStaged);
  EXPECT_EQ(Runnable(*run), std::vector<std::string>{"b"});
  EXPECT_EQ(StatusOf(*run, "k"), NodeStatus::kStaged);
  // The round's batch failed: a runs again, and k with it.
  Set(*run, "a", NodeStatus::kPending);
  {
    MutexLock lock(&run->mu);
    SettlePseudoNodes(*run);
  }
  EXPECT_EQ(StatusOf(*run, "k"), NodeStatus::kPending);
  EXPECT_EQ(Runnable(*run), std::vector<std::string>{"a"});
}

TEST_F(SchedulerTest, UnwindingUndoesChildrenBeforeTheirParents) {
  auto run = NewRun(Diamond());
  for (const char* n : {"a", "b", "c"}) Set(*run, n, NodeStatus::kSucceeded);
  Set(*run, "d", NodeStatus::kFailed);
  EXPECT_EQ(Undoable(*run), (std::vector<std::string>{"c", "b"}));  // a waits for both children
  EXPECT_FALSE(Clean(*run));

  Set(*run, "b", NodeStatus::kUndone);
  Set(*run, "c", NodeStatus::kUndoing);
  EXPECT_TRUE(Undoable(*run).empty());  // c is still being undone
  Set(*run, "c", NodeStatus::kUndoStaged);  // undone in the open round: a may follow in it
  EXPECT_EQ(Undoable(*run), std::vector<std::string>{"a"});
  Set(*run, "a", NodeStatus::kUndone);
  Set(*run, "c", NodeStatus::kUndone);
  EXPECT_TRUE(Undoable(*run).empty());
  EXPECT_TRUE(Clean(*run));
}

TEST_F(SchedulerTest, UnwindingWaitsForANodeInFlightThenUndoesItToo) {
  auto run = NewRun(Diamond());
  Set(*run, "a", NodeStatus::kSucceeded);
  Set(*run, "b", NodeStatus::kFailed);
  Set(*run, "c", NodeStatus::kRunning);
  EXPECT_TRUE(Undoable(*run).empty());  // a's child c is still running
  EXPECT_FALSE(Clean(*run));
  Set(*run, "c", NodeStatus::kSucceeded);
  EXPECT_EQ(Undoable(*run), std::vector<std::string>{"c"});
  Set(*run, "c", NodeStatus::kUndone);
  EXPECT_EQ(Undoable(*run), std::vector<std::string>{"a"});
  Set(*run, "a", NodeStatus::kUndone);
  EXPECT_TRUE(Clean(*run));  // d never ran
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
    EXPECT_EQ(Names(*run, StartedButUnfinished(*run)), std::vector<std::string>{"ext"});
  }
  EXPECT_TRUE(Undoable(*run).empty());  // not a: its child ext is not clear
  EXPECT_FALSE(Clean(*run));
  Set(*run, "ext", NodeStatus::kSucceeded);
  EXPECT_EQ(Undoable(*run), std::vector<std::string>{"ext"});
  Set(*run, "ext", NodeStatus::kUndone);
  EXPECT_EQ(Undoable(*run), std::vector<std::string>{"a"});
}

TEST_F(SchedulerTest, WaitingStepsKeepTheSagaFromBeingUnwound) {
  auto run = NewRun(Diamond());
  Set(*run, "a", NodeStatus::kUndone);
  Set(*run, "b", NodeStatus::kFailed);
  Set(*run, "c", NodeStatus::kUndoWaiting);  // its undo retries after a backoff
  EXPECT_FALSE(Clean(*run));
  Set(*run, "c", NodeStatus::kUndoFailed);  // it gave up: the saga is stuck, never unwound
  EXPECT_FALSE(Clean(*run));
}

}  // namespace
}  // namespace sagadb
