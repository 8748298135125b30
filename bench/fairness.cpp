// Hierarchical weighted DRF entitlements by bisection, independent of the scheduler's water-filling.
#include "fairness.hpp"

#include <algorithm>

namespace sched::bench {
namespace {

using core::FracResources;
using core::kMaxResourceKinds;

FracResources kind_min(const FracResources& a, const FracResources& b) {
  FracResources r;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) r[k] = std::min(a[k], b[k]);
  return r;
}

FracResources clamp0(FracResources r) {
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) r[k] = std::max(0.0, r[k]);
  return r;
}

bool fits(const FracResources& use, const FracResources& pool) {
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k)
    if (use[k] > pool[k] * (1 + 1e-12) + 1e-9) return false;
  return true;
}

}  // namespace

Dominant::Dominant(const core::Resources& capacity) {
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k)
    inv_[k] = capacity[k] > 0 ? 1.0 / static_cast<double>(capacity[k]) : 0.0;
}

double Dominant::of(const FracResources& r) const {
  double d = 0;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) d = std::max(d, r[k] * inv_[k]);
  return d;
}

std::vector<FracResources> weighted_drf_fill(const FracResources& pool, const std::vector<FracResources>& room,
                                             const std::vector<double>& weight, const Dominant& dom) {
  const std::size_t n = room.size();
  std::vector<FracResources> out(n);
  std::vector<double> max_dom(n), given(n, 0.0);
  std::vector<FracResources> unit(n);
  std::vector<bool> active(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const FracResources r = clamp0(room[i]);
    max_dom[i] = dom.of(r);
    if (max_dom[i] <= 1e-15 || weight[i] <= 0) continue;
    unit[i] = r * (1.0 / max_dom[i]);
    active[i] = true;
  }
  // Each round: the highest common level the pool carries; then fix whoever is full or starved of a kind.
  for (std::size_t round = 0; round <= n + kMaxResourceKinds; ++round) {
    FracResources fixed_use;
    double top = 0;
    bool any = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (!active[i]) {
        fixed_use += unit[i] * given[i];
      } else {
        top = std::max(top, max_dom[i] / weight[i]);
        any = true;
      }
    }
    if (!any) break;
    auto use_at = [&](double level) {
      FracResources u = fixed_use;
      for (std::size_t i = 0; i < n; ++i)
        if (active[i]) u += unit[i] * std::min(level * weight[i], max_dom[i]);
      return u;
    };
    if (fits(use_at(top), pool)) {
      for (std::size_t i = 0; i < n; ++i)
        if (active[i]) given[i] = max_dom[i], active[i] = false;
      break;
    }
    double lo = 0, hi = top;
    for (int it = 0; it < 200 && hi - lo > 1e-15 * top; ++it) {
      const double mid = 0.5 * (lo + hi);
      (fits(use_at(mid), pool) ? lo : hi) = mid;
    }
    const FracResources use = use_at(lo);
    bool froze = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (!active[i]) continue;
      given[i] = std::min(lo * weight[i], max_dom[i]);
      bool starved = given[i] >= max_dom[i] * (1 - 1e-12);
      for (std::size_t k = 0; k < kMaxResourceKinds && !starved; ++k) {
        if (unit[i][k] > 0 && pool[k] - use[k] <= 1e-6 * std::max(1.0, pool[k])) starved = true;
      }
      if (starved) {
        active[i] = false;
        froze = true;
      }
    }
    if (!froze) break;  // float corner: keep the levels reached
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = unit[i] * given[i];
  // Leftover kinds (docs/scheduling.md: "leftover kinds go to children whose mix of executors can still use
  // them"): DRF stops everyone who needs the kind that ran out, which can leave another kind (gpus, when cpu runs
  // out first) idle. What is left of each kind goes by weight to the claimants with demand left in it, capped by
  // that demand, round after round until it is used up or nobody can take more.
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    double left = pool[k];
    for (std::size_t i = 0; i < n; ++i) left -= out[i][k];
    for (int round = 0; round < 100 && left > 1e-6 * std::max(1.0, pool[k]); ++round) {
      double weights = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (weight[i] > 0 && room[i][k] - out[i][k] > 1e-9) weights += weight[i];
      if (weights <= 0) break;
      double given_now = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double r = room[i][k] - out[i][k];
        if (weight[i] <= 0 || r <= 1e-9) continue;
        const double part = std::min(r, left * weight[i] / weights);
        out[i][k] += part;
        given_now += part;
      }
      left -= given_now;
      if (given_now <= 1e-12) break;
    }
  }
  return out;
}

std::vector<FracResources> hierarchical_entitlements(const Workload& w, const std::vector<FracResources>& demand,
                                                     const FracResources& capacity, const Dominant& dom) {
  const std::size_t n = w.nodes.size();
  // Subtree demand, bottom up (children have larger indices than their parents).
  std::vector<FracResources> sub(n);
  for (std::size_t i = n; i-- > 0;) {
    if (w.nodes[i].is_leaf()) sub[i] = demand[i];
    if (w.nodes[i].parent >= 0) sub[static_cast<std::size_t>(w.nodes[i].parent)] += sub[i];
  }
  std::vector<FracResources> ent(n);
  ent[0] = capacity;
  for (std::size_t p = 0; p < n; ++p) {  // parents first: each node splits what it was given
    const GenNode& node = w.nodes[p];
    if (node.children.empty()) continue;
    const std::size_t m = node.children.size();
    std::vector<FracResources> g(m), room(m);
    std::vector<double> weight(m);
    FracResources base;
    for (std::size_t j = 0; j < m; ++j) {
      const std::size_t c = static_cast<std::size_t>(node.children[j]);
      g[j] = kind_min(sub[c], FracResources(w.nodes[c].owned));
      base += g[j];
      weight[j] = w.nodes[c].share;
    }
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
      if (base[k] <= ent[p][k]) continue;
      const double f = ent[p][k] > 0 ? ent[p][k] / base[k] : 0.0;
      for (auto& x : g) x[k] *= f;
      base[k] = ent[p][k];
    }
    for (std::size_t j = 0; j < m; ++j) room[j] = clamp0(sub[static_cast<std::size_t>(node.children[j])] - g[j]);
    const std::vector<FracResources> add = weighted_drf_fill(clamp0(ent[p] - base), room, weight, dom);
    for (std::size_t j = 0; j < m; ++j) ent[static_cast<std::size_t>(node.children[j])] = g[j] + add[j];
  }
  return ent;
}

double jain_index(const std::vector<double>& x) {
  if (x.empty()) return 1.0;
  double s = 0, s2 = 0;
  for (double v : x) s += v, s2 += v * v;
  return s2 > 0 ? s * s / (static_cast<double>(x.size()) * s2) : 1.0;
}

}  // namespace sched::bench
