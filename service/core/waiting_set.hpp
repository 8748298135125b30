// Sessions waiting for room, grouped by executor shape: a pass looks only at
// the groups whose shape gained room since they were last tried, and at the
// members whose wait just began, instead of at every waiting session.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "core/resources.hpp"

namespace sched::core {

class WaitingSet {
 public:
  struct Group {
    Resources shape;
    std::set<int> members;            // session indices
    std::uint64_t tried_epoch = 0;    // the host pool's room epoch when last placed
    std::uint64_t tried_reclaim = 0;  // the revocation epoch when last reclaimed for
  };

  // No-op if already there (with the same shape).
  void insert(int session, const Resources& shape) {
    if (where_.count(session) != 0) return;
    std::array<std::int64_t, kMaxResourceKinds> key{};
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) key[k] = shape[k];
    auto it = by_shape_.find(key);
    std::size_t g = 0;
    if (it == by_shape_.end()) {
      g = groups_.size();
      groups_.push_back(Group{shape, {}, 0, 0});
      by_shape_[key] = g;
    } else {
      g = it->second;
    }
    groups_[g].members.insert(session);
    where_[session] = g;
    fresh_.insert(session);
  }
  // No-op if absent.
  void erase(int session) {
    auto it = where_.find(session);
    if (it == where_.end()) return;
    groups_[it->second].members.erase(session);
    where_.erase(it);
    fresh_.erase(session);
  }
  // Marks a member as needing a look this pass (its target changed).
  void touch(int session) {
    if (where_.count(session) != 0) fresh_.insert(session);
  }
  bool contains(int session) const { return where_.count(session) != 0; }
  // The member's group (an index into groups()), or -1.
  int group_of(int session) const {
    auto it = where_.find(session);
    return it == where_.end() ? -1 : static_cast<int>(it->second);
  }
  bool empty() const { return where_.empty(); }
  std::size_t size() const { return where_.size(); }
  bool fresh(int session) const { return fresh_.count(session) != 0; }
  const std::set<int>& fresh_members() const { return fresh_; }
  void clear_fresh() { fresh_.clear(); }
  std::vector<Group>& groups() { return groups_; }
  const std::vector<Group>& groups() const { return groups_; }

 private:
  std::vector<Group> groups_;
  std::map<std::array<std::int64_t, kMaxResourceKinds>, std::size_t> by_shape_;
  std::unordered_map<int, std::size_t> where_;
  std::set<int> fresh_;
};

}  // namespace sched::core
