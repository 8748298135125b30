// Which sessions hold slots on each host. Whatever looks at one host's
// executors (reclaim that makes room on a host, a host lost or shrunk) reads
// them here instead of scanning every session's placements.
#pragma once

#include <vector>

namespace sched::core {

class HostPlacements {
 public:
  // `session` now has a placement on `host` (it had none there).
  void add(int host, int session);
  // Its placement on `host` is gone. No-op if it is not there.
  void remove(int host, int session);
  // The sessions with a placement on `host`, in no particular order.
  const std::vector<int>& on(int host) const {
    const auto h = static_cast<std::size_t>(host);
    return h < by_host_.size() ? by_host_[h] : kNone;
  }

 private:
  static const std::vector<int> kNone;
  std::vector<std::vector<int>> by_host_;
};

}  // namespace sched::core
