// The hybrid sharing policy (ownership + share ratio) and the policy registry.
#include "core/share_policy.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace sched::core {
namespace {

constexpr double kEps = 1e-6;  // base units (millicores, MiB): far below one slot

class HybridSharePolicy final : public SharePolicy {
 public:
  HybridSharePolicy(bool rebalance, bool ownership) : rebalance_(rebalance), ownership_(ownership) {}

  std::string_view name() const override { return ownership_ ? "hybrid" : "drf"; }

  void distribute(const FracResources& capacity, const DominantShare& norm, std::span<ChildShare> children) override {
    const std::size_t n = children.size();
    g_.assign(n, FracResources{});
    ri_.assign(n, FracResources{});
    kept_.assign(n, FracResources{});

    // 1. Ownership first: each child is guaranteed min(demand, owned), and
    //    reserved capacity it leaves idle is set aside, lent to nobody.
    FracResources base;
    for (std::size_t i = 0; i < n; ++i) {
      ChildShare& c = children[i];
      c.cut_reason = Reason::kNone;
      c.beneficiary = -1;
      if (ownership_) {
        g_[i] = FracResources::min(c.demand, c.owned).clamped();
        ri_[i] = c.reserved_idle.clamped();
      }
      base += g_[i] + ri_[i];
    }
    // Owned amounts normally fit (validation checks them against capacity);
    // when hosts are lost they may not, and every guarantee shrinks alike.
    bool capacity_short = false;
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
      if (base[k] <= capacity[k] + kEps) continue;
      capacity_short = true;
      const double f = capacity[k] > 0 ? capacity[k] / base[k] : 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        g_[i][k] *= f;
        ri_[i][k] *= f;
      }
      base[k] = capacity[k];
    }

    // The sibling with the largest ownership deficit: whom cuts are made for.
    int deficit = -1;
    double worst = kEps;
    for (std::size_t i = 0; i < n; ++i) {
      const double d = norm.of((g_[i] - children[i].hold).clamped());
      if (d > worst) {
        worst = d;
        deficit = static_cast<int>(i);
      }
    }

    // 2. A borrower keeps what it holds beyond its guarantee (unless
    //    rebalancing), up to its demand; a non-borrower keeps nothing extra.
    FracResources total = base;
    if (!rebalance_) {
      for (std::size_t i = 0; i < n; ++i) {
        const ChildShare& c = children[i];
        if (!c.borrow) continue;
        kept_[i] = FracResources::min(c.hold - g_[i], c.demand - g_[i]).clamped();
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
    const FracResources pool = (capacity - total).clamped();
    claims_.assign(n, FillClaim{});
    for (std::size_t i = 0; i < n; ++i) {
      const ChildShare& c = children[i];
      claims_[i].start = kept_[i];
      claims_[i].room = c.borrow || !ownership_ ? (c.demand - g_[i] - kept_[i]).clamped() : FracResources{};
      claims_[i].weight = c.share;
    }
    adds_.assign(n, FracResources{});
    fill_.fill(pool, norm, claims_, adds_);

    for (std::size_t i = 0; i < n; ++i) {
      ChildShare& c = children[i];
      c.target = g_[i] + ri_[i] + kept_[i] + adds_[i];
      if (c.cut_reason != Reason::kNone || c.hold.fits_in(c.target, kEps)) continue;
      // Less than it holds without a reclaim cut: say why.
      if (!c.hold.fits_in(c.demand, kEps)) {
        c.cut_reason = Reason::kLimit;
      } else if (deficit >= 0) {
        c.cut_reason = Reason::kOwnership;
        c.beneficiary = deficit;
      } else if (rebalance_) {
        c.cut_reason = Reason::kRebalance;
      } else {
        c.cut_reason = capacity_short ? Reason::kCapacity : Reason::kRebalance;
      }
    }
  }

 private:
  bool rebalance_;
  bool ownership_;
  WaterFill fill_;
  std::vector<FracResources> g_, ri_, kept_, adds_;
  std::vector<FillClaim> claims_;
  std::vector<std::size_t> order_;
};

}  // namespace

Result<std::unique_ptr<SharePolicy>> make_share_policy(std::string_view name, bool rebalance) {
  if (name == "hybrid" || name.empty()) return std::unique_ptr<SharePolicy>(new HybridSharePolicy(rebalance, true));
  if (name == "drf") return std::unique_ptr<SharePolicy>(new HybridSharePolicy(rebalance, false));
  return Status::invalid_argument("unknown share policy '" + std::string(name) + "' (expected hybrid or drf)");
}

}  // namespace sched::core
