// Host bookkeeping and the free-capacity index.
#include "core/host_pool.hpp"

namespace sched::core {

Result<PlacementPolicy> parse_placement_policy(std::string_view name) {
  if (name == "pack") return PlacementPolicy::kPack;
  if (name == "spread") return PlacementPolicy::kSpread;
  return Status::invalid_argument("unknown placement policy '" + std::string(name) + "' (expected pack or spread)");
}

std::string_view placement_policy_name(PlacementPolicy p) { return p == PlacementPolicy::kPack ? "pack" : "spread"; }

Result<int> HostPool::add(const HostSpec& spec) {
  if (spec.name.empty()) return Status::invalid_argument("host name is empty");
  if (spec.capacity.any_negative()) return Status::invalid_argument("host " + spec.name + ": negative capacity");
  if (auto it = by_name_.find(spec.name); it != by_name_.end()) {
    Host& h = hosts_[static_cast<std::size_t>(it->second)];
    if (h.up) return Status::already_exists("host " + spec.name + " already exists");
    h.up = true;
    h.draining = false;
    h.capacity = spec.capacity;
    h.used = Resources{};
    h.attributes = spec.attributes;
    index_insert(it->second);
    return it->second;
  }
  const int i = static_cast<int>(hosts_.size());
  hosts_.push_back(Host{spec.name, spec.capacity, {}, false, true, spec.attributes});
  by_name_[spec.name] = i;
  index_insert(i);
  return i;
}

Status HostPool::remove(std::string_view name) {
  auto i = find(name);
  if (!i) return i.status();
  Host& h = hosts_[static_cast<std::size_t>(*i)];
  if (!h.up) return Status::not_found("host " + std::string(name) + " is already gone");
  index_erase(*i);
  h.up = false;
  h.used = Resources{};
  return Status::ok();
}

Status HostPool::set_draining(std::string_view name, bool draining) {
  auto i = find(name);
  if (!i) return i.status();
  Host& h = hosts_[static_cast<std::size_t>(*i)];
  if (!h.up) return Status::failed_precondition("host " + std::string(name) + " is gone");
  if (h.draining == draining) return Status::ok();
  index_erase(*i);
  h.draining = draining;
  index_insert(*i);
  return Status::ok();
}

Status HostPool::set_capacity(std::string_view name, const Resources& capacity) {
  if (capacity.any_negative()) return Status::invalid_argument("host " + std::string(name) + ": negative capacity");
  auto i = find(name);
  if (!i) return i.status();
  index_erase(*i);
  hosts_[static_cast<std::size_t>(*i)].capacity = capacity;
  index_insert(*i);
  return Status::ok();
}

Result<int> HostPool::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return Status::not_found("unknown host '" + std::string(name) + "'");
  return it->second;
}

void HostPool::use(int i, const Resources& r) {
  Host& h = hosts_[static_cast<std::size_t>(i)];
  const bool indexed = h.schedulable();
  if (indexed) {
    by_free_cpu_.erase({h.free()[kCpu], i});
    schedulable_used_ += r;
  }
  h.used += r;
  if (indexed) by_free_cpu_.insert({h.free()[kCpu], i});
}

void HostPool::unuse(int i, const Resources& r) {
  Host& h = hosts_[static_cast<std::size_t>(i)];
  const bool indexed = h.schedulable();
  if (indexed) {
    by_free_cpu_.erase({h.free()[kCpu], i});
    schedulable_used_ -= r;
  }
  h.used -= r;
  if (indexed) by_free_cpu_.insert({h.free()[kCpu], i});
}

std::int64_t HostPool::room_for(int i, const Resources& shape) const {
  const Host& h = hosts_[static_cast<std::size_t>(i)];
  if (!h.schedulable()) return 0;
  return h.free().count_of(shape);
}

int HostPool::find_fit(const Resources& shape, PlacementPolicy policy, const std::function<bool(int)>& skip) const {
  auto ok = [&](int h) {
    if (skip && skip(h)) return false;
    return shape.fits_in(hosts_[static_cast<std::size_t>(h)].free());
  };
  if (policy == PlacementPolicy::kPack) {
    for (auto it = by_free_cpu_.lower_bound({shape[kCpu], -1}); it != by_free_cpu_.end(); ++it)
      if (ok(it->second)) return it->second;
    return -1;
  }
  for (auto it = by_free_cpu_.rbegin(); it != by_free_cpu_.rend() && it->first >= shape[kCpu]; ++it)
    if (ok(it->second)) return it->second;
  return -1;
}

void HostPool::index_insert(int i) {
  const Host& h = hosts_[static_cast<std::size_t>(i)];
  if (!h.schedulable()) return;
  by_free_cpu_.insert({h.free()[kCpu], i});
  schedulable_ += h.capacity;
  schedulable_used_ += h.used;
}

void HostPool::index_erase(int i) {
  const Host& h = hosts_[static_cast<std::size_t>(i)];
  if (!h.schedulable()) return;
  by_free_cpu_.erase({h.free()[kCpu], i});
  schedulable_ -= h.capacity;
  schedulable_used_ -= h.used;
}

}  // namespace sched::core
