// Sharing policies: how a parent's amount is split among its children. The
// scheduler applies one at every node of the consumer tree, top down; the
// policy decides, the scheduler carries out (Mesos keeps its sorter apart
// from its allocator the same way).
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "common/status.hpp"
#include "core/clock.hpp"
#include "core/decision.hpp"
#include "core/preemption_planner.hpp"
#include "core/resources.hpp"
#include "core/water_fill.hpp"

namespace sched::core {

// One child as its parent's policy sees it.
struct ChildShare {
  // Inputs.
  FracResources demand;         // what its sessions want, capped by its limit
  FracResources hold;           // what it holds now, revocations in flight excluded
  FracResources owned;          // its guaranteed amount
  FracResources reserved_idle;  // reserved (owned, never lent) capacity it leaves idle;
                                // within its owned, counted as demand and as held
  double share = 1.0;
  bool borrow = true;
  VictimKey victim;
  Resources unit;  // its smallest executor shape: pool shares come in whole ones (zero: no rounding)
  // Rebalance with a threshold: it has been starving (below) for the delay.
  bool starving_long = false;
  // Outputs.
  FracResources target;               // what it should hold (reserved idle included)
  Reason cut_reason = Reason::kNone;  // set when target < hold
  int beneficiary = -1;               // the sibling the cut is for, if any
  // Rebalance with a threshold: it holds at least one unit less than the
  // threshold's fraction of its share-ratio split.
  bool starving = false;
};

// When borrowers are preempted toward the share-ratio split, not only for
// ownership. YARN's fair-share preemption has the same two knobs: a sibling
// group is rebalanced only once one of its children has held less than
// `threshold` of its share-ratio split for `delay_ms`. Under churn the split
// moves with every demand change; following each move is a revocation storm.
struct RebalanceRule {
  bool on = false;
  double threshold = 1.0;  // (0, 1]
  TimeMs delay_ms = 0;
  // Every pass rebalances: the split as it is, no waiting.
  bool immediate() const { return threshold >= 1.0 && delay_ms <= 0; }
};

class SharePolicy {
 public:
  virtual ~SharePolicy() = default;
  virtual std::string_view name() const = 0;
  // Splits `capacity` among `children`, filling in their outputs. The
  // targets never exceed the capacity in total, nor a child's demand plus
  // its reserved idle amount. The free pool is handed out in whole units:
  // of `unit` when every amount is a whole number of slots (targets stay
  // whole), else of each child's own unit (its smallest executor shape), so
  // a small pool is not split into parts nobody can run an executor in.
  // `unusable` (if given) is part of `capacity` that no executor fits in: it
  // counts for guarantees (a reclaim can make it usable) but is not handed
  // out from the free pool.
  virtual void distribute(const FracResources& capacity, const DominantShare& norm, std::span<ChildShare> children,
                          const Resources* unit = nullptr, const FracResources* unusable = nullptr) = 0;
};

// "hybrid" (default): ownership first; the free pool split by share ratio
// (weighted DRF), sibling first; a borrower keeps what it holds until an owner
// asks for it back. With `rebalance`, also back toward the share ratio.
// "drf": weighted DRF alone; owned amounts are ignored.
Result<std::unique_ptr<SharePolicy>> make_share_policy(std::string_view name, const RebalanceRule& rebalance);

}  // namespace sched::core
