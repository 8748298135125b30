// FillIndex: per-node, per-shape counts of hungry sessions (see the header).
#include "core/fill_index.hpp"

#include <algorithm>

#include "core/consumer_tree.hpp"

namespace sched::core {

void FillIndex::reset(const ConsumerTree& tree) {
  counts_.clear();
  members_.assign(tree.size(), {});
}

void FillIndex::add(int session, int group, int leaf, const ConsumerTree& tree) {
  const auto g = static_cast<std::size_t>(group);
  if (g >= counts_.size()) counts_.resize(g + 1, std::vector<int>(members_.size(), 0));
  for (int n = leaf; n >= 0; n = tree.node(n).parent) ++counts_[g][static_cast<std::size_t>(n)];
  members_[static_cast<std::size_t>(leaf)].push_back({session, group});
}

void FillIndex::remove(int session, int group, int leaf, const ConsumerTree& tree) {
  auto& list = members_[static_cast<std::size_t>(leaf)];
  auto it = std::find_if(list.begin(), list.end(), [&](const Member& m) { return m.session == session; });
  if (it == list.end()) return;
  *it = list.back();
  list.pop_back();
  const auto g = static_cast<std::size_t>(group);
  for (int n = leaf; n >= 0; n = tree.node(n).parent) --counts_[g][static_cast<std::size_t>(n)];
}

}  // namespace sched::core
