// Tests ConsumerTree: validation errors, plan resolution over time windows, grace inheritance and describe().
#include "core/consumer_tree.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sched::core {
namespace {

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kDay = 24 * kHour;
constexpr TimeMs kMonday = 4 * kDay;  // 1970-01-05 00:00 UTC
constexpr TimeMs At(int day, int hour, int minute = 0) {
  return kMonday + day * kDay + hour * kHour + minute * 60'000;
}

const Resources kSlot = Resources::of(kCpu, 1000);

Resources Slots(std::int64_t n) {
  return kSlot * n;
}

// A consumer written in slots; negative values leave a field unset.
ConsumerSpec Consumer(std::string name, double share, double owned, std::vector<ConsumerSpec> children = {},
                      int line = 0) {
  ConsumerSpec c;
  c.name = std::move(name);
  if (share >= 0) c.plan.share = share;
  if (owned >= 0) c.plan.owned = AmountSpec::of_slots(owned);
  c.children = std::move(children);
  c.line = line;
  return c;
}

// The reference tree of the design: A share 1 owned 4, B share 4 owned 16 (B1 1/4, B2 3/12).
TreeSpec Reference() {
  TreeSpec t;
  t.consumers.push_back(Consumer("A", 1, 4, {}, 4));
  t.consumers.push_back(Consumer("B", 4, 16, {Consumer("B1", 1, 4, {}, 9), Consumer("B2", 3, 12, {}, 10)}, 5));
  return t;
}

ConsumerTree Build(const TreeSpec& spec, const Resources& slot = kSlot,
                   const std::optional<Resources>& capacity = std::nullopt) {
  auto r = ConsumerTree::build(spec, slot, capacity);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? std::move(*r) : ConsumerTree();
}

void ExpectBuildError(const TreeSpec& spec, const std::string& message,
                      const std::optional<Resources>& capacity = std::nullopt, const Resources& slot = kSlot) {
  auto r = ConsumerTree::build(spec, slot, capacity);
  ASSERT_FALSE(r.is_ok()) << "expected: " << message;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), message);
}

int Find(const ConsumerTree& t, std::string_view path) {
  auto r = t.find(path);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : -1;
}

TEST(ConsumerTreeTest, BuildsTheReferenceTree) {
  const ConsumerTree t = Build(Reference(), kSlot, Slots(20));
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t.node(ConsumerTree::kRoot).path, "/");
  const int a = Find(t, "/A");
  const int b = Find(t, "/B");
  const int b1 = Find(t, "/B/B1");
  const int b2 = Find(t, "/B/B2");
  EXPECT_EQ(t.node(b1).parent, b);
  EXPECT_EQ(t.node(b1).depth, 2);
  EXPECT_EQ(t.node(b).children, (std::vector<int>{b1, b2}));
  EXPECT_EQ(t.node(b2).name, "B2");
  EXPECT_EQ(t.node(b2).line, 10);
  // Leaves in the order written, depth first.
  EXPECT_EQ(t.leaves(), (std::vector<int>{a, b1, b2}));
  EXPECT_FALSE(t.has_windows());
  EXPECT_EQ(t.next_plan_change(0, 0), kNever);
}

TEST(ConsumerTreeTest, FindToleratesMissingLeadingAndTrailingSlash) {
  const ConsumerTree t = Build(Reference());
  const int b1 = Find(t, "/B/B1");
  EXPECT_EQ(Find(t, "B/B1"), b1);
  EXPECT_EQ(Find(t, "/B/B1/"), b1);
  EXPECT_EQ(Find(t, "/"), ConsumerTree::kRoot);
}

TEST(ConsumerTreeTest, FindUnknownPath) {
  const ConsumerTree t = Build(Reference());
  for (std::string_view path : {"/C", "/B/B3", "/A/B1", "/b"}) {
    auto r = t.find(path);
    ASSERT_FALSE(r.is_ok()) << path;
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(r.status().message(), "unknown consumer '" + std::string(path) + "'");
  }
}

TEST(ConsumerTreeTest, DefaultsForUnsetFields) {
  TreeSpec spec;
  spec.consumers.push_back(Consumer("A", -1, -1));
  const ConsumerTree t = Build(spec);
  const auto plans = t.plans_at(kMonday, 0);
  const ConsumerPlan& a = plans[static_cast<std::size_t>(Find(t, "/A"))];
  EXPECT_DOUBLE_EQ(a.share, 1.0);
  EXPECT_TRUE(a.owned.is_zero());
  EXPECT_EQ(a.limit, unlimited_resources());
  EXPECT_TRUE(a.reserved.is_zero());
  EXPECT_TRUE(a.borrow);
}

TEST(ConsumerTreeTest, PlanFieldsResolveSlotsToVectors) {
  const Resources slot = Resources::cpu_mem(1000, 4096);
  TreeSpec spec;
  ConsumerSpec a = Consumer("A", 2.5, 4);
  a.plan.limit = AmountSpec::of_slots(10);
  a.plan.reserved = AmountSpec::of_slots(1.5);
  a.plan.borrow = false;
  spec.consumers.push_back(a);
  ConsumerSpec v = Consumer("V", -1, -1);
  v.plan.owned = AmountSpec::of_vector(Resources::cpu_mem(3000, 1024));
  spec.consumers.push_back(v);
  const ConsumerTree t = Build(spec, slot);
  const auto plans = t.plans_at(kMonday, 0);
  const ConsumerPlan& pa = plans[static_cast<std::size_t>(Find(t, "/A"))];
  EXPECT_DOUBLE_EQ(pa.share, 2.5);
  EXPECT_EQ(pa.owned, Resources::cpu_mem(4000, 16384));
  // A limit in slots caps the kinds a slot has; the others stay unlimited.
  Resources limit = unlimited_resources();
  limit[kCpu] = 10000;
  limit[kMemory] = 40960;
  EXPECT_EQ(pa.limit, limit);
  EXPECT_EQ(pa.reserved, Resources::cpu_mem(1500, 6144));
  EXPECT_FALSE(pa.borrow);
  EXPECT_EQ(plans[static_cast<std::size_t>(Find(t, "/V"))].owned, Resources::cpu_mem(3000, 1024));
  EXPECT_EQ(plans[ConsumerTree::kRoot].owned, Resources::cpu_mem(7000, 17408));
}

TEST(ConsumerTreeTest, VectorLimitCapsOnlyTheKindsItNames) {
  TreeSpec spec;
  ConsumerSpec a = Consumer("A", 1, 2);
  a.plan.limit = AmountSpec::of_vector(Resources::of(kCpu, 4000));
  spec.consumers.push_back(a);
  const ConsumerTree t = Build(spec);
  const ConsumerPlan pa = t.plans_at(kMonday, 0)[static_cast<std::size_t>(Find(t, "/A"))];
  EXPECT_EQ(pa.limit[kCpu], 4000);
  EXPECT_EQ(pa.limit[kMemory], kUnlimitedAmount);
  EXPECT_EQ(pa.limit[kGpu], kUnlimitedAmount);
  EXPECT_EQ(t.describe(pa.limit), "4 slots");
}

TEST(ConsumerTreeTest, UnsetParentOwnedIsTheSumOfItsChildren) {
  TreeSpec spec;
  spec.consumers.push_back(Consumer("A", 1, 4));
  spec.consumers.push_back(
      Consumer("B", 4, -1, {Consumer("B1", 1, 4), Consumer("B2", 3, -1, {Consumer("x", 1, 5), Consumer("y", 1, 7)})}));
  const ConsumerTree t = Build(spec, kSlot, Slots(20));
  const auto plans = t.plans_at(kMonday, 0);
  EXPECT_EQ(plans[static_cast<std::size_t>(Find(t, "/B/B2"))].owned, Slots(12));
  EXPECT_EQ(plans[static_cast<std::size_t>(Find(t, "/B"))].owned, Slots(16));
  EXPECT_EQ(plans[ConsumerTree::kRoot].owned, Slots(20));
}

TEST(ConsumerTreeTest, DuplicateSiblingNamesNameThePathAndBothLines) {
  TreeSpec spec;
  spec.consumers.push_back(Consumer("A", 1, 1, {}, 3));
  spec.consumers.push_back(Consumer("A", 1, 1, {}, 7));
  ExpectBuildError(spec, "consumer /A (line 7): duplicate name 'A' under / (first defined at line 3)");
}

TEST(ConsumerTreeTest, DuplicateNestedNames) {
  TreeSpec spec;
  spec.consumers.push_back(Consumer("B", 1, -1, {Consumer("X", 1, 1, {}, 10), Consumer("X", 1, 1, {}, 12)}, 9));
  ExpectBuildError(spec, "consumer /B/X (line 12): duplicate name 'X' under /B (first defined at line 10)");
}

TEST(ConsumerTreeTest, DuplicateNamesWithoutLines) {
  TreeSpec spec;
  spec.consumers.push_back(Consumer("A", 1, 1));
  spec.consumers.push_back(Consumer("A", 1, 1));
  ExpectBuildError(spec, "consumer /A: duplicate name 'A' under /");
}

TEST(ConsumerTreeTest, SameNameUnderDifferentParentsIsFine) {
  TreeSpec spec;
  spec.consumers.push_back(Consumer("A", 1, -1, {Consumer("dev", 1, 1)}));
  spec.consumers.push_back(Consumer("B", 1, -1, {Consumer("dev", 1, 1)}));
  const ConsumerTree t = Build(spec);
  EXPECT_NE(Find(t, "/A/dev"), Find(t, "/B/dev"));
}

TEST(ConsumerTreeTest, ChildrenOwningMoreThanTheirParent) {
  TreeSpec spec;
  spec.consumers.push_back(Consumer("B", 1, 10, {Consumer("B1", 1, 6), Consumer("B2", 1, 6)}, 5));
  ExpectBuildError(spec, "consumer /B (line 5): children own 12 slots in total, more than the 10 slots owned by /B");
}

TEST(ConsumerTreeTest, TopLevelOwningMoreThanTheCapacity) {
  TreeSpec spec;
  spec.consumers.push_back(Consumer("A", 1, 8));
  spec.consumers.push_back(Consumer("B", 1, 16));
  ExpectBuildError(spec, "top-level consumers own 24 slots in total, more than the capacity of 20 slots", Slots(20));
  // Without a capacity there is nothing to check against.
  EXPECT_TRUE(ConsumerTree::build(spec, kSlot).is_ok());
  EXPECT_TRUE(ConsumerTree::build(spec, kSlot, Slots(24)).is_ok());
}

TEST(ConsumerTreeTest, CapacityInVectors) {
  TreeSpec spec;
  ConsumerSpec a = Consumer("A", 1, -1);
  a.plan.owned = AmountSpec::of_vector(Resources::cpu_mem(4000, 32768));
  spec.consumers.push_back(a);
  ExpectBuildError(spec,
                   "top-level consumers own cpu=4, memory=32Gi in total, more than the capacity of cpu=8, memory=16Gi",
                   Resources::cpu_mem(8000, 16384), Resources{});
}

TEST(ConsumerTreeTest, LimitBelowOwned) {
  TreeSpec spec;
  ConsumerSpec a = Consumer("A", 1, 8, {}, 2);
  a.plan.limit = AmountSpec::of_slots(4);
  spec.consumers.push_back(a);
  ExpectBuildError(spec, "consumer /A (line 2): limit (4 slots) is below owned (8 slots)");
}

TEST(ConsumerTreeTest, ReservedAboveOwned) {
  TreeSpec spec;
  ConsumerSpec a = Consumer("A", 1, 4);
  a.plan.reserved = AmountSpec::of_slots(6);
  spec.consumers.push_back(a);
  ExpectBuildError(spec, "consumer /A: reserved (6 slots) exceeds owned (4 slots)");
}

TEST(ConsumerTreeTest, ReservedWithUnsetOwnedIsAboveZero) {
  TreeSpec spec;
  ConsumerSpec a = Consumer("A", 1, -1, {}, 6);
  a.plan.reserved = AmountSpec::of_slots(1);
  spec.consumers.push_back(a);
  ExpectBuildError(spec, "consumer /A (line 6): reserved (1 slot) exceeds owned (0 slots)");
}

TEST(ConsumerTreeTest, ShareMustBePositive) {
  for (double share : {0.0, -1.0}) {
    TreeSpec spec;
    spec.consumers.push_back(Consumer("A", 1, 1));
    spec.consumers.push_back(Consumer("B", 1, 1, {}, 4));
    spec.consumers[1].plan.share = share;
    auto r = ConsumerTree::build(spec, kSlot);
    ASSERT_FALSE(r.is_ok()) << share;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(),
              "consumer /B (line 4): share must be a positive number, got " + std::string(share == 0 ? "0" : "-1"));
  }
}

TEST(ConsumerTreeTest, NegativeAmounts) {
  {
    TreeSpec spec;
    spec.consumers.push_back(Consumer("A", 1, -1, {}, 3));
    spec.consumers[0].plan.owned = AmountSpec::of_slots(-2);
    ExpectBuildError(spec,
                     "consumer /A (line 3): owned must be a non-negative number of slots, got " + std::to_string(-2.0));
  }
  {
    TreeSpec spec;
    spec.consumers.push_back(Consumer("A", 1, 4));
    spec.consumers[0].plan.limit = AmountSpec::of_vector(Resources::of(kCpu, -1000));
    ExpectBuildError(spec, "consumer /A: limit has a negative amount: cpu=-1");
  }
}

TEST(ConsumerTreeTest, BadNames) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "consumer / (line 2): name is empty"},
      {"a b", "consumer /a b (line 2): name 'a b' may contain only letters, digits, '_', '-' and '.'"},
      {"a/b", "consumer /a/b (line 2): name 'a/b' may contain only letters, digits, '_', '-' and '.'"},
      {"..", "consumer /.. (line 2): name '..' is reserved"},
      {".", "consumer /. (line 2): name '.' is reserved"},
  };
  for (const auto& [name, message] : cases) {
    TreeSpec spec;
    spec.consumers.push_back(Consumer(name, 1, 1, {}, 2));
    ExpectBuildError(spec, message);
  }
  TreeSpec ok;
  ok.consumers.push_back(Consumer("team-a_1.prod", 1, 1));
  EXPECT_TRUE(ConsumerTree::build(ok, kSlot).is_ok());
}

TEST(ConsumerTreeTest, NegativeGrace) {
  TreeSpec spec;
  spec.consumers.push_back(Consumer("A", 1, 1, {}, 8));
  spec.consumers[0].grace.per_class[static_cast<std::size_t>(SlaClass::kBatch)] = -1;
  ExpectBuildError(spec, "consumer /A (line 8): grace must not be negative");
}

// Office hours: A owns 12 and has share 3 from 08:00 to 18:00 on weekdays, else 4 and 1.
TreeSpec OfficeHours(int window_line = 0) {
  TreeSpec spec;
  ConsumerSpec a = Consumer("A", 1, 4, {}, 2);
  WindowPlanSpec w;
  w.window = *DailyWindow::parse("08:00-18:00", "mon-fri");
  w.plan.owned = AmountSpec::of_slots(12);
  w.plan.share = 3;
  w.line = window_line;
  a.windows.push_back(w);
  spec.consumers.push_back(a);
  spec.consumers.push_back(Consumer("B", 1, 8));
  return spec;
}

TEST(ConsumerTreeTest, WindowOverridesTheBasePlanWhileOpen) {
  const ConsumerTree t = Build(OfficeHours(), kSlot, Slots(20));
  EXPECT_TRUE(t.has_windows());
  const auto a = static_cast<std::size_t>(Find(t, "/A"));
  const auto b = static_cast<std::size_t>(Find(t, "/B"));
  const auto at_work = t.plans_at(At(0, 9), 0);
  EXPECT_EQ(at_work[a].owned, Slots(12));
  EXPECT_DOUBLE_EQ(at_work[a].share, 3.0);
  EXPECT_EQ(at_work[b].owned, Slots(8));
  EXPECT_EQ(at_work[ConsumerTree::kRoot].owned, Slots(20));
  const auto evening = t.plans_at(At(0, 19), 0);
  EXPECT_EQ(evening[a].owned, Slots(4));
  EXPECT_DOUBLE_EQ(evening[a].share, 1.0);
  EXPECT_EQ(evening[ConsumerTree::kRoot].owned, Slots(12));
  const auto saturday = t.plans_at(At(5, 9), 0);
  EXPECT_EQ(saturday[a].owned, Slots(4));
  // In UTC+1, 07:30 UTC is 08:30 local.
  EXPECT_EQ(t.plans_at(At(0, 7, 30), 60)[a].owned, Slots(12));
  EXPECT_EQ(t.plans_at(At(0, 7, 30), 0)[a].owned, Slots(4));
}

TEST(ConsumerTreeTest, NextPlanChangeFollowsWindowEdges) {
  const ConsumerTree t = Build(OfficeHours());
  EXPECT_EQ(t.next_plan_change(At(0, 0), 0), At(0, 8));
  EXPECT_EQ(t.next_plan_change(At(0, 8), 0), At(0, 18));
  EXPECT_EQ(t.next_plan_change(At(0, 0), 120), At(0, 6));
}

TEST(ConsumerTreeTest, FirstOpenWindowWins) {
  TreeSpec spec = OfficeHours();
  WindowPlanSpec late;
  late.window = *DailyWindow::parse("12:00-20:00", "");
  late.plan.owned = AmountSpec::of_slots(2);
  spec.consumers[0].windows.push_back(late);
  const ConsumerTree t = Build(spec);
  const auto a = static_cast<std::size_t>(Find(t, "/A"));
  EXPECT_EQ(t.plans_at(At(0, 13), 0)[a].owned, Slots(12));   // both open: the first
  EXPECT_EQ(t.plans_at(At(0, 19), 0)[a].owned, Slots(2));    // only the second
  EXPECT_DOUBLE_EQ(t.plans_at(At(0, 19), 0)[a].share, 1.0);  // unset in the window: from the base
}

TEST(ConsumerTreeTest, WindowBreakingCapacitySaysWhen) {
  // Fine at night (4 + 8), too much in office hours (12 + 10 > 20).
  TreeSpec spec = OfficeHours();
  spec.consumers[1].plan.owned = AmountSpec::of_slots(10);
  ExpectBuildError(spec,
                   "top-level consumers own 22 slots in total, more than the capacity of 20 slots on Monday at 08:00",
                   Slots(20));
}

TEST(ConsumerTreeTest, WindowBreakingTheChildrenSumRuleSaysWeekdayAndTime) {
  TreeSpec spec;
  ConsumerSpec b1 = Consumer("B1", 1, 4, {}, 6);
  WindowPlanSpec w;
  w.window = *DailyWindow::parse("20:30-22:00", "sun");
  w.plan.owned = AmountSpec::of_slots(8);
  b1.windows.push_back(w);
  spec.consumers.push_back(Consumer("B", 1, 10, {b1, Consumer("B2", 1, 4, {}, 7)}, 5));
  ExpectBuildError(spec,
                   "consumer /B (line 5): children own 12 slots in total, more than the 10 slots owned by /B on "
                   "Sunday at 20:30");
}

TEST(ConsumerTreeTest, WindowBreakingLimitSaysWhen) {
  TreeSpec spec = OfficeHours();
  spec.consumers[0].plan.limit = AmountSpec::of_slots(6);
  ExpectBuildError(spec, "consumer /A (line 2): limit (6 slots) is below owned (12 slots) on Monday at 08:00");
}

TEST(ConsumerTreeTest, BadWindowPlanNamesTheWindow) {
  TreeSpec spec = OfficeHours(9);
  spec.consumers[0].windows[0].plan.share = 0;
  ExpectBuildError(
      spec, "consumer /A (line 9) window 08:00-18:00 mon,tue,wed,thu,fri: share must be a positive number, got 0");
}

// Grace: nearest setting on the node or an ancestor, per class before "any", else the policy.
TEST(ConsumerTreeTest, GraceInheritance) {
  TreeSpec spec = Reference();
  spec.consumers[0].grace.any = 10'000;                                                   // /A
  spec.consumers[1].grace.per_class[static_cast<std::size_t>(SlaClass::kBatch)] = 5'000;  // /B
  spec.consumers[1].children[1].grace.any = 7'000;                                        // /B/B2
  spec.consumers[1].children[1].grace.per_class[static_cast<std::size_t>(SlaClass::kStreaming)] = 2'000;
  const ConsumerTree t = Build(spec);
  SlaPolicy policy;
  policy.grace_ms = {1'000, 3'000, 60'000};
  const int a = Find(t, "/A");
  const int b = Find(t, "/B");
  const int b1 = Find(t, "/B/B1");
  const int b2 = Find(t, "/B/B2");
  EXPECT_EQ(t.grace_ms(a, SlaClass::kBatch, policy), 10'000);
  EXPECT_EQ(t.grace_ms(a, SlaClass::kInteractive, policy), 10'000);
  EXPECT_EQ(t.grace_ms(b, SlaClass::kBatch, policy), 5'000);
  EXPECT_EQ(t.grace_ms(b, SlaClass::kStreaming, policy), 3'000);  // B names only batch
  EXPECT_EQ(t.grace_ms(b1, SlaClass::kBatch, policy), 5'000);     // from B
  EXPECT_EQ(t.grace_ms(b1, SlaClass::kInteractive, policy), 1'000);
  EXPECT_EQ(t.grace_ms(b2, SlaClass::kStreaming, policy), 2'000);
  EXPECT_EQ(t.grace_ms(b2, SlaClass::kBatch, policy), 7'000);  // B2's "any" is nearer than B's batch
  EXPECT_EQ(t.grace_ms(b2, SlaClass::kInteractive, policy), 7'000);
  EXPECT_EQ(t.grace_ms(ConsumerTree::kRoot, SlaClass::kBatch, policy), 60'000);
  EXPECT_EQ(t.grace_ms(b1, SlaClass::kBatch, SlaPolicy{}), 5'000);
  EXPECT_EQ(t.grace_ms(b1, SlaClass::kStreaming, SlaPolicy{}), 30'000);
}

TEST(ConsumerTreeTest, DescribeInSlots) {
  const ConsumerTree t = Build(Reference());
  EXPECT_EQ(t.describe(Slots(16)), "16 slots");
  EXPECT_EQ(t.describe(Slots(1)), "1 slot");
  EXPECT_EQ(t.describe(Resources{}), "0 slots");
  EXPECT_EQ(t.describe(Resources::of(kCpu, 1500)), "cpu=1.5");  // not a whole number of slots
  EXPECT_EQ(t.describe(unlimited_resources()), "unlimited");
}

TEST(ConsumerTreeTest, DescribeInVectors) {
  const ConsumerTree vectors = Build(TreeSpec{}, Resources{});
  EXPECT_EQ(vectors.describe(Resources::cpu_mem(4000, 16384)), "cpu=4, memory=16Gi");
  EXPECT_EQ(vectors.describe(Resources{}), "none");
  const ConsumerTree shaped = Build(TreeSpec{}, Resources::cpu_mem(1000, 4096));
  EXPECT_EQ(shaped.describe(Resources::cpu_mem(4000, 16384)), "4 slots");
  EXPECT_EQ(shaped.describe(Resources::cpu_mem(4000, 8192)), "cpu=4, memory=8Gi");  // not slot-shaped
}

}  // namespace
}  // namespace sched::core
