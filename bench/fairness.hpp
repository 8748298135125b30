// An independent reference for the fairness figure: hierarchical weighted DRF entitlements and Jain's index.
#pragma once

#include <vector>

#include "core/resources.hpp"
#include "workload.hpp"

namespace sched::bench {

// Dominant share against the cluster's capacity, computed here rather than with the scheduler's helper so the
// check does not lean on the code it checks. Kinds the cluster lacks are ignored.
class Dominant {
 public:
  explicit Dominant(const core::Resources& capacity);
  double of(const core::FracResources& r) const;

 private:
  core::FracResources inv_;
};

// Splits `pool` among claimants by weighted progressive filling: each grows along its own `room` vector, their
// dominant shares divided by their weights rising together from zero; one stops when its room is met or a kind
// it needs runs out. Solved by bisection on the common level (slow, obviously right; fine for 10 claimants).
// Then what is left of each kind goes by weight to the claimants with room left in that kind (the design's
// leftover rule: gpus do not sit idle because cpu ran out first).
std::vector<core::FracResources> weighted_drf_fill(const core::FracResources& pool,
                                                   const std::vector<core::FracResources>& room,
                                                   const std::vector<double>& weight, const Dominant& dom);

// What every consumer of `w` is entitled to when `capacity` is split from scratch by the design's rules:
// ownership first (min(demand, owned), shrunk alike if the guarantees do not fit), then the rest of the parent's
// amount by share ratio (weighted DRF, levels from zero, capped by demand), level by level down the tree.
// `demand` is per generator node (leaves only; interior entries are ignored). Result indexed like w.nodes.
std::vector<core::FracResources> hierarchical_entitlements(const Workload& w,
                                                           const std::vector<core::FracResources>& demand,
                                                           const core::FracResources& capacity, const Dominant& dom);

// Jain's index (sum x)^2 / (n * sum x^2): 1 when all x are equal, 1/n when one takes everything.
double jain_index(const std::vector<double>& x);

}  // namespace sched::bench
