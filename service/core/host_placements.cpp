// Which sessions hold slots on each host: kept per host in small vectors (a
// host runs a few executors), so adding and removing cost a few compares.
#include "core/host_placements.hpp"

#include <algorithm>

namespace sched::core {

const std::vector<int> HostPlacements::kNone;

void HostPlacements::add(int host, int session) {
  const auto h = static_cast<std::size_t>(host);
  if (h >= by_host_.size()) by_host_.resize(h + 1);
  by_host_[h].push_back(session);
}

void HostPlacements::remove(int host, int session) {
  const auto h = static_cast<std::size_t>(host);
  if (h >= by_host_.size()) return;
  auto& list = by_host_[h];
  auto it = std::find(list.begin(), list.end(), session);
  if (it == list.end()) return;
  *it = list.back();
  list.pop_back();
}

}  // namespace sched::core
