// Progressive filling over piecewise-linear use: walk the breakpoints where
// claimants start or stop growing, and stop where the first kind runs out.
#include "core/water_fill.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sched::core {
namespace {
constexpr double kEps = 1e-12;
}

void WaterFill::fill(const FracResources& pool_in, const DominantShare& norm, std::span<const FillClaim> claims,
                     std::span<FracResources> out) {
  for (auto& o : out) o = FracResources{};
  FracResources pool = pool_in.clamped();
  // A full cluster's usual case: nothing to hand out, everyone gets nothing.
  if (pool.is_zero(0.0)) return;
  items_.clear();
  for (std::size_t i = 0; i < claims.size(); ++i) {
    const FillClaim& c = claims[i];
    if (c.weight <= 0) continue;
    const FracResources room = c.room.clamped();
    const double d = norm.of(room);
    if (d <= kEps) continue;  // wants nothing the cluster has
    items_.push_back(Item{i, room * (1.0 / d), norm.of(c.start.clamped()) / c.weight, d, c.weight, true});
  }

  // Each round finds the highest common level the pool can carry; claimants
  // needing a kind that ran out are fixed, the rest fill on in the next round.
  while (true) {
    std::size_t active = 0;
    for (const Item& it : items_) active += it.active ? 1 : 0;
    if (active == 0) break;

    // Breakpoints of the piecewise-linear use: each claimant starts growing at
    // level0 and stops at level0 + max_add / weight.
    events_.clear();
    for (std::size_t j = 0; j < items_.size(); ++j) {
      const Item& it = items_[j];
      if (!it.active) continue;
      events_.emplace_back(it.level0, static_cast<int>(j) + 1);                            // starts
      events_.emplace_back(it.level0 + it.max_add / it.weight, -static_cast<int>(j) - 1);  // stops
    }
    std::sort(events_.begin(), events_.end());

    FracResources use;    // use at the current breakpoint
    FracResources slope;  // d(use)/d(level) on the current segment
    double level = events_.front().first;
    double stop_level = std::numeric_limits<double>::infinity();
    std::size_t e = 0;
    while (e < events_.size()) {
      // Apply every event at this level.
      while (e < events_.size() && events_[e].first <= level + kEps) {
        const int code = events_[e].second;
        const Item& it = items_[static_cast<std::size_t>(std::abs(code) - 1)];
        if (code > 0)
          slope += it.unit * it.weight;
        else
          slope -= it.unit * it.weight;
        ++e;
      }
      if (e == events_.size()) break;
      const double next = events_[e].first;
      // Where would a kind run out on [level, next]?
      double hit = std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
        if (slope[k] <= kEps) continue;
        const double at = level + (pool[k] - use[k]) / slope[k];
        hit = std::min(hit, at);
      }
      if (hit < next) {
        stop_level = std::max(level, hit);
        break;
      }
      use += slope * (next - level);
      level = next;
    }

    // Give every active claimant its part at stop_level (or all its room).
    const bool saturated = std::isfinite(stop_level);
    FracResources used;
    for (Item& it : items_) {
      if (!it.active) continue;
      it.add = saturated ? std::clamp((stop_level - it.level0) * it.weight, 0.0, it.max_add) : it.max_add;
      out[it.index] = it.unit * it.add;
      used += out[it.index];
    }
    if (!saturated) break;

    // Fix the claimants that are full or need a kind that ran out; the others
    // start again next round against what is left of the pool.
    const FracResources left = pool - used;
    bool froze = false;
    for (Item& it : items_) {
      if (!it.active) continue;
      bool exhausted = false;
      for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
        if (it.unit[k] > kEps && left[k] <= 1e-9 * std::max(1.0, pool_in[k])) {
          exhausted = true;
          break;
        }
      }
      if (exhausted || it.add >= it.max_add * (1 - 1e-12)) {
        it.active = false;
        pool -= out[it.index];
        froze = true;
      }
    }
    if (!froze) break;  // float corner: keep the parts as they are
    for (Item& it : items_)
      if (it.active) out[it.index] = FracResources{};
    pool = pool.clamped();
  }
}

void WaterFill::spread_leftovers(const FracResources& pool, std::span<const FillClaim> claims,
                                 std::span<FracResources> out) {
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    double left = pool[k];
    for (std::size_t i = 0; i < claims.size(); ++i) left -= out[i][k];
    for (int round = 0; round < 64 && left > 1e-6; ++round) {
      double weights = 0;
      for (std::size_t i = 0; i < claims.size(); ++i) {
        if (claims[i].weight > 0 && claims[i].room[k] - out[i][k] > 1e-9) weights += claims[i].weight;
      }
      if (weights <= 0) break;
      double given = 0;
      for (std::size_t i = 0; i < claims.size(); ++i) {
        const double room = claims[i].room[k] - out[i][k];
        if (claims[i].weight <= 0 || room <= 1e-9) continue;
        const double part = std::min(room, left * claims[i].weight / weights);
        out[i][k] += part;
        given += part;
      }
      left -= given;
      if (given <= 1e-9) break;
    }
  }
}

}  // namespace sched::core
