// The scheduling core's behaviour: the reference scenario, SLA classes,
// preemption order and deadlines, placement, drains, limits, plans in time.
#include <gtest/gtest.h>

#include <memory>

#include "scheduler_harness.hpp"

namespace sched::testing {
namespace {

using core::DecisionKind;
using core::Reason;
using core::SlaClass;

const char* kReferenceTree = R"(
  - {name: A, share: 1, owned: 4}
  - name: B
    share: 4
    owned: 16
    children:
      - {name: B1, share: 1, owned: 4}
      - {name: B2, share: 3, owned: 12}
)";

core::SchedulerConfig with_grace(core::TimeMs ms) {
  core::SchedulerConfig c;
  c.sla.grace_ms = {ms, ms, ms};
  return c;
}

TEST(Scheduler, ReferenceScenario) {
  Harness h(with_grace(30'000));
  h.add_hosts(1, 20);
  ASSERT_TRUE(h.set_tree(kReferenceTree).is_ok());

  // T0: A wants 20 and gets all of it (B is idle, so A borrows B's 16).
  ASSERT_TRUE(h.add("a", "/A", 20).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/A"), 20);

  // T1: B1 wants 20. B reclaims its 16 from A, but only after the grace.
  ASSERT_TRUE(h.add("b1", "/B/B1", 20).is_ok());
  auto d = h.pass();
  auto revokes = Harness::of_kind(d, DecisionKind::kRevoke);
  ASSERT_EQ(revokes.size(), 1u);
  EXPECT_EQ(revokes[0].session, "a");
  EXPECT_EQ(revokes[0].slots, 16);
  EXPECT_EQ(revokes[0].reason, Reason::kOwnership);
  EXPECT_EQ(revokes[0].beneficiary, "/B");
  EXPECT_EQ(revokes[0].deadline - revokes[0].at, 30'000);
  EXPECT_EQ(h.consumer_slots("/A"), 20) << "slots stay until the deadline";
  h.run_for(29'999);
  EXPECT_EQ(h.held("b1"), 0);
  h.run_for(1);
  EXPECT_EQ(h.consumer_slots("/A"), 4);
  EXPECT_EQ(h.consumer_slots("/B/B1"), 16);

  // T2: A ends all work: B1 takes the rest.
  ASSERT_TRUE(h.demand("a", 0).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/A"), 0);
  EXPECT_EQ(h.consumer_slots("/B/B1"), 20);

  // T3: B2 wants 20 and reclaims only its owned 12: B1 keeps 8, more than
  // its share-ratio 5, because nobody owns those 8 and asks for them.
  ASSERT_TRUE(h.add("b2", "/B/B2", 20).is_ok());
  d = h.settle();
  EXPECT_EQ(h.consumer_slots("/B/B1"), 8);
  EXPECT_EQ(h.consumer_slots("/B/B2"), 12);
  revokes = Harness::of_kind(d, DecisionKind::kRevoke);
  ASSERT_EQ(revokes.size(), 1u);
  EXPECT_EQ(revokes[0].session, "b1");
  EXPECT_EQ(revokes[0].beneficiary, "/B/B2");
}

TEST(Scheduler, RebalanceMovesTowardShareRatio) {
  core::SchedulerConfig c = with_grace(10'000);
  c.rebalance.on = true;
  Harness h(c);
  h.add_hosts(1, 20);
  ASSERT_TRUE(h.set_tree(kReferenceTree).is_ok());
  ASSERT_TRUE(h.add("b1", "/B/B1", 20).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/B/B1"), 20);
  ASSERT_TRUE(h.add("b2", "/B/B2", 20).is_ok());
  h.settle();
  // B's 20 split 1:3 between B1 and B2.
  EXPECT_EQ(h.consumer_slots("/B/B1"), 5);
  EXPECT_EQ(h.consumer_slots("/B/B2"), 15);
}

// Two consumers that own nothing: the share-ratio split of 20 is 10:10.
const char* kTwoBorrowers = R"(
  - {name: A, share: 1, owned: 0}
  - {name: B, share: 1, owned: 0}
)";

// Rebalance with threshold 0.8 on two borrowers of 20 slots; A asks first
// and gets what it asks for.
class DelayedRebalance : public ::testing::Test {
 protected:
  Harness& start(core::TimeMs delay_ms, std::int64_t a_demand) {
    core::SchedulerConfig c = with_grace(1'000);
    c.rebalance = core::RebalanceRule{true, 0.8, delay_ms};
    h_ = std::make_unique<Harness>(c);
    h_->add_hosts(1, 20);
    EXPECT_TRUE(h_->set_tree(kTwoBorrowers).is_ok());
    EXPECT_TRUE(h_->add("a", "/A", a_demand).is_ok());
    h_->settle();
    EXPECT_EQ(h_->consumer_slots("/A"), a_demand);
    return *h_;
  }

 private:
  std::unique_ptr<Harness> h_;
};

TEST_F(DelayedRebalance, WaitsForTheDelayBeforePreempting) {
  Harness& h = start(30'000, 20);
  ASSERT_TRUE(h.add("b", "/B", 20).is_ok());
  // B starves (0 of its 10), but not yet for the delay: A keeps its 20.
  auto early = h.run_for(29'000);
  EXPECT_TRUE(Harness::of_kind(early, core::DecisionKind::kRevoke).empty());
  EXPECT_EQ(h.consumer_slots("/A"), 20);
  // At the delay the split stands: 10 revoked from A for B.
  auto later = h.run_for(3'000);
  auto revokes = Harness::of_kind(later, core::DecisionKind::kRevoke);
  ASSERT_FALSE(revokes.empty());
  EXPECT_EQ(revokes[0].reason, core::Reason::kRebalance);
  EXPECT_EQ(h.consumer_slots("/A"), 10);
  EXPECT_EQ(h.consumer_slots("/B"), 10);
}

TEST_F(DelayedRebalance, LeavesAConsumerAtTheThresholdAlone) {
  for (const std::int64_t a_first : {12, 13}) {
    Harness& h = start(5'000, a_first);
    // B takes the rest; both want more than their 10 of the split.
    ASSERT_TRUE(h.add("b", "/B", 20).is_ok());
    h.run_for(60'000);
    h.settle();
    if (a_first == 12) {
      // B holds 8 = 0.8 x 10: not starving, so no one is preempted.
      EXPECT_EQ(h.consumer_slots("/A"), 12);
      EXPECT_EQ(h.consumer_slots("/B"), 8);
    } else {
      // B holds 7, a slot below 0.8 x 10: after the delay, 10:10.
      EXPECT_EQ(h.consumer_slots("/A"), 10);
      EXPECT_EQ(h.consumer_slots("/B"), 10);
    }
  }
}

TEST_F(DelayedRebalance, ForgetsAStarvingThatEnded) {
  Harness& h = start(10'000, 20);
  ASSERT_TRUE(h.add("b", "/B", 20).is_ok());
  h.run_for(6'000);
  // B stops wanting before the delay; it wants again later: the delay
  // counts from then, not from the first time.
  ASSERT_TRUE(h.demand("b", 0).is_ok());
  h.run_for(1'000);
  ASSERT_TRUE(h.demand("b", 20).is_ok());
  auto d = h.run_for(8'000);
  EXPECT_TRUE(Harness::of_kind(d, core::DecisionKind::kRevoke).empty());
  EXPECT_EQ(h.consumer_slots("/A"), 20);
  h.run_for(5'000);
  EXPECT_EQ(h.consumer_slots("/B"), 10);
}

TEST(Scheduler, FreePoolSplitByShareAfterOwnership) {
  Harness h;
  h.add_hosts(3, 10);  // 30 slots: 20 owned, 10 shared
  ASSERT_TRUE(h.set_tree(kReferenceTree).is_ok());
  ASSERT_TRUE(h.add("a", "/A", 30).is_ok());
  ASSERT_TRUE(h.add("b1", "/B/B1", 30).is_ok());
  h.settle();
  // Owned 4 and 16 first, then the free 10 by share 1:4.
  EXPECT_EQ(h.consumer_slots("/A"), 6);
  EXPECT_EQ(h.consumer_slots("/B/B1"), 24);
}

TEST(Scheduler, SiblingFirstLending) {
  Harness h;
  h.add_hosts(1, 20);
  ASSERT_TRUE(h.set_tree(kReferenceTree).is_ok());
  // B2 idle: its owned 12 goes to its sibling B1 before A, though A asks too.
  ASSERT_TRUE(h.add("a", "/A", 20).is_ok());
  ASSERT_TRUE(h.add("b1", "/B/B1", 16).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/B/B1"), 16);
  EXPECT_EQ(h.consumer_slots("/A"), 4);
}

TEST(Scheduler, LimitCapsAndLoweredLimitRevokes) {
  Harness h(with_grace(5'000));
  h.add_hosts(1, 20);
  ASSERT_TRUE(h.set_tree("  - {name: A, limit: 6}\n  - {name: B}\n").is_ok());
  ASSERT_TRUE(h.add("a", "/A", 20).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/A"), 6);
  ASSERT_TRUE(h.set_tree("  - {name: A, limit: 2}\n  - {name: B}\n").is_ok());
  auto d = h.settle();
  EXPECT_EQ(h.consumer_slots("/A"), 2);
  auto revokes = Harness::of_kind(d, DecisionKind::kRevoke);
  ASSERT_EQ(revokes.size(), 1u);
  EXPECT_EQ(revokes[0].reason, Reason::kLimit);
}

TEST(Scheduler, ReservedIsNeverLent) {
  Harness h;
  h.add_hosts(1, 20);
  ASSERT_TRUE(h.set_tree("  - {name: A, owned: 8, reserved: 5}\n  - {name: B}\n").is_ok());
  ASSERT_TRUE(h.add("b", "/B", 20).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/B"), 15) << "A's 5 reserved slots stay idle for A";
  ASSERT_TRUE(h.add("a", "/A", 3).is_ok());
  auto d = h.pass();
  EXPECT_EQ(h.held("a"), 3) << "reserved slots are there at once, no preemption";
  EXPECT_TRUE(Harness::of_kind(d, DecisionKind::kRevoke).empty());
}

TEST(Scheduler, NoBorrowStaysWithinOwned) {
  Harness h;
  h.add_hosts(1, 20);
  ASSERT_TRUE(h.set_tree("  - {name: A, owned: 4, borrow: false}\n  - {name: B, owned: 4}\n").is_ok());
  ASSERT_TRUE(h.add("a", "/A", 20).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/A"), 4);
}

TEST(Scheduler, InteractivePreemptsBatchInsideOneConsumerAfterGrace) {
  Harness h(with_grace(10'000));
  h.add_hosts(1, 8);
  ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
  ASSERT_TRUE(h.add("batch", "/T", 100).is_ok());
  h.settle();
  EXPECT_EQ(h.held("batch"), 8);
  ASSERT_TRUE(h.add("nb", "/T", 2, SlaClass::kInteractive).is_ok());
  auto d = h.pass();
  auto revokes = Harness::of_kind(d, DecisionKind::kRevoke);
  ASSERT_EQ(revokes.size(), 1u);
  EXPECT_EQ(revokes[0].session, "batch");
  EXPECT_EQ(revokes[0].slots, 2);
  EXPECT_EQ(revokes[0].reason, Reason::kSlaPriority);
  EXPECT_EQ(revokes[0].beneficiary, "nb");
  h.run_for(9'999);
  EXPECT_EQ(h.held("nb"), 0);
  h.run_for(1);
  EXPECT_EQ(h.held("nb"), 2);
  EXPECT_EQ(h.held("batch"), 6);
}

TEST(Scheduler, DriverReleasingEarlyHandsSlotsOverAtOnce) {
  Harness h(with_grace(60'000));
  h.add_hosts(1, 8);
  ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
  ASSERT_TRUE(h.add("batch", "/T", 100).is_ok());
  h.settle();
  ASSERT_TRUE(h.add("nb", "/T", 2, SlaClass::kInteractive).is_ok());
  h.pass();
  // The driver finished the revoked tasks quickly and gave the slots back.
  ASSERT_TRUE(h.s().release_slots("batch", "h1", 2).is_ok());
  auto d = h.pass();
  EXPECT_EQ(h.held("nb"), 2);
  EXPECT_EQ(h.s().pending_revocations(), 0u);
  EXPECT_EQ(Harness::of_kind(d, DecisionKind::kReclaim).size(), 1u);
}

TEST(Scheduler, StreamingMinimumIsNeverPreempted) {
  Harness h(with_grace(1'000));
  h.add_hosts(1, 10);
  ASSERT_TRUE(h.set_tree("  - {name: S, owned: 4}\n  - {name: O, owned: 6}\n").is_ok());
  // The streaming job borrows everything; its minimum 3 sits within S's owned 4.
  ASSERT_TRUE(h.add("st", "/S", 10, SlaClass::kStreaming, 0, 3).is_ok());
  h.settle();
  EXPECT_EQ(h.held("st"), 10);
  // The owner of 6 reclaims: the streaming job drops to its owned 4, not below.
  ASSERT_TRUE(h.add("o", "/O", 10).is_ok());
  h.settle();
  EXPECT_EQ(h.held("o"), 6);
  EXPECT_EQ(h.held("st"), 4);
  // A batch job in the same consumer cannot take the streaming minimum either.
  ASSERT_TRUE(h.add("b", "/S", 10, SlaClass::kBatch, 100).is_ok());
  h.settle();
  EXPECT_GE(h.held("st"), 3);
}

TEST(Scheduler, StreamingMinimumTakesRoomFromBatchInItsConsumer) {
  Harness h(with_grace(1'000));
  h.add_hosts(1, 6);
  ASSERT_TRUE(h.set_tree("  - {name: S, owned: 6}\n").is_ok());
  ASSERT_TRUE(h.add("b", "/S", 10).is_ok());
  h.settle();
  EXPECT_EQ(h.held("b"), 6);
  ASSERT_TRUE(h.add("st", "/S", 2, SlaClass::kStreaming, 0, 2).is_ok());
  h.settle();
  EXPECT_EQ(h.held("st"), 2);
  EXPECT_EQ(h.held("b"), 4);
}

TEST(Scheduler, VictimOrderBatchBeforeStreamingBeforeInteractive) {
  Harness h(with_grace(1'000));
  h.add_hosts(1, 12);
  ASSERT_TRUE(h.set_tree("  - {name: X}\n  - {name: O, owned: 4}\n").is_ok());
  ASSERT_TRUE(h.add("i", "/X", 4, SlaClass::kInteractive).is_ok());
  ASSERT_TRUE(h.add("s", "/X", 4, SlaClass::kStreaming).is_ok());
  ASSERT_TRUE(h.add("b", "/X", 4, SlaClass::kBatch).is_ok());
  h.settle();
  ASSERT_EQ(h.held("i") + h.held("s") + h.held("b"), 12);
  ASSERT_TRUE(h.add("o", "/O", 4).is_ok());
  h.settle();
  EXPECT_EQ(h.held("b"), 0);
  EXPECT_EQ(h.held("s"), 4);
  EXPECT_EQ(h.held("i"), 4);
  ASSERT_TRUE(h.demand("o", 6).is_ok());  // beyond owned: no more reclaims
  h.settle();
  EXPECT_EQ(h.held("s"), 4);
}

TEST(Scheduler, LowerPriorityAndYoungerLoseFirst) {
  Harness h(with_grace(1'000));
  h.add_hosts(1, 12);
  ASSERT_TRUE(h.set_tree("  - {name: X}\n  - {name: O, owned: 4}\n").is_ok());
  ASSERT_TRUE(h.add("old_low", "/X", 4, SlaClass::kBatch, 1).is_ok());
  h.clock().advance(1000);
  ASSERT_TRUE(h.add("young_high", "/X", 4, SlaClass::kBatch, 5).is_ok());
  h.clock().advance(1000);
  ASSERT_TRUE(h.add("young_low", "/X", 4, SlaClass::kBatch, 1).is_ok());
  h.settle();
  ASSERT_TRUE(h.add("o", "/O", 4).is_ok());
  h.settle();
  EXPECT_EQ(h.held("young_low"), 0) << "lowest priority, and younger than old_low";
  EXPECT_EQ(h.held("old_low"), 4);
  EXPECT_EQ(h.held("young_high"), 4);
}

TEST(Scheduler, GracePerConsumerAndPerClass) {
  core::SchedulerConfig c = with_grace(30'000);
  c.sla.grace_ms[static_cast<std::size_t>(SlaClass::kInteractive)] = 90'000;
  Harness h(c);
  h.add_hosts(1, 10);
  ASSERT_TRUE(h.set_tree(R"(
  - {name: Q, grace: 5s}
  - {name: R, grace: {batch: 7s}}
  - {name: O, owned: 10}
)")
                  .is_ok());
  ASSERT_TRUE(h.add("q", "/Q", 3).is_ok());
  ASSERT_TRUE(h.add("r", "/R", 3).is_ok());
  ASSERT_TRUE(h.add("ri", "/R", 3, SlaClass::kInteractive).is_ok());
  h.settle();
  ASSERT_TRUE(h.add("o", "/O", 10).is_ok());
  auto d = h.pass();
  std::map<std::string, core::TimeMs> grace;
  for (const auto& r : Harness::of_kind(d, DecisionKind::kRevoke)) grace[r.session] = r.deadline - r.at;
  EXPECT_EQ(grace["q"], 5'000);
  EXPECT_EQ(grace["r"], 7'000);
  EXPECT_EQ(grace["ri"], 90'000) << "R sets only batch; interactive falls back to the class default";
}

TEST(Scheduler, RevocationIsCancelledWhenTheClaimantLeaves) {
  Harness h(with_grace(30'000));
  h.add_hosts(1, 20);
  ASSERT_TRUE(h.set_tree(kReferenceTree).is_ok());
  ASSERT_TRUE(h.add("a", "/A", 20).is_ok());
  h.settle();
  ASSERT_TRUE(h.add("b1", "/B/B1", 20).is_ok());
  h.pass();
  EXPECT_EQ(h.s().pending_revocations(), 1u);
  h.run_for(10'000);
  ASSERT_TRUE(h.s().unregister_session("b1").is_ok());
  auto d = h.pass();
  EXPECT_EQ(Harness::of_kind(d, DecisionKind::kRevokeCancel).size(), 1u);
  EXPECT_EQ(h.s().pending_revocations(), 0u);
  h.settle();
  EXPECT_EQ(h.held("a"), 20);
}

TEST(Scheduler, IdleInteractiveShrinksAfterTimeout) {
  core::SchedulerConfig c;
  c.sla.interactive_idle_timeout_ms = 60'000;
  Harness h(c);
  h.add_hosts(1, 8);
  ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
  ASSERT_TRUE(h.add("nb", "/T", 4, SlaClass::kInteractive).is_ok());
  h.pass();
  EXPECT_EQ(h.held("nb"), 4);
  h.clock().advance(5'000);
  ASSERT_TRUE(h.demand("nb", 0).is_ok());  // between cells
  h.run_for(59'999);
  EXPECT_EQ(h.held("nb"), 4) << "kept while the notebook may come back";
  ASSERT_TRUE(h.demand("nb", 1).is_ok());  // a small cell resets nothing: 1 < 4
  h.run_for(1);
  EXPECT_EQ(h.held("nb"), 1) << "the idle clock started when demand first fell";
}

TEST(Scheduler, ReleaseTakesIdleSlotsBeforeBusyOnes) {
  Harness h;
  h.add_hosts(2, 4);
  ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
  ASSERT_TRUE(h.add("x", "/T", 2).is_ok());
  h.pass();
  h.clock().advance(1'000);
  ASSERT_TRUE(h.demand("x", 6).is_ok());
  h.pass();
  const core::Session* x = h.s().find_session("x");
  ASSERT_EQ(x->placements.size(), 2u);
  // The younger slots run the tail of the job; the older executor is idle.
  const core::Placement& young = *std::max_element(x->placements.begin(), x->placements.end(),
                                                   [](const auto& a, const auto& b) { return a.since < b.since; });
  const std::string young_host = h.s().hosts().host(young.host).name;
  const std::int64_t young_slots = young.slots;
  core::SessionUpdate u;
  u.demand = young_slots;
  u.busy = std::vector<std::pair<std::string, std::int64_t>>{{young_host, young_slots}, {"nowhere", 3}};
  ASSERT_TRUE(h.s().update_session("x", u).is_ok());
  const auto released = Harness::of_kind(h.pass(), DecisionKind::kRelease);
  ASSERT_FALSE(released.empty());
  for (const auto& d : released) EXPECT_NE(d.host, young_host) << "a busy slot went";
  ASSERT_EQ(x->placements.size(), 1u);
  EXPECT_EQ(x->placements[0].slots, young_slots);
}

TEST(Scheduler, PlacementPrefersHostsWithAnExecutor) {
  Harness h;
  h.add_hosts(3, 4);
  ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
  ASSERT_TRUE(h.add("x", "/T", 2).is_ok());
  h.pass();
  ASSERT_EQ(h.s().find_session("x")->placements.size(), 1u);
  const int host = h.s().find_session("x")->placements[0].host;
  ASSERT_TRUE(h.demand("x", 4).is_ok());
  h.pass();
  ASSERT_EQ(h.s().find_session("x")->placements.size(), 1u) << "the new slots joined the existing executor";
  EXPECT_EQ(h.s().find_session("x")->placements[0].host, host);
  EXPECT_EQ(h.held("x"), 4);
}

TEST(Scheduler, PackAndSpread) {
  for (auto policy : {core::PlacementPolicy::kPack, core::PlacementPolicy::kSpread}) {
    core::SchedulerConfig c;
    c.placement = policy;
    Harness h(c);
    h.add_hosts(4, 8);
    ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(h.add("s" + std::to_string(i), "/T", 2).is_ok());
    h.pass();
    std::set<int> hosts;
    for (const auto* x : h.s().sessions())
      for (const auto& p : x->placements) hosts.insert(p.host);
    if (policy == core::PlacementPolicy::kPack)
      EXPECT_EQ(hosts.size(), 1u);
    else
      EXPECT_EQ(hosts.size(), 4u);
  }
}

TEST(Scheduler, DrainRevokesWithGraceAndMovesWork) {
  Harness h(with_grace(10'000));
  h.add_hosts(2, 4);
  ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
  ASSERT_TRUE(h.add("x", "/T", 4).is_ok());
  h.pass();
  const std::string on = h.s().hosts().host(h.s().find_session("x")->placements[0].host).name;
  ASSERT_TRUE(h.s().drain_host(on).is_ok());
  auto d = h.pass();
  auto revokes = Harness::of_kind(d, DecisionKind::kRevoke);
  ASSERT_EQ(revokes.size(), 1u);
  EXPECT_EQ(revokes[0].reason, Reason::kDrain);
  EXPECT_EQ(revokes[0].host, on);
  // Make before break: the replacement slots come at once, elsewhere.
  auto grants = Harness::of_kind(d, DecisionKind::kGrant);
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_NE(grants[0].host, on);
  EXPECT_EQ(grants[0].slots, 4);
  h.settle();
  EXPECT_EQ(h.held("x"), 4);
  for (const auto& p : h.s().find_session("x")->placements) EXPECT_NE(h.s().hosts().host(p.host).name, on);
}

TEST(Scheduler, UndrainBeforeTheDeadlineKeepsTheSlots) {
  Harness h(with_grace(10'000));
  h.add_hosts(1, 4);
  ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
  ASSERT_TRUE(h.add("x", "/T", 4).is_ok());
  h.pass();
  ASSERT_TRUE(h.s().drain_host("h1").is_ok());
  h.pass();
  EXPECT_EQ(h.s().pending_revocations(), 1u);
  ASSERT_TRUE(h.s().drain_host("h1", false).is_ok());
  auto d = h.settle();
  EXPECT_EQ(Harness::of_kind(d, DecisionKind::kRevokeCancel).size(), 1u);
  EXPECT_EQ(h.held("x"), 4);
  EXPECT_EQ(h.s().pending_revocations(), 0u);
}

TEST(Scheduler, ShrunkHostRevokesTheExcessBatchFirstAndGrowingBackCancels) {
  // A pool whose quota is lowered below what it holds: the excess is
  // revoked with grace, batch before the notebook, even though nobody
  // waits for the room; raised again before the deadline, the revocations
  // are withdrawn.
  Harness h(with_grace(10'000));
  h.add_hosts(1, 8);
  ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
  ASSERT_TRUE(h.add("nb", "/T", 3, SlaClass::kInteractive).is_ok());
  ASSERT_TRUE(h.add("etl", "/T", 5).is_ok());
  h.settle();
  ASSERT_EQ(h.held("nb") + h.held("etl"), 8);
  ASSERT_TRUE(h.s().set_host_capacity("h1", h.s().config().slot * 5).is_ok());
  auto d = h.pass();
  auto revokes = Harness::of_kind(d, DecisionKind::kRevoke);
  ASSERT_EQ(revokes.size(), 1u);
  EXPECT_EQ(revokes[0].session, "etl");
  EXPECT_EQ(revokes[0].slots, 3);
  EXPECT_EQ(revokes[0].reason, Reason::kCapacity);
  // Grown back to 7 before the deadline: two of the three may stay.
  h.clock().advance(1'000);
  ASSERT_TRUE(h.s().set_host_capacity("h1", h.s().config().slot * 7).is_ok());
  d = h.pass();
  auto cancels = Harness::of_kind(d, DecisionKind::kRevokeCancel);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].slots, 2);
  d = h.settle();
  EXPECT_EQ(h.held("nb"), 3);
  EXPECT_EQ(h.held("etl"), 4);
  EXPECT_EQ(h.s().pending_revocations(), 0u);
  // Unknown host: an error, nothing changed.
  EXPECT_FALSE(h.s().set_host_capacity("nope", h.s().config().slot).is_ok());
}

TEST(Scheduler, LostHostTakesItsSlotsAndOthersReplaceThem) {
  Harness h;
  h.add_hosts(2, 4);
  ASSERT_TRUE(h.set_tree("  - {name: T}\n").is_ok());
  ASSERT_TRUE(h.add("x", "/T", 6).is_ok());
  h.pass();
  EXPECT_EQ(h.held("x"), 6);
  ASSERT_TRUE(h.s().remove_host("h1").is_ok());
  auto d = h.pass();
  EXPECT_EQ(Harness::of_kind(d, DecisionKind::kLost).size(), 1u);
  EXPECT_EQ(h.held("x"), 4) << "all that is left";
}

TEST(Scheduler, TimeWindowPlanReclaimsAtTheEdge) {
  Harness h(with_grace(1'000));
  h.add_hosts(1, 10);
  // Office hours: Day owns 8; at night Night owns 8.
  ASSERT_TRUE(h.set_tree(R"(
  - name: Day
    owned: 2
    plans: [{window: "08:00-18:00", owned: 8}]
  - name: Night
    owned: 8
    plans: [{window: "08:00-18:00", owned: 2}]
)")
                  .is_ok());
  ASSERT_TRUE(h.add("day", "/Day", 10).is_ok());
  ASSERT_TRUE(h.add("night", "/Night", 10).is_ok());
  h.settle();  // 00:00 Monday
  EXPECT_EQ(h.held("night"), 8);
  EXPECT_EQ(h.held("day"), 2);
  h.run_for(8 * 3'600'000 + 1'000);  // past 08:00 and one grace
  EXPECT_EQ(h.held("day"), 8);
  EXPECT_EQ(h.held("night"), 2);
}

TEST(Scheduler, TreeChangeIsValidatedAndKeepsSessions) {
  Harness h;
  h.add_hosts(1, 20);
  ASSERT_TRUE(h.set_tree(kReferenceTree).is_ok());
  ASSERT_TRUE(h.add("b1", "/B/B1", 5).is_ok());
  h.settle();
  // Removing B1 while b1 runs there is refused, and nothing changes.
  Status st = h.set_tree("  - {name: A, owned: 4}\n  - {name: B, owned: 16}\n");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("/B/B1"), std::string::npos);
  EXPECT_EQ(h.held("b1"), 5);
  // Invalid trees are refused with a precise message.
  st = h.set_tree("  - {name: A, owned: 30}\n");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("capacity"), std::string::npos);
  // A valid change applies without a restart.
  ASSERT_TRUE(h.set_tree(R"(
  - {name: A, owned: 2}
  - name: B
    owned: 18
    children: [{name: B1, owned: 6}, {name: B2, owned: 12}]
)")
                  .is_ok());
  h.settle();
  EXPECT_EQ(h.held("b1"), 5);
}

TEST(Scheduler, BadSessionInputIsRefusedAndChangesNothing) {
  Harness h;
  h.add_hosts(1, 20);
  ASSERT_TRUE(h.set_tree(kReferenceTree).is_ok());
  EXPECT_EQ(h.add("x", "/Nope", 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(h.add("x", "/B", 1).code(), StatusCode::kInvalidArgument) << "B is not a leaf";
  EXPECT_EQ(h.add("x", "/A", -1).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(h.add("x", "/A", 1).is_ok());
  EXPECT_EQ(h.add("x", "/A", 1).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(h.demand("ghost", 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(h.s().unregister_session("ghost").code(), StatusCode::kNotFound);
  core::SessionUpdate u;
  u.min = 5;
  u.max = 2;
  EXPECT_EQ(h.s().update_session("x", u).code(), StatusCode::kInvalidArgument);
  h.settle();
  EXPECT_EQ(h.held("x"), 1);
  EXPECT_EQ(h.s().sessions().size(), 1u);
}

TEST(Scheduler, DrfSplitsByDominantShare) {
  core::SchedulerConfig c;
  c.slot = core::Resources::cpu_mem(1000, 1024);
  Harness h(c);
  h.add_host("big", core::Resources::cpu_mem(100'000, 100 * 1024));
  ASSERT_TRUE(h.set_tree("  - {name: C, share: 1}\n  - {name: M, share: 1}\n").is_ok());
  // C's tasks are cpu-heavy, M's memory-heavy: DRF equalises dominant shares.
  ASSERT_TRUE(h.add("c", "/C", 1000, SlaClass::kBatch, 0, 0, core::Resources::cpu_mem(4000, 1024)).is_ok());
  ASSERT_TRUE(h.add("m", "/M", 1000, SlaClass::kBatch, 0, 0, core::Resources::cpu_mem(1000, 4 * 1024)).is_ok());
  h.settle();
  // Dominant shares: c -> cpu 4%/slot, m -> memory 4%/slot; both get ~20 slots (80%).
  EXPECT_NEAR(h.held("c"), 20, 1);
  EXPECT_NEAR(h.held("m"), 20, 1);
}

// A consumer whose share moves by a sliver of it keeps its children's split
// (the freed room still goes to the hungry); a bigger move, or a full pass,
// re-splits it.
TEST(Scheduler, SmallShareMovesAreNotResplitBelow) {
  const char* tree = R"(
  - {name: A, share: 1}
  - name: B
    share: 1
    children:
      - {name: B1, share: 1}
      - {name: B2, share: 1}
)";
  auto target_slots = [](Harness& h, const std::string& path) {
    return h.s().consumer_target(*h.s().tree().find(path))[core::kCpu] / 1000.0;
  };
  for (const double tolerance : {0.02, 0.0}) {
    SCOPED_TRACE("tolerance " + std::to_string(tolerance));
    core::SchedulerConfig c;
    c.resplit_tolerance = tolerance;
    c.full_pass_interval_ms = 0;
    Harness h(c);
    h.add_hosts(10, 100);
    ASSERT_TRUE(h.set_tree(tree).is_ok());
    ASSERT_TRUE(h.add("a", "/A", 1000).is_ok());
    ASSERT_TRUE(h.add("b1", "/B/B1", 1000).is_ok());
    ASSERT_TRUE(h.add("b2", "/B/B2", 1000).is_ok());
    h.settle();
    EXPECT_EQ(target_slots(h, "/B/B1"), 250);
    // B's share grows by 4 slots, under 2% of its 500.
    ASSERT_TRUE(h.demand("a", 496).is_ok());
    h.settle();
    // (A node not re-split keeps the target it was last split with.)
    EXPECT_EQ(target_slots(h, "/B"), tolerance > 0 ? 500 : 504);
    EXPECT_EQ(target_slots(h, "/B/B1"), tolerance > 0 ? 250 : 252);
    EXPECT_EQ(h.consumer_slots("/B/B1") + h.consumer_slots("/B/B2"), 504);  // the fill still hands the room out
    // A move beyond the tolerance is followed.
    ASSERT_TRUE(h.demand("a", 400).is_ok());
    h.settle();
    EXPECT_EQ(target_slots(h, "/B/B1"), 300);
    EXPECT_EQ(target_slots(h, "/B/B2"), 300);
    // So is everything, exactly, in a full pass.
    ASSERT_TRUE(h.demand("a", 396).is_ok());
    h.settle();
    h.s().mark_all_dirty();
    h.settle();
    EXPECT_EQ(target_slots(h, "/B/B1"), 302);
  }
}

// Room the share split did not hand out (here: a move under the re-split
// tolerance) goes to the least-served subtree first, then down inside it,
// as the split would give it: not to whichever leaf has the largest share.
TEST(Scheduler, FillFollowsTheTree) {
  const char* tree = R"(
  - name: A
    share: 1
    children:
      - {name: A1, share: 9}
      - {name: A2, share: 1}
  - {name: B, share: 1}
  - {name: C, share: 1}
)";
  core::SchedulerConfig c;
  c.resplit_tolerance = 0.02;
  c.full_pass_interval_ms = 0;
  Harness h(c);
  h.add_hosts(9, 100);
  ASSERT_TRUE(h.set_tree(tree).is_ok());
  ASSERT_TRUE(h.add("a1", "/A/A1", 1000).is_ok());
  ASSERT_TRUE(h.add("a2", "/A/A2", 1000).is_ok());
  ASSERT_TRUE(h.add("b", "/B", 1000).is_ok());
  ASSERT_TRUE(h.add("c", "/C", 1000).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/A/A1"), 270);
  EXPECT_EQ(h.consumer_slots("/A/A2"), 30);
  EXPECT_EQ(h.consumer_slots("/B"), 300);
  // C gives 4 slots back: A and B each gain 2 in the split, under 2% of
  // their 300, so neither is re-split and the fill hands the 4 out. A1's
  // large share does not draw them all into A.
  ASSERT_TRUE(h.demand("c", 296).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/C"), 296);
  EXPECT_EQ(h.consumer_slots("/B"), 302);
  EXPECT_EQ(h.consumer_slots("/A/A1") + h.consumer_slots("/A/A2"), 302);
}

// Gpus are split by share and owned by nobody, so measured by everything
// they hold every tenant with gpu work sits at its gpu share: the fill's
// cpu must be measured by cpu and memory, or it all goes to the first.
TEST(Scheduler, FillOfCpuIsNotDecidedByTheGpusATenantHolds) {
  core::SchedulerConfig c;
  c.resplit_tolerance = 0.02;
  c.full_pass_interval_ms = 0;
  Harness h(c);
  h.add_hosts(9, 100);
  core::Resources gpu_host = c.slot * 10;
  gpu_host[core::kGpu] = 2'000;
  h.add_host("g1", gpu_host);
  core::Resources gpu_shape = c.slot;
  gpu_shape[core::kGpu] = 1'000;
  ASSERT_TRUE(h.set_tree("  - {name: A, share: 1}\n  - {name: B, share: 1}\n  - {name: C, share: 1}\n").is_ok());
  ASSERT_TRUE(h.add("a", "/A", 1000).is_ok());
  ASSERT_TRUE(h.add("a-gpu", "/A", 1, SlaClass::kBatch, 0, 0, gpu_shape).is_ok());
  ASSERT_TRUE(h.add("b", "/B", 1000).is_ok());
  ASSERT_TRUE(h.add("b-gpu", "/B", 1, SlaClass::kBatch, 0, 0, gpu_shape).is_ok());
  ASSERT_TRUE(h.add("c", "/C", 1000).is_ok());
  h.settle();
  ASSERT_EQ(h.held("a-gpu"), 1);
  ASSERT_EQ(h.held("b-gpu"), 1);
  const std::int64_t a = h.consumer_slots("/A"), b = h.consumer_slots("/B"), cs = h.consumer_slots("/C");
  ASSERT_EQ(a + b + cs, 910);
  // C gives 6 slots back: under 2% of anyone's part, so nobody is re-split
  // and the fill hands them out, half to A and half to B.
  ASSERT_TRUE(h.demand("c", cs - 6).is_ok());
  h.settle();
  EXPECT_EQ(h.consumer_slots("/C"), cs - 6);
  EXPECT_EQ(h.consumer_slots("/A"), a + 3);
  EXPECT_EQ(h.consumer_slots("/B"), b + 3);
}

// Inside a consumer at its limit, an interactive session whose executor is
// larger than a batch session's needs the batch session's budget more than
// its room: the batch session's slots sit on hosts where freeing them fits
// nothing, while the interactive executor fits on a host that is free. The
// whole cut is carried out (not only where it makes room: that was none of
// it), and once it is, the interactive session starts where it fits.
TEST(Scheduler, ALimitedClaimantInsideAConsumerGetsTheWholeCut) {
  core::SchedulerConfig c = with_grace(10'000);
  c.slot = core::Resources::cpu_mem(1'000, 4 * 1024);  // the limit: 2 cores, 8 GiB
  Harness h(c);
  const core::Resources small = c.slot;
  const core::Resources large = core::Resources::cpu_mem(1'000, 8 * 1024);
  h.add_host("h1", small);
  h.add_host("h2", small);
  ASSERT_TRUE(h.set_tree("  - {name: A, share: 1, limit: 2}\n").is_ok());
  ASSERT_TRUE(h.add("b", "/A", 2, SlaClass::kBatch, 0, 0, small).is_ok());
  h.settle();
  ASSERT_EQ(h.held("b"), 2);
  h.add_host("h3", large);
  ASSERT_TRUE(h.add("i", "/A", 1, SlaClass::kInteractive, 0, 0, large).is_ok());
  auto d = h.pass();
  auto revokes = Harness::of_kind(d, DecisionKind::kRevoke);
  ASSERT_EQ(revokes.size(), 2u);
  EXPECT_EQ(revokes[0].beneficiary, "i");
  EXPECT_EQ(revokes[1].beneficiary, "i");
  h.settle();
  EXPECT_EQ(h.held("b"), 0);
  EXPECT_EQ(h.held("i"), 1);
  // Settled: a pass that recomputes everything changes nothing.
  h.s().mark_all_dirty();
  EXPECT_TRUE(h.pass().empty());
}

// A leaf is given gpus for its gpu sessions' demand, and DRF counts them in
// its share: its gpu session gets them, with the cpu to run them, ahead of a
// higher-ranked cpu-only session that would leave them idle; and that
// session, short, does not take them back later.
// A gpu host g1 (16 cores, 4 gpus) and a cpu host c1 (16 cores), slots of
// 1 core + 4 GiB, consumers A and B with the given shares.
struct GpuCluster {
  explicit GpuCluster(int share_b) : h(config()) {
    core::Resources gpu_host = core::Resources::cpu_mem(16'000, 64 * 1024);
    gpu_host[core::kGpu] = 4'000;
    h.add_host("g1", gpu_host);
    h.add_host("c1", core::Resources::cpu_mem(16'000, 64 * 1024));
    tree_ok = h.set_tree("  - {name: A, share: 1}\n  - {name: B, share: " + std::to_string(share_b) + "}\n").is_ok();
    gpu_shape[core::kGpu] = 1'000;  // with 2 cores and 8 GiB
  }
  static core::SchedulerConfig config() {
    core::SchedulerConfig c = with_grace(1'000);
    c.slot = core::Resources::cpu_mem(1000, 4096);
    return c;
  }
  Harness h;
  bool tree_ok = false;
  core::Resources gpu_shape = core::Resources::cpu_mem(2'000, 8 * 1024);
};

TEST(Scheduler, ALeafsGpusGoToItsGpuSessionAheadOfHigherRankedCpuWork) {
  GpuCluster g(1);
  ASSERT_TRUE(g.tree_ok);
  Harness& h = g.h;
  const core::Resources& gpu_shape = g.gpu_shape;
  ASSERT_TRUE(h.add("notebook", "/A", 20, SlaClass::kInteractive).is_ok());
  ASSERT_TRUE(h.add("train", "/A", 4, SlaClass::kBatch, 0, 0, gpu_shape).is_ok());
  ASSERT_TRUE(h.add("etl", "/B", 40).is_ok());
  h.settle();
  EXPECT_EQ(h.held("train"), 4) << "every gpu in use";
  EXPECT_EQ(h.held("notebook") + 2 * h.held("train") + h.held("etl"), 32) << "and every core";
  // The notebook, short, does not take the gpu executors' cpu when its grace runs out.
  h.run_for(5'000);
  EXPECT_EQ(h.held("train"), 4);
}

TEST(Scheduler, CpuOnlyWorkLeavesAGpuHostsCpuToGpuWorkThatWaits) {
  GpuCluster g(3);
  ASSERT_TRUE(g.tree_ok);
  Harness& h = g.h;
  ASSERT_TRUE(h.add("etl", "/B", 40).is_ok());
  h.settle();
  ASSERT_EQ(h.held("etl"), 32);
  // Gpu work arrives where cpu-only work borrows every core: nothing to reclaim (A owns nothing).
  ASSERT_TRUE(h.add("train", "/A", 4, SlaClass::kBatch, 0, 0, g.gpu_shape).is_ok());
  h.settle();
  ASSERT_EQ(h.held("train"), 0);
  // Cores come free on the gpu host (an executor of etl ended). etl, with
  // the larger share, is served first, but not with the cores the free
  // gpus need: those go to train.
  ASSERT_TRUE(h.s().release_slots("etl", "g1", 8).is_ok());
  h.settle();
  EXPECT_EQ(h.held("train"), 4);
  EXPECT_EQ(h.held("etl"), 24);
}

TEST(Scheduler, TheSessionARevocationFreesRoomForCanStartAhead) {
  Harness h(with_grace(3'000));
  h.add_hosts(2, 10);
  ASSERT_TRUE(h.set_tree(kReferenceTree).is_ok());
  ASSERT_TRUE(h.add("a", "/A", 20).is_ok());
  h.settle();
  ASSERT_TRUE(h.add("b1-late", "/B/B1", 0).is_ok());
  ASSERT_TRUE(h.add("b1", "/B/B1", 20, SlaClass::kInteractive).is_ok());
  const auto revokes = Harness::of_kind(h.pass(), core::DecisionKind::kRevoke);
  ASSERT_EQ(revokes.size(), 2u) << "one per host";
  // The claimant placement serves first, with no executor on either host yet.
  for (const auto& d : revokes) EXPECT_EQ(h.s().session_to_start_ahead(d.revocation_id), "b1");
  EXPECT_EQ(h.s().session_to_start_ahead(987654), "") << "no such revocation";
  h.run_for(3'000);
  EXPECT_EQ(h.held("b1"), 16);
  for (const auto& d : revokes) EXPECT_EQ(h.s().session_to_start_ahead(d.revocation_id), "") << "over";
}

TEST(Scheduler, ResplitToleranceOutOfRangeIsRefused) {
  core::ManualClock clock(0);
  core::SchedulerConfig c;
  c.resplit_tolerance = 0.5;
  auto s = core::Scheduler::create(c, &clock);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().to_string().find("resplit_tolerance"), std::string::npos);
}

TEST(Scheduler, DecisionsAreDeterministic) {
  auto run = [] {
    Harness h(with_grace(3'000));
    h.add_hosts(5, 8);
    EXPECT_TRUE(h.set_tree(kReferenceTree, false).is_ok());
    const char* ids[] = {"a1", "a2", "b11", "b12", "b21"};
    const char* cs[] = {"/A", "/A", "/B/B1", "/B/B1", "/B/B2"};
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(h.add(ids[i], cs[i], 5 + 3 * i).is_ok());
    h.settle();
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(h.demand(ids[(i * 3) % 5], 20 - 2 * i).is_ok());
      h.run_for(1'500);
    }
    h.settle();
    std::string out;
    for (const auto& d : h.log()) out += d.to_string() + "@" + std::to_string(d.at) + "\n";
    return out;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace sched::testing
