// The revocations in flight on each host: the room they free is promised to
// their claimants. Looked up per host on every placement while any exist,
// so kept in a vector by host index, with the list of hosts that have any.
#pragma once

#include <cstdint>
#include <vector>

namespace sched::core {

class HostPromises {
 public:
  void add(int host, std::uint64_t revocation);
  // No-op if it is not there.
  void remove(int host, std::uint64_t revocation);
  // The revocations on `host`, or nullptr when there are none.
  const std::vector<std::uint64_t>* on(int host) const {
    const auto h = static_cast<std::size_t>(host);
    return h < by_host_.size() && !by_host_[h].empty() ? &by_host_[h] : nullptr;
  }
  bool empty() const { return hosts_.empty(); }
  // Hosts with a revocation on them, in no particular order.
  const std::vector<int>& hosts() const { return hosts_; }

 private:
  std::vector<std::vector<std::uint64_t>> by_host_;
  std::vector<int> hosts_;
  std::vector<int> where_;  // host -> its index in hosts_, or -1
};

}  // namespace sched::core
