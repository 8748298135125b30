// The consumer tree: the tenancy model. Each node has a share (weight), an
// owned (guaranteed) amount, a limit, a reserved (owned, never lent) amount,
// a borrow flag, grace periods and optional time-window plans. The spec is
// what operators write; ConsumerTree is the validated, flattened form the
// scheduler reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"
#include "core/clock.hpp"
#include "core/resources.hpp"
#include "core/sla.hpp"
#include "core/time_window.hpp"

namespace sched::core {

// An amount written in slots ("owned: 4") or as a vector ("{cpu: 4, memory: 16Gi}").
struct AmountSpec {
  bool in_slots = true;
  double slots = 0;
  Resources vec;
  std::uint32_t named = 0;  // vectors: bit k set when kind k was written

  static AmountSpec of_slots(double n) { return AmountSpec{true, n, {}, 0}; }
  // Kinds left out of `named` are not mentioned (0 for amounts, no cap for
  // limits); by default every non-zero kind of `r` counts as named.
  static AmountSpec of_vector(const Resources& r, std::uint32_t named = 0);
  Resources resolve(const Resources& slot) const;
  // As a limit: kinds the amount does not mention (or a slot lacks) are unlimited.
  Resources resolve_limit(const Resources& slot) const;
};

// The plan fields a node or a time window may set. Unset fields inherit: a
// window's from the node's base plan, a base plan's from the defaults.
struct PlanSpec {
  std::optional<double> share;
  std::optional<AmountSpec> owned;
  std::optional<AmountSpec> limit;
  std::optional<AmountSpec> reserved;
  std::optional<bool> borrow;
};

struct WindowPlanSpec {
  DailyWindow window;
  PlanSpec plan;
  int line = 0;
};

struct ConsumerSpec {
  std::string name;
  PlanSpec plan;
  GraceByClass grace;  // unset: inherited from the parent, then the SLA policy
  std::vector<WindowPlanSpec> windows;
  std::vector<ConsumerSpec> children;
  int line = 0;  // where it was written, for error messages (0: unknown)
};

struct TreeSpec {
  std::vector<ConsumerSpec> consumers;  // children of the implicit root "/"
};

// A node's plan in force at one instant, resolved to vectors.
struct ConsumerPlan {
  double share = 1.0;
  Resources owned;
  Resources limit;  // kUnlimited in every kind when unset
  Resources reserved;
  bool borrow = true;
};

// Large enough to never bind, small enough that sums of thousands do not overflow.
inline constexpr std::int64_t kUnlimitedAmount = std::int64_t{1} << 50;
Resources unlimited_resources();

class ConsumerTree {
 public:
  // A plan with its amounts resolved to vectors; unset fields stay unset.
  struct PartialPlan {
    std::optional<double> share;
    std::optional<Resources> owned;
    std::optional<Resources> limit;
    std::optional<Resources> reserved;
    std::optional<bool> borrow;
  };
  struct Node {
    std::string name;
    std::string path;  // "/", "/B", "/B/B1"
    int parent = -1;
    int depth = 0;
    std::vector<int> children;
    PartialPlan base;
    struct Window {
      DailyWindow window;
      PartialPlan plan;
      int line = 0;
    };
    std::vector<Window> windows;
    GraceByClass grace;  // as written on this node
    int line = 0;
    bool is_leaf() const { return children.empty(); }
  };

  ConsumerTree() = default;

  // Validates `spec` and flattens it. `slot` turns slot counts into vectors.
  // With `capacity`, the top-level owned amounts must fit in it at every hour
  // of the week. Errors name the consumer path, the field and the source line.
  static Result<ConsumerTree> build(const TreeSpec& spec, const Resources& slot,
                                    const std::optional<Resources>& capacity = std::nullopt);

  std::size_t size() const { return nodes_.size(); }
  const Node& node(int i) const { return nodes_[static_cast<std::size_t>(i)]; }
  static constexpr int kRoot = 0;

  // The node at `path` ("/A/B1"; a trailing slash is tolerated).
  Result<int> find(std::string_view path) const;

  // Every node's plan in force at `t` (local time = UTC + offset): a node's
  // first open window overrides its base plan field by field; an unset owned
  // is the sum of the children's owned, an unset limit is unlimited. The
  // root's owned is the sum of the top-level owned amounts.
  std::vector<ConsumerPlan> plans_at(TimeMs t, int utc_offset_min) const;
  bool has_windows() const { return has_windows_; }
  // The next instant after `t` at which some node's plan may change.
  TimeMs next_plan_change(TimeMs t, int utc_offset_min) const;

  // The grace for a victim of class `c` in node `i`: the nearest setting on
  // the node or its ancestors, else the SLA policy's.
  TimeMs grace_ms(int i, SlaClass c, const SlaPolicy& policy) const;

  // Leaves in depth-first order (the order reports list them in).
  const std::vector<int>& leaves() const { return leaves_; }

  // The amount written the way the tree's plans were: "16 slots" or a vector.
  std::string describe(const Resources& r) const;

 private:
  std::vector<Node> nodes_;
  std::unordered_map<std::string, int> by_path_;
  std::vector<int> leaves_;
  Resources slot_;
  bool has_windows_ = false;
};

}  // namespace sched::core
