// The hosts behind the capacity: what each has, what is in use, which are
// drained, and the index that finds a host with room for a shape, packing
// or spreading by policy.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"
#include "core/resources.hpp"

namespace sched::core {

enum class PlacementPolicy : std::uint8_t {
  kPack,    // fill the fullest host that fits: fewer executors, more slot sharing
  kSpread,  // the emptiest host: less interference, smaller blast radius
};
Result<PlacementPolicy> parse_placement_policy(std::string_view name);
std::string_view placement_policy_name(PlacementPolicy p);

struct HostSpec {
  std::string name;
  Resources capacity;
  std::map<std::string, std::string> attributes;  // for later placement rules
};

struct Host {
  std::string name;
  Resources capacity;
  Resources used;  // by granted slots, revocations in flight included
  bool draining = false;
  bool up = true;
  std::map<std::string, std::string> attributes;
  bool schedulable() const { return up && !draining; }
  Resources free() const { return capacity - used; }
};

class HostPool {
 public:
  // Adds a host, or brings a removed one of the same name back (keeping its index).
  Result<int> add(const HostSpec& spec);
  // Marks the host gone. The caller has already taken its slots away.
  Status remove(std::string_view name);
  Status set_draining(std::string_view name, bool draining);
  // Changes a host's capacity (a resized node). Used slots stay.
  Status set_capacity(std::string_view name, const Resources& capacity);

  Result<int> find(std::string_view name) const;
  std::size_t size() const { return hosts_.size(); }
  const Host& host(int i) const { return hosts_[static_cast<std::size_t>(i)]; }

  // Capacity of the hosts that take new work (up, not draining).
  const Resources& schedulable_capacity() const { return schedulable_; }
  // Room left on those hosts.
  Resources free_total() const { return schedulable_ - schedulable_used_; }

  void use(int host, const Resources& r);
  void unuse(int host, const Resources& r);

  // How many `shape`s fit on host `i` now (0 when not schedulable).
  std::int64_t room_for(int i, const Resources& shape) const;
  // A schedulable host with room for one `shape`, chosen by `policy`, for
  // which `skip` (if given) is false; -1 if none. O(log hosts) per host
  // looked at: each shape asked for gets an index of the hosts with room.
  int find_fit(const Resources& shape, PlacementPolicy policy, const std::function<bool(int)>& skip = {});
  // Whether `shape` takes the host's kinds in the proportion the host has
  // them (filling it with such executors strands nothing).
  bool proportional(int host, const Resources& shape) const;
  // Goes up whenever some host gains room for `shape`: work waiting for room
  // of that shape need only be retried when it moved.
  std::uint64_t room_epoch(const Resources& shape);
  // How many `shape`s fit on all schedulable hosts together, host by host.
  std::int64_t total_room(const Resources& shape);
  // Free room on hosts where no executor shape asked for so far fits: free
  // in sum, but of no use to anyone until something there is released.
  const Resources& stranded() const { return stranded_; }

  // Keeps, on hosts with free units of a special kind (gpus, named
  // extras), the cpu, memory and other kinds those units need, away from
  // shapes that do not use the kind. keep[k] is the amount kept per
  // keep[k][k] free units of kind k (zero: nothing kept for k). The caller
  // sets it while work of that kind waits: without it, work that needs no
  // gpu takes the cpu of gpu hosts, and gpu executors then fit nowhere
  // although the gpus are free (Mesos keeps such frameworks off gpu agents
  // altogether). Hosts with a changed kind are reindexed.
  using Keep = std::array<Resources, kMaxResourceKinds>;
  void set_keep(const Keep& keep);
  const Keep& keep() const { return keep_; }

 private:
  // Schedulable hosts with room for one shape, by how many fit (pack takes
  // the fewest, spread the most). Executor shapes are few; each has one.
  struct ShapeIndex {
    Resources shape;
    std::vector<std::int64_t> room;  // per host
    // (class, room >= 1, host): class 1 for hosts with kinds the shape does
    // not use (gpus, extras), so they are taken for it last.
    std::set<std::tuple<int, std::int64_t, int>> by_room;
    std::int64_t total = 0;
    std::uint64_t epoch = 1;
  };
  ShapeIndex& index_for(const Resources& shape);
  void reindex(int host);
  void restrand(int host);
  int host_class(int host, const Resources& shape) const;
  // How uneven the host's free room would be after taking `shape`: the
  // spread of free fractions across the kinds it has (0: balanced).
  double imbalance_after(int host, const Resources& shape) const;

  std::vector<Host> hosts_;
  std::unordered_map<std::string, int> by_name_;
  std::vector<ShapeIndex> shapes_;
  std::map<std::array<std::int64_t, kMaxResourceKinds>, std::size_t> shape_ids_;
  Resources schedulable_;
  Resources schedulable_used_;
  std::vector<Resources> stranded_by_host_;
  Resources stranded_;
  Keep keep_{};
  bool keeping_ = false;
};

}  // namespace sched::core
