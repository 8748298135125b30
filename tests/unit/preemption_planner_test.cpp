// The preemption planner's pure choices: victim order, which executors go
// first, whether a revocation helps, and making room on one host.
#include "core/preemption_planner.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sched::core {
namespace {

TEST(PreemptionPlannerTest, VictimOrderBatchFirstThenLowPriorityThenYoungest) {
  const VictimKey batch = victim_key(SlaClass::kBatch, 5, 1000, 1);
  const VictimKey streaming = victim_key(SlaClass::kStreaming, 0, 1000, 2);
  const VictimKey interactive = victim_key(SlaClass::kInteractive, 0, 1000, 3);
  EXPECT_LT(batch, streaming);
  EXPECT_LT(streaming, interactive);
  EXPECT_LT(victim_key(SlaClass::kBatch, 1, 1000, 1), victim_key(SlaClass::kBatch, 2, 1000, 1));
  EXPECT_LT(victim_key(SlaClass::kBatch, 1, 2000, 1), victim_key(SlaClass::kBatch, 1, 1000, 2)) << "younger first";
  EXPECT_LT(victim_key(SlaClass::kBatch, 1, 1000, 9), victim_key(SlaClass::kBatch, 1, 1000, 3))
      << "started together: the later registered is the younger";
  EXPECT_LT(interactive, VictimKey{}) << "the default key means nothing to take";
}

TEST(PreemptionPlannerTest, RevocationOrderPrefersClaimantHostsThenYoungestThenSmallest) {
  const std::vector<Placement> ps = {
      {0, 4, 0, 100},  // old, big
      {1, 2, 0, 300},  // youngest
      {2, 1, 0, 100},  // old, small
      {3, 5, 0, 50},   // oldest, but a claimant runs here
  };
  EXPECT_EQ(revocation_order(ps, nullptr), (std::vector<std::size_t>{1, 2, 0, 3}));
  const std::vector<std::uint8_t> prefer = {0, 0, 0, 1};
  EXPECT_EQ(revocation_order(ps, &prefer), (std::vector<std::size_t>{3, 1, 2, 0}));
}

TEST(PreemptionPlannerTest, SlotsThatMakeRoom) {
  const Resources free = Resources::cpu_mem(1000, 1024);
  const Resources victim = Resources::cpu_mem(1000, 4096);
  const std::vector<Resources> wide = {Resources::cpu_mem(2000, 4096)};
  EXPECT_EQ(slots_that_make_room(free, victim, 3, wide), 1);
  const std::vector<Resources> big = {Resources::cpu_mem(4000, 4096)};
  EXPECT_EQ(slots_that_make_room(free, victim, 3, big), 3);
  EXPECT_EQ(slots_that_make_room(free, victim, 2, big), -1) << "two slots are not enough";
  const std::vector<Resources> gpu = {Resources::cpu_mem(1000, 1024) + Resources::of(kGpu, 1000)};
  EXPECT_EQ(slots_that_make_room(free, victim, 8, gpu), -1) << "the victim frees no gpu";
  const std::vector<Resources> both = {big[0], wide[0]};
  EXPECT_EQ(slots_that_make_room(free, victim, 3, both), 1) << "the easiest claimant counts";
}

TEST(PreemptionPlannerTest, TakeForRoomTakesInOrderAndOnlyWhatIsNeeded) {
  const Resources free = Resources::cpu_mem(1000, 0);
  const Resources shape = Resources::cpu_mem(4000, 4096);
  const std::vector<TakeableSlots> cands = {{Resources::cpu_mem(1000, 1024), 2}, {Resources::cpu_mem(2000, 4096), 5}};
  auto plan = take_for_room(free, shape, cands);
  ASSERT_TRUE(plan.has_value());
  // All of the first (2 cpu, 2 GiB), then one of the second (4 GiB more).
  EXPECT_EQ(*plan, (std::vector<std::int64_t>{2, 1}));
  EXPECT_FALSE(take_for_room(free, Resources::cpu_mem(64000, 0), cands).has_value());
  auto none = take_for_room(Resources::cpu_mem(8000, 8192), shape, cands);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, (std::vector<std::int64_t>{0, 0})) << "already fits: nothing taken";
}

}  // namespace
}  // namespace sched::core
