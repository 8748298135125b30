// Tests HostPromises: revocations in flight by host, and the list of hosts that have any.
#include "core/host_promises.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace sched::core {
namespace {

std::vector<int> Sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(HostPromises, ListsHostsWhileTheyHaveRevocations) {
  HostPromises p;
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.on(3), nullptr);
  p.add(3, 10);
  p.add(7, 11);
  p.add(3, 12);
  EXPECT_FALSE(p.empty());
  EXPECT_EQ(Sorted(p.hosts()), (std::vector<int>{3, 7}));
  ASSERT_NE(p.on(3), nullptr);
  EXPECT_EQ(*p.on(3), (std::vector<std::uint64_t>{10, 12}));

  p.remove(3, 10);
  EXPECT_EQ(*p.on(3), (std::vector<std::uint64_t>{12}));
  p.remove(3, 99);  // not there
  p.remove(42, 1);  // a host never seen
  p.remove(3, 12);
  EXPECT_EQ(p.on(3), nullptr);
  EXPECT_EQ(p.hosts(), (std::vector<int>{7}));
  p.remove(7, 11);
  EXPECT_TRUE(p.empty());
  p.add(3, 13);  // back again
  EXPECT_EQ(p.hosts(), (std::vector<int>{3}));
}

}  // namespace
}  // namespace sched::core
