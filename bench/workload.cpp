// Seeded generation of the benchmark cluster: hosts, a three-level consumer tree that validates, and sessions.
#include "workload.hpp"

#include <algorithm>
#include <cstdio>

namespace sched::bench {
namespace {

using core::kCpu;
using core::kGpu;
using core::kMemory;
using core::Resources;

constexpr std::int64_t kGiB = 1024;  // memory is in MiB

Resources shape(std::int64_t cores, std::int64_t mem_gib, std::int64_t gpus = 0) {
  Resources r = Resources::cpu_mem(cores * 1000, mem_gib * kGiB);
  r[kGpu] = gpus * 1000;
  return r;
}

// Splits `amount` (cpu and memory only) into parts proportional to `weights`, rounding down so that the parts
// never sum above the amount: the tree validator checks children's owned <= parent's owned exactly.
std::vector<Resources> split_owned(const Resources& amount, const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  std::vector<Resources> out(weights.size());
  for (std::size_t i = 0; i < weights.size(); ++i) {
    for (core::ResourceKind k : {kCpu, kMemory}) {
      out[i][k] = static_cast<std::int64_t>(static_cast<double>(amount[k]) * weights[i] / total);
    }
  }
  return out;
}

}  // namespace

const std::vector<ShapeMix>& shape_mix() {
  // The four cpu/memory shapes average 4 GiB per core, the same ratio as the hosts, so neither kind is idle by
  // construction; the gpu shape needs a gpu host.
  static const std::vector<ShapeMix> mix = {
      {"cpu1-mem4Gi", shape(1, 4), 0.30},           {"cpu2-mem8Gi", shape(2, 8), 0.25},
      {"cpu4-mem8Gi", shape(4, 8), 0.20},           {"cpu2-mem16Gi", shape(2, 16), 0.20},
      {"cpu4-mem16Gi-gpu1", shape(4, 16, 1), 0.05},
  };
  return mix;
}

Resources workload_slot() {
  return shape(1, 4);
}

Workload generate_workload(const WorkloadConfig& config) {
  Workload w;
  w.config = config;
  std::mt19937 rng(config.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  // Hosts: the gpu hosts are spread evenly rather than drawn, so the gpu capacity is exact for any seed.
  const int gpu_every = config.gpu_host_fraction > 0 ? static_cast<int>(1.0 / config.gpu_host_fraction + 0.5) : 0;
  w.hosts.reserve(static_cast<std::size_t>(config.hosts));
  for (int i = 0; i < config.hosts; ++i) {
    core::HostSpec h;
    char name[32];
    std::snprintf(name, sizeof name, "host-%05d", i);
    h.name = name;
    const bool gpu = gpu_every > 0 && i % gpu_every == 0;
    h.capacity = shape(config.host_cores, config.host_memory_gib, gpu ? config.gpus_per_gpu_host : 0);
    w.capacity += h.capacity;
    w.hosts.push_back(std::move(h));
  }

  // The tree. Owned amounts are vectors (cpu + memory; gpus are shared by share alone) so they do not depend
  // on the slot.
  GenNode root;
  root.path = "/";
  w.nodes.push_back(root);
  std::uniform_int_distribution<int> share_dist(1, 4);
  auto weights = [&](int n) {
    std::vector<double> v(static_cast<std::size_t>(n));
    for (double& x : v) x = 0.5 + unit(rng);
    return v;
  };
  Resources top_pool;
  top_pool[kCpu] = static_cast<std::int64_t>(static_cast<double>(w.capacity[kCpu]) * config.top_owned_fraction);
  top_pool[kMemory] = static_cast<std::int64_t>(static_cast<double>(w.capacity[kMemory]) * config.top_owned_fraction);

  // Builds the children of generator node `parent` (and their ConsumerSpecs) level by level.
  auto make_children = [&](int parent, int level, std::vector<core::ConsumerSpec>& specs, const Resources& pool,
                           auto& self) -> void {
    const int n = config.fanout[level];
    const std::vector<Resources> owned = split_owned(pool, weights(n));
    static const char* kPrefix[] = {"t", "d", "l"};
    for (int i = 0; i < n; ++i) {
      core::ConsumerSpec cs;
      cs.name = kPrefix[level];
      cs.name.append(std::to_string(i));
      const double share = share_dist(rng);
      cs.plan.share = share;
      cs.plan.owned = core::AmountSpec::of_vector(owned[static_cast<std::size_t>(i)]);
      GenNode g;
      const std::string& pp = w.nodes[static_cast<std::size_t>(parent)].path;
      if (pp != "/") g.path = pp;
      g.path.append("/").append(cs.name);
      g.parent = parent;
      g.share = share;
      g.owned = owned[static_cast<std::size_t>(i)];
      const int idx = static_cast<int>(w.nodes.size());
      w.nodes.push_back(g);
      w.nodes[static_cast<std::size_t>(parent)].children.push_back(idx);
      if (level + 1 < 3) {
        Resources child_pool;
        for (core::ResourceKind k : {kCpu, kMemory}) {
          child_pool[k] = static_cast<std::int64_t>(static_cast<double>(g.owned[k]) * config.child_owned_fraction);
        }
        self(idx, level + 1, cs.children, child_pool, self);
      }
      specs.push_back(std::move(cs));
    }
  };
  make_children(0, 0, w.tree.consumers, top_pool, make_children);

  // Sessions: sessions_per_leaf in every leaf, with a class, a priority, a shape and a demand range.
  std::vector<double> shape_weights;
  for (const ShapeMix& m : shape_mix()) shape_weights.push_back(m.weight);
  std::discrete_distribution<int> shape_dist(shape_weights.begin(), shape_weights.end());
  std::discrete_distribution<int> sla_dist({0.25, 0.15, 0.60});  // interactive, streaming, batch
  std::uniform_int_distribution<int> prio_dist(0, 2);
  int seq = 0;
  for (std::size_t ni = 0; ni < w.nodes.size(); ++ni) {
    if (!w.nodes[ni].is_leaf()) continue;
    const bool light = unit(rng) < config.light_leaf_fraction;
    for (int j = 0; j < config.sessions_per_leaf; ++j) {
      GenSession gs;
      char id[32];
      std::snprintf(id, sizeof id, "s%05d", seq++);
      gs.spec.id = id;
      gs.spec.consumer = w.nodes[ni].path;
      gs.spec.sla = static_cast<core::SlaClass>(sla_dist(rng));
      gs.spec.priority = prio_dist(rng);
      gs.spec.shape = shape_mix()[static_cast<std::size_t>(shape_dist(rng))].shape;
      gs.spec.min = gs.spec.sla == core::SlaClass::kStreaming ? 2 : 0;
      gs.spec.user = "user-" + std::to_string(ni);
      gs.spec.application = "app-" + gs.spec.id;
      gs.node = static_cast<int>(ni);
      gs.demand_lo = light ? config.light_demand_lo : config.heavy_demand_lo;
      gs.demand_hi = light ? config.light_demand_hi : config.heavy_demand_hi;
      std::uniform_int_distribution<std::int64_t> d(gs.demand_lo, gs.demand_hi);
      gs.spec.demand = d(rng);  // the first demand is never idle: the first pass starts from a busy cluster
      w.sessions.push_back(std::move(gs));
    }
  }
  return w;
}

std::int64_t draw_demand(const Workload& w, std::size_t i, std::mt19937& rng) {
  const GenSession& s = w.sessions[i];
  if (std::uniform_real_distribution<double>(0.0, 1.0)(rng) < w.config.idle_probability) return 0;
  return std::uniform_int_distribution<std::int64_t>(s.demand_lo, s.demand_hi)(rng);
}

}  // namespace sched::bench
