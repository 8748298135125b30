// HostPromises: revocations in flight by host (see the header).
#include "core/host_promises.hpp"

#include <algorithm>

namespace sched::core {

void HostPromises::add(int host, std::uint64_t revocation) {
  const auto h = static_cast<std::size_t>(host);
  if (h >= by_host_.size()) {
    by_host_.resize(h + 1);
    where_.resize(h + 1, -1);
  }
  if (by_host_[h].empty()) {
    where_[h] = static_cast<int>(hosts_.size());
    hosts_.push_back(host);
  }
  by_host_[h].push_back(revocation);
}

void HostPromises::remove(int host, std::uint64_t revocation) {
  const auto h = static_cast<std::size_t>(host);
  if (h >= by_host_.size()) return;
  std::vector<std::uint64_t>& ids = by_host_[h];
  auto it = std::find(ids.begin(), ids.end(), revocation);
  if (it == ids.end()) return;
  ids.erase(it);
  if (!ids.empty()) return;
  // Last one gone: the host leaves the list (the last entry takes its place).
  const int at = where_[h];
  const int moved = hosts_.back();
  hosts_[static_cast<std::size_t>(at)] = moved;
  where_[static_cast<std::size_t>(moved)] = at;
  hosts_.pop_back();
  where_[h] = -1;
}

}  // namespace sched::core
