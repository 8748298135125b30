// The benchmark's workload generator: a seeded cluster, consumer tree and session population, plus demand churn.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/consumer_tree.hpp"
#include "core/host_pool.hpp"
#include "core/resources.hpp"
#include "core/session.hpp"

namespace sched::bench {

struct WorkloadConfig {
  std::uint32_t seed = 20240611;
  int hosts = 10'000;
  int host_cores = 32;
  int host_memory_gib = 128;
  // Every tenth host carries gpus, so gpu asks compete for a scarce kind of their own.
  double gpu_host_fraction = 0.10;
  int gpus_per_gpu_host = 4;
  // Three levels of consumers: fanout[0] top-level, each with fanout[1] children, each with fanout[2] leaves.
  int fanout[3] = {10, 10, 10};
  int sessions_per_leaf = 10;
  // Top-level consumers own this fraction of cpu and memory; each parent passes this fraction of its own
  // owned amount down to its children (the rest stays a parent-level guarantee).
  double top_owned_fraction = 0.5;
  double child_owned_fraction = 0.8;
  // Leaves are "heavy" (sessions ask for many slots) or "light" (few): the light ones are satisfied below
  // their fair share, so the share split has both capped and hungry claimants.
  double light_leaf_fraction = 0.2;
  std::int64_t heavy_demand_lo = 16, heavy_demand_hi = 64;
  std::int64_t light_demand_lo = 1, light_demand_hi = 8;
  // Chance that one churn step sets a session's demand to 0 (a notebook between cells, a finished stage).
  double idle_probability = 0.10;
};

// One consumer as the generator wrote it; the fairness check reads these, not the scheduler's tree.
struct GenNode {
  std::string path;  // "/" for the root
  int parent = -1;
  double share = 1;
  core::Resources owned;  // zero when unset
  std::vector<int> children;
  bool is_leaf() const { return children.empty() && parent >= 0; }
};

struct GenSession {
  core::SessionSpec spec;
  int node = -1;  // index into Workload::nodes
  std::int64_t demand_lo = 0, demand_hi = 0;
};

struct Workload {
  WorkloadConfig config;
  std::vector<core::HostSpec> hosts;
  core::Resources capacity;  // sum over hosts
  core::TreeSpec tree;
  std::vector<GenNode> nodes;  // [0] is the root; parents before children
  std::vector<GenSession> sessions;
};

// The executor shapes sessions use (cpu millicores, memory MiB, gpu milli-units).
struct ShapeMix {
  const char* name;
  core::Resources shape;
  double weight;
};
const std::vector<ShapeMix>& shape_mix();

// The scheduler's slot for this workload: 1 cpu + 4 GiB (the shape most sessions use).
core::Resources workload_slot();

Workload generate_workload(const WorkloadConfig& config);

// A new demand for session `i`, drawn from its own range (or 0 with the idle probability).
std::int64_t draw_demand(const Workload& w, std::size_t i, std::mt19937& rng);

// What the scheduler is asked to give a session: demand raised to its minimum, capped by its maximum.
inline std::int64_t want_of(const core::SessionSpec& s, std::int64_t demand) {
  const std::int64_t base = demand > s.min ? demand : s.min;
  return base < s.max ? base : s.max;
}

}  // namespace sched::bench
