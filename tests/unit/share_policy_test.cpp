// Unit tests of the hybrid share policy on its own: one sibling group's split, no hosts, no sessions.
#include "core/share_policy.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

namespace sched::core {
namespace {

Resources res(double cores, double gib) {
  return Resources::cpu_mem(std::llround(cores * 1000), std::llround(gib * 1024));
}
FracResources frac(double cores, double gib) {
  return FracResources(res(cores, gib));
}

std::unique_ptr<SharePolicy> hybrid() {
  auto p = make_share_policy("hybrid", RebalanceRule{});
  EXPECT_TRUE(p.is_ok());
  return p.is_ok() ? std::move(*p) : nullptr;
}

// One host's worth, 16 cores and 64 GiB. A owns 8 cores and 32 GiB and
// runs executors of 2 cores + 1 GiB; B owns nothing and runs executors of
// 1 core + 8 GiB. Both want far more than there is.
struct TwoTenants {
  FracResources capacity = frac(16, 64);
  DominantShare norm{res(16, 64)};
  std::vector<ChildShare> children;
  TwoTenants(const FracResources& a_holds, const FracResources& b_holds) : children(2) {
    ChildShare& a = children[0];
    a.demand = frac(100, 400);
    a.hold = a_holds;
    a.owned = frac(8, 32);
    a.unit = res(2, 1);
    ChildShare& b = children[1];
    b.demand = frac(100, 800);
    b.hold = b_holds;
    b.unit = res(1, 8);
  }
};

// A holds 12 cores (4 borrowed) and 16 GiB: half the cluster's cores, its
// guarantee's dominant share. The 16 GiB of owned memory it does not hold
// is no deficit (YARN's fair scheduler judges min share the same way under
// DRF): its executors' mix may never use it, and cutting the borrower for
// it revoked executors pass after pass.
TEST(HybridSharePolicy, AnOwnerHoldingItsGuaranteesDominantShareCutsNobody) {
  TwoTenants t(frac(12, 16), frac(4, 48));
  hybrid()->distribute(t.capacity, t.norm, t.children);
  const ChildShare& b = t.children[1];
  EXPECT_EQ(b.cut_reason, Reason::kNone);
  EXPECT_TRUE(b.hold.fits_in(b.target, 1e-6)) << "B keeps what it borrows";
  EXPECT_TRUE(t.children[0].hold.fits_in(t.children[0].target, 1e-6));
}

// Below its guarantee's dominant share, the owner takes borrowings back.
TEST(HybridSharePolicy, AnOwnerShortOfItsDominantShareCutsTheBorrower) {
  TwoTenants t(frac(4, 4), frac(12, 60));
  hybrid()->distribute(t.capacity, t.norm, t.children);
  const ChildShare& a = t.children[0];
  const ChildShare& b = t.children[1];
  EXPECT_EQ(b.cut_reason, Reason::kOwnership);
  EXPECT_EQ(b.beneficiary, 0);
  EXPECT_TRUE(frac(8, 32).fits_in(a.target, 1e-6)) << "A's whole guarantee";
  EXPECT_TRUE((a.target + b.target).fits_in(t.capacity, 1e-6));
}

}  // namespace
}  // namespace sched::core
