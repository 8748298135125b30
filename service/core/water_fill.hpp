// Weighted progressive filling (Dominant Resource Fairness): splits a pool
// among claimants so that their dominant shares, divided by their weights,
// rise together from where each already stands.
#pragma once

#include <span>
#include <vector>

#include "core/resources.hpp"

namespace sched::core {

struct FillClaim {
  FracResources start;  // what the claimant already holds of the pool (its level)
  FracResources room;   // the most it may still take; also the direction it grows in
  double weight = 1.0;  // share; a zero weight takes nothing
};

// Splits `pool` among `claims`; `out[i]` receives claim i's part, always
// proportional to its room and never beyond it. The levels
// dominant(start + part) / weight are equalised from the bottom up; a
// claimant stops when its room is met or a kind it needs runs out, the others
// go on.
// Dominant shares are measured against `norm` (the cluster's capacity).
//
// Each claimant's level is taken as dominant(start) + dominant(part), which is
// exact when start and room point the same way (one executor shape) and a
// close, conservative estimate otherwise.
//
// The object keeps scratch space so the hot path does not allocate.
class WaterFill {
 public:
  void fill(const FracResources& pool, const DominantShare& norm, std::span<const FillClaim> claims,
            std::span<FracResources> out);

  // After fill(): what is left of each kind goes, by weight, to claimants
  // with room left in that kind. A claimant whose room is a mix (a consumer
  // whose sessions run different executor shapes) grows along one direction
  // in fill() and can strand a kind that another ran out of first; its
  // sessions can still use it.
  static void spread_leftovers(const FracResources& pool, std::span<const FillClaim> claims,
                               std::span<FracResources> out);

 private:
  struct Item {
    std::size_t index;
    FracResources unit;  // room scaled to a dominant share of 1
    double level0;       // dominant(start) / weight
    double max_add;      // dominant(room)
    double weight;
    bool active;
    double add = 0;  // dominant share given this round
  };
  std::vector<Item> items_;
  std::vector<std::pair<double, int>> events_;
};

}  // namespace sched::core
