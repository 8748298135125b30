// Unit tests of HostPlacements: which sessions hold slots on each host.
#include "core/host_placements.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace sched::core {
namespace {

std::vector<int> sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(HostPlacements, ListsTheSessionsOnEachHost) {
  HostPlacements p;
  EXPECT_TRUE(p.on(0).empty());
  EXPECT_TRUE(p.on(7).empty()) << "a host never seen has nobody on it";
  p.add(2, 10);
  p.add(2, 11);
  p.add(0, 10);
  EXPECT_EQ(sorted(p.on(2)), (std::vector<int>{10, 11}));
  EXPECT_EQ(p.on(0), (std::vector<int>{10}));
  EXPECT_TRUE(p.on(1).empty());
}

TEST(HostPlacements, RemovesOnlyWhatIsThere) {
  HostPlacements p;
  p.add(1, 3);
  p.add(1, 4);
  p.add(1, 5);
  p.remove(1, 4);
  EXPECT_EQ(sorted(p.on(1)), (std::vector<int>{3, 5}));
  p.remove(1, 4);  // already gone
  p.remove(9, 3);  // a host never seen
  EXPECT_EQ(sorted(p.on(1)), (std::vector<int>{3, 5}));
  p.remove(1, 3);
  p.remove(1, 5);
  EXPECT_TRUE(p.on(1).empty());
}

}  // namespace
}  // namespace sched::core
