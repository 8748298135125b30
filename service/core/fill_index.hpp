// Hungry sessions counted per consumer node and executor shape, kept as they
// come and go, so the fill walks straight down to the least-served leaf that
// has one instead of ranking every hungry session on every pass.
#pragma once

#include <cstdint>
#include <vector>

namespace sched::core {

class ConsumerTree;

class FillIndex {
 public:
  // Forgets everything and sizes the index to `tree` (its node indices).
  void reset(const ConsumerTree& tree);
  // `session` (of shape group `group`, in leaf `leaf` of `tree`, the tree
  // it was reset to) became hungry or stopped being hungry. Every node on
  // the leaf's path counts it.
  void add(int session, int group, int leaf, const ConsumerTree& tree);
  void remove(int session, int group, int leaf, const ConsumerTree& tree);

  // Hungry sessions of `group` at or below `node`.
  int count(int group, int node) const {
    const auto g = static_cast<std::size_t>(group);
    return g < counts_.size() ? counts_[g][static_cast<std::size_t>(node)] : 0;
  }
  struct Member {
    int session;
    int group;
  };
  // A leaf's hungry sessions, in no order.
  const std::vector<Member>& members(int leaf) const { return members_[static_cast<std::size_t>(leaf)]; }

 private:
  std::vector<std::vector<int>> counts_;      // [group][node]
  std::vector<std::vector<Member>> members_;  // [leaf]
};

}  // namespace sched::core
