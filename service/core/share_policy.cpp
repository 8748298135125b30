// The hybrid sharing policy (ownership + share ratio) and the policy registry.
#include "core/share_policy.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sched::core {
namespace {

constexpr double kEps = 1e-6;        // base units (millicores, MiB): far below one slot
constexpr double kEpsShare = 1e-12;  // dominant shares: far below one slot of any cluster

// How many `unit`s fit in `r` (fractional; 0 for a zero unit).
double units_in(const FracResources& r, const Resources& unit) {
  double x = -1;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    if (unit[k] <= 0) continue;
    const double in = r[k] / static_cast<double>(unit[k]);
    x = x < 0 ? in : std::min(x, in);
  }
  return std::max(x, 0.0);
}

// `r` scaled down to a whole number of `unit`s (its mix of kinds kept).
// Kinds the unit does not use are not counted in units and are left as they
// are: gpus given to a consumer whose smallest executor is cpu-only (its cpu
// covered by its guarantee, its gpu sessions hungry) are not rounded away.
FracResources whole_units(const FracResources& r, const Resources& unit) {
  const double x = units_in(r, unit);
  const double f = x > 0 ? std::floor(x + 1e-6) / x : 0.0;
  FracResources out;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) out[k] = unit[k] > 0 ? r[k] * f : r[k];
  return out;
}

class HybridSharePolicy final : public SharePolicy {
 public:
  HybridSharePolicy(const RebalanceRule& rebalance, bool ownership) : rebalance_(rebalance), ownership_(ownership) {}

  std::string_view name() const override { return ownership_ ? "hybrid" : "drf"; }

  void distribute(const FracResources& capacity, const DominantShare& norm, std::span<ChildShare> children,
                  const Resources* unit, const FracResources* unusable) override {
    if (!rebalance_.on || rebalance_.immediate()) {
      split(capacity, norm, children, unit, unusable, /*keep=*/!rebalance_.on);
      return;
    }
    // The share-ratio split says who is starving; only when one has been
    // for the delay does it stand, else borrowers keep what they hold.
    split(capacity, norm, children, unit, unusable, /*keep=*/false);
    bool due = false;
    for (std::size_t i = 0; i < children.size(); ++i) {
      ChildShare& c = children[i];
      const Resources& u = c.unit.is_zero() && unit != nullptr ? *unit : c.unit;
      const FracResources below = (c.target * rebalance_.threshold - have_[i]).clamped();
      c.starving = !u.is_zero() && units_in(below, u) >= 1.0 - 1e-6;
      due = due || (c.starving && c.starving_long);
    }
    if (!due) split(capacity, norm, children, unit, unusable, /*keep=*/true);
  }

 private:
  // Steps 1-4 of docs/scheduling.md; `keep`: step 2, borrowers keep what
  // they hold.
  void split(const FracResources& capacity, const DominantShare& norm, std::span<ChildShare> children,
             const Resources* unit, const FracResources* unusable, bool keep) {
    const std::size_t n = children.size();
    g_.assign(n, FracResources{});
    need_.assign(n, FracResources{});
    have_.assign(n, FracResources{});
    kept_.assign(n, FracResources{});

    // 1. Ownership first: each child is guaranteed min(need, owned), where
    //    its need counts reserved capacity it leaves idle: that is owned too
    //    (reserved <= owned), set aside and lent to nobody, so it counts as
    //    held.
    FracResources base;
    for (std::size_t i = 0; i < n; ++i) {
      ChildShare& c = children[i];
      c.cut_reason = Reason::kNone;
      c.beneficiary = -1;
      const FracResources ri = ownership_ ? c.reserved_idle.clamped() : FracResources{};
      need_[i] = c.demand.clamped() + ri;
      have_[i] = c.hold.clamped() + ri;
      if (ownership_) {
        g_[i] = FracResources::min(need_[i], c.owned).clamped();
        // Without whole slots everywhere, a guarantee beyond whole executors
        // of the child's smallest shape strands capacity nobody there can
        // use: round the demand part down and leave the rest to the pool.
        if (!c.unit.is_zero()) g_[i] = ri + whole_units((g_[i] - ri).clamped(), c.unit);
        // Holding its guarantee's dominant share, a child is not short of
        // it (as YARN's fair scheduler judges min share with DRF): a kind
        // its executors use less of than the owned mix is no deficit.
        // Counted as one, it can never be met (the mix it runs decides
        // what it holds), so borrowers were revoked for it pass after pass.
        if (norm.of(have_[i]) >= norm.of(g_[i]) - kEpsShare) g_[i] = FracResources::min(g_[i], have_[i]);
      }
      base += g_[i];
    }
    // Owned amounts normally fit (validation checks them against capacity);
    // when hosts are lost they may not, and every guarantee shrinks alike.
    bool capacity_short = false;
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
      if (base[k] <= capacity[k] + kEps) continue;
      capacity_short = true;
      const double f = capacity[k] > 0 ? capacity[k] / base[k] : 0.0;
      for (std::size_t i = 0; i < n; ++i) g_[i][k] *= f;
      base[k] = capacity[k];
    }

    // The sibling with the largest ownership deficit: whom cuts are made for.
    int deficit = -1;
    double worst = kEps;
    for (std::size_t i = 0; i < n; ++i) {
      const double d = norm.of((g_[i] - have_[i]).clamped());
      if (d > worst) {
        worst = d;
        deficit = static_cast<int>(i);
      }
    }

    // 2. A borrower keeps what it holds beyond its guarantee (unless
    //    rebalancing), up to its demand; a non-borrower keeps nothing extra.
    FracResources total = base;
    if (keep) {
      for (std::size_t i = 0; i < n; ++i) {
        const ChildShare& c = children[i];
        if (!c.borrow) continue;
        kept_[i] = FracResources::min(have_[i] - g_[i], need_[i] - g_[i]).clamped();
        total += kept_[i];
      }
    }

    // 3. Reclaim only for ownership: when guarantees and kept borrowings do
    //    not fit, take borrowings back, most preemptable subtree first.
    FracResources excess = (total - capacity).clamped();
    if (!excess.is_zero(kEps)) {
      order_.clear();
      for (std::size_t i = 0; i < n; ++i)
        if (!kept_[i].is_zero(kEps)) order_.push_back(i);
      std::sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
        if (!(children[a].victim == children[b].victim)) return children[a].victim < children[b].victim;
        // Then whoever borrows most for its share gives back first.
        const double la = norm.of(kept_[a]) / children[a].share;
        const double lb = norm.of(kept_[b]) / children[b].share;
        if (la != lb) return la > lb;
        return a < b;
      });
      for (std::size_t i : order_) {
        if (excess.is_zero(kEps)) break;
        const FracResources cut = FracResources::min(kept_[i], excess).clamped();
        if (cut.is_zero(kEps)) continue;
        kept_[i] -= cut;
        excess = (excess - cut).clamped();
        total -= cut;
        children[i].cut_reason = deficit >= 0 ? Reason::kOwnership : Reason::kCapacity;
        children[i].beneficiary = deficit;
      }
    }

    // 4. The free pool goes to the hungry by share ratio, each rising from
    //    the share of the pool it already uses.
    FracResources pool = (capacity - total).clamped();
    if (unusable != nullptr) pool = (pool - *unusable).clamped();
    claims_.assign(n, FillClaim{});
    for (std::size_t i = 0; i < n; ++i) {
      const ChildShare& c = children[i];
      claims_[i].start = kept_[i];
      claims_[i].room = c.borrow || !ownership_ ? (need_[i] - g_[i] - kept_[i]).clamped() : FracResources{};
      claims_[i].weight = c.share;
    }
    adds_.assign(n, FracResources{});
    fill_.fill(pool, norm, claims_, adds_);
    WaterFill::spread_leftovers(pool, claims_, adds_);
    round_to_own_units(children, pool, unit);

    for (std::size_t i = 0; i < n; ++i) {
      ChildShare& c = children[i];
      c.target = g_[i] + kept_[i] + adds_[i];
      if (c.cut_reason != Reason::kNone || have_[i].fits_in(c.target, kEps)) continue;
      // Less than it holds without a reclaim cut: say why.
      if (!have_[i].fits_in(need_[i], kEps)) {
        c.cut_reason = Reason::kLimit;
      } else if (deficit >= 0) {
        c.cut_reason = Reason::kOwnership;
        c.beneficiary = deficit;
      } else if (!keep) {
        c.cut_reason = Reason::kRebalance;
      } else {
        c.cut_reason = capacity_short ? Reason::kCapacity : Reason::kRebalance;
      }
    }
  }

  // Largest remainder in each child's own unit (its smallest executor
  // shape; `fallback` for a child without one): shares keep their mix of
  // kinds, scaled down to whole units; the units the fractions free go to
  // the largest fractions first, while they fit in the pool and the room.
  void round_to_own_units(std::span<ChildShare> children, const FracResources& pool, const Resources* fallback) {
    const std::size_t n = adds_.size();
    rem_.clear();
    FracResources used;
    auto unit_of = [&](std::size_t i) -> const Resources& {
      return children[i].unit.is_zero() && fallback != nullptr ? *fallback : children[i].unit;
    };
    for (std::size_t i = 0; i < n; ++i) {
      const Resources& unit = unit_of(i);
      if (unit.is_zero()) {
        used += adds_[i];
        continue;
      }
      const double x = units_in(adds_[i], unit);
      adds_[i] = whole_units(adds_[i], unit);
      used += adds_[i];
      rem_.push_back({std::max(0.0, x - std::floor(x + 1e-6)), i});
    }
    std::sort(rem_.begin(), rem_.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first > b.first;
      return a.second < b.second;
    });
    // Largest fractions first; then round after round while some child can
    // still use a whole unit of what is left (a child whose unit no longer
    // fits passes its turn to the next).
    for (int round = 0;; ++round) {
      bool progress = false;
      for (const auto& [frac, i] : rem_) {
        if (round == 0 && frac <= 1e-6) continue;
        const FracResources unit(unit_of(i));
        const FracResources more = adds_[i] + unit;
        if (!more.fits_in(claims_[i].room) || !(used + unit).fits_in(pool)) continue;
        adds_[i] = more;
        used += unit;
        progress = true;
      }
      if (!progress && round > 0) break;
    }
  }

  RebalanceRule rebalance_;
  bool ownership_;
  WaterFill fill_;
  std::vector<FracResources> g_, need_, have_, kept_, adds_;
  std::vector<FillClaim> claims_;
  std::vector<std::size_t> order_;
  std::vector<std::pair<double, std::size_t>> rem_;
};

}  // namespace

Result<std::unique_ptr<SharePolicy>> make_share_policy(std::string_view name, const RebalanceRule& rebalance) {
  if (name == "hybrid" || name.empty()) return std::unique_ptr<SharePolicy>(new HybridSharePolicy(rebalance, true));
  if (name == "drf") return std::unique_ptr<SharePolicy>(new HybridSharePolicy(rebalance, false));
  return Status::invalid_argument("unknown share policy '" + std::string(name) + "' (expected hybrid or drf)");
}

}  // namespace sched::core
