// Sessions waiting for room, grouped by executor shape: a pass looks only at
// the groups whose shape gained room since they were last tried, and at the
// members whose wait just began, instead of at every waiting session.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "core/resources.hpp"

namespace sched::core {

class WaitingSet {
 public:
  struct Group {
    Resources shape;
    std::set<int> members;            // session indices, in order: who is looked at first
    std::uint64_t tried_epoch = 0;    // the host pool's room epoch when last placed
    std::uint64_t tried_reclaim = 0;  // the revocation epoch when last reclaimed for
  };

  // No-op if already there (with the same shape).
  void insert(int session, const Resources& shape) {
    if (contains(session)) return;
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
    slot(session).group = static_cast<int>(g);
    ++size_;
    touch(session);
  }
  // No-op if absent.
  void erase(int session) {
    if (!contains(session)) return;
    Entry& e = entries_[static_cast<std::size_t>(session)];
    groups_[static_cast<std::size_t>(e.group)].members.erase(session);
    e.group = -1;
    e.fresh = false;
    --size_;
  }
  // Marks a member as needing a look this pass (its target changed).
  void touch(int session) {
    if (!contains(session)) return;
    Entry& e = entries_[static_cast<std::size_t>(session)];
    e.fresh = true;
    if (!e.listed) fresh_list_.push_back(session);
    e.listed = true;
  }
  bool contains(int session) const { return group_of(session) >= 0; }
  // The member's group (an index into groups()), or -1.
  int group_of(int session) const {
    const auto i = static_cast<std::size_t>(session);
    return i < entries_.size() ? entries_[i].group : -1;
  }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  bool fresh(int session) const {
    const auto i = static_cast<std::size_t>(session);
    return i < entries_.size() && entries_[i].fresh;
  }
  // Calls f(session) for every fresh member.
  template <typename F>
  void for_each_fresh(F&& f) const {
    for (int si : fresh_list_)
      if (fresh(si)) f(si);
  }
  void clear_fresh() {
    for (int si : fresh_list_) {
      Entry& e = entries_[static_cast<std::size_t>(si)];
      e.fresh = false;
      e.listed = false;
    }
    fresh_list_.clear();
  }
  std::vector<Group>& groups() { return groups_; }
  const std::vector<Group>& groups() const { return groups_; }

 private:
  // Per session index (they are dense and reused): a vector, not a map, as
  // every pass asks about many of them.
  struct Entry {
    int group = -1;
    bool fresh = false;
    bool listed = false;  // in fresh_list_ (which is cleared only with the fresh marks)
  };
  Entry& slot(int session) {
    const auto i = static_cast<std::size_t>(session);
    if (i >= entries_.size()) entries_.resize(i + 1);
    return entries_[i];
  }

  std::vector<Group> groups_;
  std::map<std::array<std::int64_t, kMaxResourceKinds>, std::size_t> by_shape_;
  std::vector<Entry> entries_;
  std::vector<int> fresh_list_;  // fresh members once each, and some that no longer are
  std::size_t size_ = 0;
};

}  // namespace sched::core
