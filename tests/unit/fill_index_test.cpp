// Tests FillIndex: hungry sessions counted per node and shape group as they come and go.
#include "core/fill_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/consumer_tree.hpp"

namespace sched::core {
namespace {

ConsumerSpec Leaf(std::string name) {
  ConsumerSpec c;
  c.name = std::move(name);
  c.plan.share = 1;
  return c;
}

// /A/{A1,A2}, /B: node indices looked up by path.
ConsumerTree Tree() {
  TreeSpec t;
  ConsumerSpec a = Leaf("A");
  a.children = {Leaf("A1"), Leaf("A2")};
  t.consumers = {a, Leaf("B")};
  auto r = ConsumerTree::build(t, Resources::of(kCpu, 1000));
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return std::move(*r);
}

int At(const ConsumerTree& t, const std::string& path) {
  return *t.find(path);
}

TEST(FillIndex, CountsEveryNodeOnTheLeafsPathPerGroup) {
  const ConsumerTree t = Tree();
  FillIndex x;
  x.reset(t);
  const int a1 = At(t, "/A/A1");
  const int a2 = At(t, "/A/A2");
  const int b = At(t, "/B");
  x.add(10, 0, a1, t);
  x.add(11, 1, a1, t);
  x.add(12, 0, a2, t);
  x.add(13, 0, b, t);
  EXPECT_EQ(x.count(0, a1), 1);
  EXPECT_EQ(x.count(1, a1), 1);
  EXPECT_EQ(x.count(0, At(t, "/A")), 2);
  EXPECT_EQ(x.count(1, At(t, "/A")), 1);
  EXPECT_EQ(x.count(0, ConsumerTree::kRoot), 3);
  EXPECT_EQ(x.count(1, b), 0);
  EXPECT_EQ(x.count(7, b), 0);  // a group never seen counts nothing
  EXPECT_EQ(x.members(a1).size(), 2u);

  x.remove(10, 0, a1, t);
  EXPECT_EQ(x.count(0, a1), 0);
  EXPECT_EQ(x.count(0, ConsumerTree::kRoot), 2);
  ASSERT_EQ(x.members(a1).size(), 1u);
  EXPECT_EQ(x.members(a1)[0].session, 11);
  EXPECT_EQ(x.members(a1)[0].group, 1);

  x.remove(10, 0, a1, t);  // not there: nothing changes
  EXPECT_EQ(x.count(0, ConsumerTree::kRoot), 2);
}

TEST(FillIndex, ResetForgetsEverything) {
  const ConsumerTree t = Tree();
  FillIndex x;
  x.reset(t);
  x.add(1, 2, At(t, "/B"), t);
  x.reset(t);
  EXPECT_EQ(x.count(2, ConsumerTree::kRoot), 0);
  EXPECT_TRUE(x.members(At(t, "/B")).empty());
}

// Random adds and removes agree with counting the members by hand.
TEST(FillIndex, RandomChurnMatchesARecount) {
  const ConsumerTree t = Tree();
  const std::vector<int> leaves = {At(t, "/A/A1"), At(t, "/A/A2"), At(t, "/B")};
  FillIndex x;
  x.reset(t);
  struct In {
    int session, group, leaf;
  };
  std::vector<In> in;
  std::mt19937 rng(7);
  for (int step = 0; step < 2000; ++step) {
    if (in.empty() || rng() % 2 == 0) {
      const In e{step, static_cast<int>(rng() % 3), leaves[rng() % leaves.size()]};
      x.add(e.session, e.group, e.leaf, t);
      in.push_back(e);
    } else {
      const std::size_t i = rng() % in.size();
      x.remove(in[i].session, in[i].group, in[i].leaf, t);
      in.erase(in.begin() + static_cast<long>(i));
    }
  }
  for (int g = 0; g < 3; ++g) {
    for (std::size_t n = 0; n < t.size(); ++n) {
      int want = 0;
      for (const In& e : in) {
        for (int m = e.leaf; m >= 0; m = t.node(m).parent)
          if (m == static_cast<int>(n) && e.group == g) ++want;
      }
      EXPECT_EQ(x.count(g, static_cast<int>(n)), want) << "group " << g << " node " << t.node(static_cast<int>(n)).path;
    }
  }
}

}  // namespace
}  // namespace sched::core
