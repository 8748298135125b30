// Building, validating and querying the consumer tree.
#include "core/consumer_tree.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "core/quantity.hpp"

namespace sched::core {
namespace {

constexpr TimeMs kDayMs = 86'400'000;
// 1970-01-05 was a Monday: validation walks one week from here.
constexpr TimeMs kReferenceMonday = 4 * kDayMs;

std::string where(const std::string& path, int line) {
  std::string s = "consumer " + path;
  if (line > 0) s += " (line " + std::to_string(line) + ")";
  return s;
}

Status check_name(const std::string& name) {
  if (name.empty()) return Status::invalid_argument("name is empty");
  if (name == "." || name == "..") return Status::invalid_argument("name '" + name + "' is reserved");
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return Status::invalid_argument("name '" + name + "' may contain only letters, digits, '_', '-' and '.'");
    }
  }
  return Status::ok();
}

Result<std::optional<Resources>> resolve_amount(const std::optional<AmountSpec>& a, const Resources& slot,
                                                const char* field, bool as_limit = false) {
  if (!a) return std::optional<Resources>{};
  if (a->in_slots && (a->slots < 0 || !std::isfinite(a->slots))) {
    return Status::invalid_argument(std::string(field) + " must be a non-negative number of slots, got " +
                                    std::to_string(a->slots));
  }
  const Resources written = a->resolve(slot);
  if (written.any_negative()) {
    return Status::invalid_argument(std::string(field) + " has a negative amount: " + written.to_string());
  }
  return std::optional<Resources>(as_limit ? a->resolve_limit(slot) : written);
}

Result<ConsumerTree::PartialPlan> resolve_plan(const PlanSpec& p, const Resources& slot) {
  ConsumerTree::PartialPlan out;
  if (p.share) {
    if (!std::isfinite(*p.share) || *p.share <= 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", *p.share);
      return Status::invalid_argument(std::string("share must be a positive number, got ") + buf);
    }
    out.share = p.share;
  }
  auto owned = resolve_amount(p.owned, slot, "owned");
  if (!owned) return owned.status();
  out.owned = *owned;
  auto limit = resolve_amount(p.limit, slot, "limit", /*as_limit=*/true);
  if (!limit) return limit.status();
  out.limit = *limit;
  auto reserved = resolve_amount(p.reserved, slot, "reserved");
  if (!reserved) return reserved.status();
  out.reserved = *reserved;
  out.borrow = p.borrow;
  return out;
}

ConsumerTree::PartialPlan overlay(const ConsumerTree::PartialPlan& base, const ConsumerTree::PartialPlan& top) {
  ConsumerTree::PartialPlan r = base;
  if (top.share) r.share = top.share;
  if (top.owned) r.owned = top.owned;
  if (top.limit) r.limit = top.limit;
  if (top.reserved) r.reserved = top.reserved;
  if (top.borrow) r.borrow = top.borrow;
  return r;
}

}  // namespace

Resources AmountSpec::resolve(const Resources& slot) const {
  if (!in_slots) return vec;
  Resources r;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    r[k] = static_cast<std::int64_t>(std::llround(slots * static_cast<double>(slot[k])));
  }
  return r;
}

AmountSpec AmountSpec::of_vector(const Resources& r, std::uint32_t named) {
  AmountSpec a{false, 0, r, named};
  if (named == 0) {
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k)
      if (r[k] != 0) a.named |= 1u << k;
  }
  return a;
}

Resources AmountSpec::resolve_limit(const Resources& slot) const {
  Resources r = resolve(slot);
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    const bool mentioned = in_slots ? slot[k] > 0 : ((named >> k) & 1u) != 0;
    if (!mentioned) r[k] = kUnlimitedAmount;
  }
  return r;
}

Resources unlimited_resources() {
  Resources r;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) r[k] = kUnlimitedAmount;
  return r;
}

Result<ConsumerTree> ConsumerTree::build(const TreeSpec& spec, const Resources& slot,
                                         const std::optional<Resources>& capacity) {
  ConsumerTree t;
  t.slot_ = slot;
  Node root;
  root.name = "";
  root.path = "/";
  t.nodes_.push_back(root);
  t.by_path_["/"] = kRoot;

  // Depth-first, so leaves_ and node indices follow the order written.
  struct Frame {
    const ConsumerSpec* spec;
    int parent;
  };
  std::vector<Frame> stack;
  for (auto it = spec.consumers.rbegin(); it != spec.consumers.rend(); ++it) stack.push_back({&*it, kRoot});
  while (!stack.empty()) {
    const Frame f = stack.back();
    stack.pop_back();
    const ConsumerSpec& cs = *f.spec;
    const Node& parent = t.nodes_[static_cast<std::size_t>(f.parent)];
    const std::string path = (parent.path == "/" ? "" : parent.path) + "/" + cs.name;
    if (Status st = check_name(cs.name); !st.is_ok()) return st.with_context(where(path, cs.line));
    if (auto dup = t.by_path_.find(path); dup != t.by_path_.end()) {
      const int other = t.nodes_[static_cast<std::size_t>(dup->second)].line;
      std::string msg = "duplicate name '" + cs.name + "' under " + parent.path;
      if (other > 0) msg += " (first defined at line " + std::to_string(other) + ")";
      return Status::invalid_argument(where(path, cs.line) + ": " + msg);
    }
    Node n;
    n.name = cs.name;
    n.path = path;
    n.parent = f.parent;
    n.depth = parent.depth + 1;
    n.line = cs.line;
    n.grace = cs.grace;
    for (const auto& g : {cs.grace.any}) {
      if (g && *g < 0) return Status::invalid_argument(where(path, cs.line) + ": grace must not be negative");
    }
    for (const auto& g : cs.grace.per_class) {
      if (g && *g < 0) return Status::invalid_argument(where(path, cs.line) + ": grace must not be negative");
    }
    auto base = resolve_plan(cs.plan, slot);
    if (!base) return base.status().with_context(where(path, cs.line));
    n.base = *base;
    for (const auto& w : cs.windows) {
      auto wp = resolve_plan(w.plan, slot);
      if (!wp)
        return wp.status().with_context(where(path, w.line > 0 ? w.line : cs.line) + " window " + w.window.to_string());
      n.windows.push_back({w.window, *wp, w.line});
      t.has_windows_ = true;
    }
    const int idx = static_cast<int>(t.nodes_.size());
    t.nodes_[static_cast<std::size_t>(f.parent)].children.push_back(idx);
    t.by_path_[path] = idx;
    t.nodes_.push_back(std::move(n));
    for (auto it = cs.children.rbegin(); it != cs.children.rend(); ++it) stack.push_back({&*it, idx});
  }
  for (std::size_t i = 1; i < t.nodes_.size(); ++i)
    if (t.nodes_[i].is_leaf()) t.leaves_.push_back(static_cast<int>(i));

  // The plans must hold at every hour of the week: check each segment
  // between window edges (without windows there is one segment).
  std::set<TimeMs> starts{kReferenceMonday};
  if (t.has_windows_) {
    TimeMs at = kReferenceMonday;
    while (true) {
      at = t.next_plan_change(at, 0);
      if (at >= kReferenceMonday + 7 * kDayMs) break;
      starts.insert(at);
    }
  }
  for (TimeMs at : starts) {
    const std::vector<ConsumerPlan> plans = t.plans_at(at, 0);
    std::string when;
    if (t.has_windows_) {
      const TimeMs rel = at - kReferenceMonday;
      static const char* kDays[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
      char buf[64];
      std::snprintf(buf, sizeof buf, " on %s at %02lld:%02lld", kDays[rel / kDayMs],
                    static_cast<long long>((rel % kDayMs) / 3'600'000),
                    static_cast<long long>((rel % 3'600'000) / 60'000));
      when = buf;
    }
    for (std::size_t i = 1; i < t.nodes_.size(); ++i) {
      const Node& n = t.nodes_[i];
      const ConsumerPlan& p = plans[i];
      if (!p.reserved.fits_in(p.owned)) {
        return Status::invalid_argument(where(n.path, n.line) + ": reserved (" + t.describe(p.reserved) +
                                        ") exceeds owned (" + t.describe(p.owned) + ")" + when);
      }
      if (!p.owned.fits_in(p.limit)) {
        return Status::invalid_argument(where(n.path, n.line) + ": limit (" + t.describe(p.limit) +
                                        ") is below owned (" + t.describe(p.owned) + ")" + when);
      }
      if (!n.children.empty()) {
        Resources sum;
        for (int c : n.children) sum += plans[static_cast<std::size_t>(c)].owned;
        if (!sum.fits_in(p.owned)) {
          return Status::invalid_argument(where(n.path, n.line) + ": children own " + t.describe(sum) +
                                          " in total, more than the " + t.describe(p.owned) + " owned by " + n.path +
                                          when);
        }
      }
    }
    if (capacity && !plans[kRoot].owned.fits_in(*capacity)) {
      return Status::invalid_argument("top-level consumers own " + t.describe(plans[kRoot].owned) +
                                      " in total, more than the capacity of " + t.describe(*capacity) + when);
    }
  }
  return t;
}

Result<int> ConsumerTree::find(std::string_view path) const {
  std::string p(path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p.empty() || p.front() != '/') p = "/" + p;
  auto it = by_path_.find(p);
  if (it == by_path_.end()) return Status::not_found("unknown consumer '" + std::string(path) + "'");
  return it->second;
}

std::vector<ConsumerPlan> ConsumerTree::plans_at(TimeMs t, int utc_offset_min) const {
  std::vector<ConsumerPlan> out(nodes_.size());
  std::vector<std::uint8_t> owned_set(nodes_.size(), 0);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    PartialPlan p = n.base;
    for (const auto& w : n.windows) {
      if (w.window.contains(t, utc_offset_min)) {
        p = overlay(p, w.plan);
        break;
      }
    }
    ConsumerPlan& c = out[i];
    c.share = p.share.value_or(1.0);
    c.limit = p.limit.value_or(unlimited_resources());
    c.reserved = p.reserved.value_or(Resources{});
    c.borrow = p.borrow.value_or(true);
    if (p.owned) {
      c.owned = *p.owned;
      owned_set[i] = 1;
    }
  }
  // An unset owned covers the children's: sum bottom-up (children follow
  // their parent in index order, so walk backwards).
  for (std::size_t i = nodes_.size(); i-- > 0;) {
    const Node& n = nodes_[i];
    if (owned_set[i] || n.children.empty()) continue;
    Resources sum;
    for (int ch : n.children) sum += out[static_cast<std::size_t>(ch)].owned;
    out[i].owned = sum;
  }
  return out;
}

TimeMs ConsumerTree::next_plan_change(TimeMs t, int utc_offset_min) const {
  TimeMs best = kNever;
  for (const Node& n : nodes_)
    for (const auto& w : n.windows) best = std::min(best, w.window.next_boundary_after(t, utc_offset_min));
  return best;
}

TimeMs ConsumerTree::grace_ms(int i, SlaClass c, const SlaPolicy& policy) const {
  for (int n = i; n >= 0; n = nodes_[static_cast<std::size_t>(n)].parent) {
    if (auto g = nodes_[static_cast<std::size_t>(n)].grace.for_class(c)) return *g;
  }
  return policy.grace_ms[static_cast<std::size_t>(c)];
}

std::string ConsumerTree::describe(const Resources& in) const {
  // Kinds a limit leaves unbounded are not worth printing.
  Resources r = in;
  bool any = false;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    if (r[k] >= kUnlimitedAmount)
      r[k] = 0;
    else
      any = true;
  }
  if (!any) return "unlimited";
  if (!slot_.is_zero()) {
    const std::int64_t n = r.count_of(slot_);
    if (slot_ * n == r) return std::to_string(n) + (n == 1 ? " slot" : " slots");
  }
  return r.to_string();
}

}  // namespace sched::core
