// Unit tests of the leaf split on its own: one consumer's allocation among its sessions, no hosts.
#include "core/session_split.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sched::core {
namespace {

SessionClaim claim(SlaClass sla, int order, const Resources& shape, std::int64_t want, std::int64_t hold) {
  SessionClaim c;
  c.sla = sla;
  c.order = order;
  c.shape = shape;
  c.want = want;
  c.hold = hold;
  return c;
}

const Resources kSmall = Resources::cpu_mem(1'000, 4 * 1024);
const Resources kLarge = Resources::cpu_mem(2'000, 8 * 1024);
const DominantShare kNorm(Resources::cpu_mem(40'000, 160 * 1024));

// A batch session of small executors and an interactive one of large ones,
// split over `allocatable` (`inherited`: why the leaf itself lost capacity).
std::vector<SessionClaim> split(std::int64_t batch_want, std::int64_t batch_hold, std::int64_t interactive_want,
                                std::int64_t interactive_hold, const Resources& allocatable, Reason inherited) {
  std::vector<SessionClaim> claims = {
      claim(SlaClass::kBatch, 0, kSmall, batch_want, batch_hold),
      claim(SlaClass::kInteractive, 1, kLarge, interactive_want, interactive_hold),
  };
  SessionSplitter splitter;
  splitter.split(FracResources(allocatable), kNorm, inherited, claims);
  return claims;
}

// A leaf that lost capacity to another consumer keeps a batch session's
// small slot and an interactive session's large one. The interactive
// session wants more, but what the batch session holds beyond its target is
// not enough for one more large executor: the batch session's cut stays the
// consumer's loss, not a preemption for a session it cannot help (which a
// lower class would win back on the same pass, leaving the cut for nobody).
TEST(SessionSplitter, ATakeThatMakesNoExecutorIsUndone) {
  const auto claims = split(26, 3, 23, 2, Resources::cpu_mem(3'000, 12 * 1024), Reason::kOwnership);
  EXPECT_EQ(claims[1].target, 1);
  EXPECT_EQ(claims[0].target, 1);
  EXPECT_EQ(claims[0].reason, Reason::kOwnership);
  EXPECT_EQ(claims[0].beneficiary, -1);
}

// With room for a whole executor, the interactive session takes the batch
// session's slots, and the cut names it.
TEST(SessionSplitter, AHigherClassTakesWhatMakesAnExecutor) {
  const auto claims = split(4, 4, 1, 0, Resources::cpu_mem(4'000, 16 * 1024), Reason::kNone);
  EXPECT_EQ(claims[1].target, 1);
  EXPECT_EQ(claims[0].target, 2);
  EXPECT_EQ(claims[0].reason, Reason::kSlaPriority);
  EXPECT_EQ(claims[0].beneficiary, 1);
}

}  // namespace
}  // namespace sched::core
