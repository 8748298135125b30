// The leaf split: pins, kept slots, cuts, grant order and SLA preemption.
#include "core/session_split.hpp"

#include <algorithm>
#include <cmath>

#include "core/preemption_planner.hpp"

namespace sched::core {
namespace {

constexpr double kEps = 1e-6;

bool victim_before(const SessionClaim& a, const SessionClaim& b) {
  return victim_key(a.sla, a.priority, a.start, static_cast<std::uint64_t>(a.order)) <
         victim_key(b.sla, b.priority, b.start, static_cast<std::uint64_t>(b.order));
}

bool grant_before(const SessionClaim& a, const SessionClaim& b) {
  if (grant_rank(a.sla) != grant_rank(b.sla)) return grant_rank(a.sla) < grant_rank(b.sla);
  if (a.priority != b.priority) return a.priority > b.priority;
  if (a.start != b.start) return a.start < b.start;  // oldest first
  return a.order < b.order;
}

}  // namespace

void SessionSplitter::split(const FracResources& allocatable, const DominantShare& norm, Reason inherited,
                            std::span<SessionClaim> claims) {
  const std::size_t n = claims.size();
  kept_.assign(n, 0);
  FracResources use;
  int first_unpinned_claim = -1;
  for (std::size_t i = 0; i < n; ++i) {
    SessionClaim& c = claims[i];
    c.reason = Reason::kNone;
    c.beneficiary = -1;
    c.pinned = std::clamp<std::int64_t>(c.pinned, 0, c.want);
    kept_[i] = std::max<std::int64_t>(0, std::min(c.hold, c.want) - c.pinned);
    use += FracResources(c.shape * (c.pinned + kept_[i]));
    if (c.hold < c.pinned && first_unpinned_claim < 0) first_unpinned_claim = static_cast<int>(i);
  }

  order_.resize(n);
  for (std::size_t i = 0; i < n; ++i) order_[i] = i;
  std::sort(order_.begin(), order_.end(),
            [&](std::size_t a, std::size_t b) { return victim_before(claims[a], claims[b]); });

  // 1. Too much kept (the leaf lost capacity, or a streaming minimum needs
  //    room): cut kept slots, most preemptable session first. A rebalance
  //    is no obligation: less than one executor over the fair share is
  //    rounding, and cutting it would only make slots flap. An owner's
  //    claim is one: it is met even when that takes a whole executor for a
  //    part of one.
  FracResources limit = allocatable;
  if (inherited == Reason::kRebalance) {
    FracResources slack;
    for (std::size_t i = 0; i < n; ++i)
      if (kept_[i] > 0) slack = FracResources::max(slack, FracResources(claims[i].shape) * (1 - 1e-6));
    limit += slack;
  }
  FracResources excess = (use - limit).clamped();
  const Reason cut_reason = inherited != Reason::kNone ? inherited : Reason::kSlaPriority;
  for (std::size_t idx : order_) {
    if (excess.is_zero(kEps)) break;
    SessionClaim& c = claims[idx];
    if (kept_[idx] == 0 || !helps(excess, c.shape)) continue;
    const std::int64_t cut = std::min(kept_[idx], shapes_to_cover(excess, c.shape));
    kept_[idx] -= cut;
    const FracResources freed(c.shape * cut);
    use -= freed;
    excess = (excess - freed).clamped();
    c.reason = cut_reason;
    if (cut_reason == Reason::kSlaPriority) c.beneficiary = first_unpinned_claim;
  }
  // Only lost capacity can push below the pins (hosts gone): cut them last.
  for (std::size_t idx : order_) {
    if (excess.is_zero(kEps)) break;
    SessionClaim& c = claims[idx];
    if (c.pinned == 0 || !helps(excess, c.shape)) continue;
    const std::int64_t cut = std::min(c.pinned, shapes_to_cover(excess, c.shape));
    c.pinned -= cut;
    const FracResources freed(c.shape * cut);
    use -= freed;
    excess = (excess - freed).clamped();
    c.reason = Reason::kCapacity;
  }

  for (std::size_t i = 0; i < n; ++i) claims[i].target = claims[i].pinned + kept_[i];
  FracResources free = (allocatable - use).clamped();

  std::sort(order_.begin(), order_.end(),
            [&](std::size_t a, std::size_t b) { return grant_before(claims[a], claims[b]); });

  // 2a. Free gpus (and extras) go first to the sessions whose executors use
  //     them, with the cpu and memory to run them, in grant order. The leaf
  //     was given those kinds for these sessions' demand (and DRF counted
  //     them in its share); granted in plain grant order, a cpu-only session
  //     ranked higher would take the cpu and leave them idle.
  for (std::size_t idx : order_) {
    SessionClaim& c = claims[idx];
    if (c.want <= c.target || !uses_special_kind(c.shape)) continue;
    const std::int64_t add = std::min(c.want - c.target, free.count_of(c.shape));
    c.target += add;
    free = (free - FracResources(c.shape * add)).clamped();
  }

  // 2b. Free slots in grant order; sessions of one class and priority share
  //     alike, each rising from what it already has.
  std::size_t g = 0;
  while (g < n) {
    group_.clear();
    const SessionClaim& head = claims[order_[g]];
    while (g < n && claims[order_[g]].sla == head.sla && claims[order_[g]].priority == head.priority) {
      if (claims[order_[g]].want > claims[order_[g]].target) group_.push_back(order_[g]);
      ++g;
    }
    if (group_.empty()) continue;
    fill_claims_.assign(group_.size(), FillClaim{});
    fill_out_.assign(group_.size(), FracResources{});
    for (std::size_t j = 0; j < group_.size(); ++j) {
      const SessionClaim& c = claims[group_[j]];
      fill_claims_[j].start = FracResources(c.shape * c.target);
      fill_claims_[j].room = FracResources(c.shape * (c.want - c.target));
      fill_claims_[j].weight = 1.0;
    }
    fill_.fill(free, norm, fill_claims_, fill_out_);
    for (std::size_t j = 0; j < group_.size(); ++j) {
      SessionClaim& c = claims[group_[j]];
      const std::int64_t add = std::min(c.want - c.target, fill_out_[j].count_of(c.shape));
      c.target += add;
      free = (free - FracResources(c.shape * add)).clamped();
    }
    // Whole slots the fractions left over: one at a time, lowest level first.
    bool progress = true;
    while (progress) {
      progress = false;
      std::size_t best = n;
      double best_level = 0;
      for (std::size_t idx : group_) {
        const SessionClaim& c = claims[idx];
        if (c.target >= c.want || !FracResources(c.shape).fits_in(free)) continue;
        const double level = norm.of(c.shape * c.target);
        if (best == n || level < best_level) {
          best = idx;
          best_level = level;
        }
      }
      if (best < n) {
        claims[best].target += 1;
        free = (free - FracResources(claims[best].shape)).clamped();
        progress = true;
      }
    }
  }

  // 3. A higher class still short takes from lower classes in this consumer.
  for (std::size_t a = 0; a < n; ++a) {
    SessionClaim& claimant = claims[order_[a]];
    std::int64_t short_by = claimant.want - claimant.target;
    if (short_by <= 0) continue;
    FracResources need = (FracResources(claimant.shape * short_by) - free).clamped();
    const FracResources free_before = free;
    taken_.clear();
    for (auto it = order_.rbegin(); it != order_.rend() && !need.is_zero(kEps); ++it) {
      // order_ is in grant order; walking it backwards visits victims first.
      const std::size_t v = *it;
      SessionClaim& victim = claims[v];
      if (!preempts_within_consumer(claimant.sla, victim.sla)) continue;
      // Slots that run the leaf's gpus are not taken for work that leaves the gpus idle (see 2a).
      if (uses_special_kind(victim.shape) && !uses_special_kind(claimant.shape)) continue;
      const std::int64_t takeable = victim.target - victim.pinned;
      if (takeable <= 0 || !helps(need, victim.shape)) continue;
      const std::int64_t take = std::min(takeable, shapes_to_cover(need, victim.shape));
      taken_.push_back({v, take, victim.reason, victim.beneficiary});
      victim.target -= take;
      const FracResources freed(victim.shape * take);
      free += freed;
      need = (need - freed).clamped();
      if (victim.target < victim.hold) {
        victim.reason = Reason::kSlaPriority;
        victim.beneficiary = static_cast<int>(order_[a]);
      }
    }
    const std::int64_t add = std::min(short_by, free.count_of(claimant.shape));
    if (add == 0) {
      // Not one executor's worth: the victims keep what they had (else the
      // cut would be made for a claimant it cannot help, and a lower class
      // would take the room back on the same pass).
      for (const Taken& t : taken_) {
        SessionClaim& victim = claims[t.index];
        victim.target += t.slots;
        victim.reason = t.reason;
        victim.beneficiary = t.beneficiary;
      }
      free = free_before;
      continue;
    }
    claimant.target += add;
    free = (free - FracResources(claimant.shape * add)).clamped();
  }

  for (std::size_t i = 0; i < n; ++i) {
    SessionClaim& c = claims[i];
    if (c.target < c.hold && c.reason == Reason::kNone)
      c.reason = inherited != Reason::kNone ? inherited : Reason::kCapacity;
  }
}

}  // namespace sched::core
