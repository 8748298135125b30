// The scheduling pass: expire deadlines, work out what every session wants,
// aggregate up the tree, split top down with the share policy, then revoke,
// grant and fill. Only dirty subtrees are recomputed, so one demand change
// costs a walk down one path, not a pass over the whole tree.
#include "core/scheduler.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace sched::core {
namespace {

constexpr double kEps = 1e-6;

VictimKey key_of(const Session& s) {
  return victim_key(s.spec.sla, s.spec.priority, s.start, s.seq);
}

// Whether a node's capacity moved, in every kind since it was last split,
// by less than half its smallest executor (such a move cannot change whole
// executors) or by less than `tolerance` of it (a sliver of a big subtree:
// following it would re-split hundreds of consumers below after every
// demand change elsewhere, for a move a tenant cannot tell from noise).
// The drift stays bounded: it is measured from the capacity last split
// with, not from the previous pass, and a full pass resets it.
// A kind no executor below uses does not matter to the node at all.
bool near(const FracResources& last, const FracResources& now, const Resources& grain, double tolerance) {
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    const auto kind = static_cast<ResourceKind>(k);
    if (grain[kind] <= 0) continue;
    const double tol = std::max(0.5 * static_cast<double>(grain[kind]), tolerance * std::abs(now[kind]));
    if (std::abs(last[kind] - now[kind]) > tol + 1e-9) return false;
  }
  return true;
}

// Per kind, the smaller non-zero amount of the two (0 when neither has it).
Resources finer(const Resources& a, const Resources& b) {
  Resources out;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    const auto kind = static_cast<ResourceKind>(k);
    out[kind] = a[kind] <= 0 ? b[kind] : b[kind] <= 0 ? a[kind] : std::min(a[kind], b[kind]);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::create(const SchedulerConfig& config, const Clock* clock) {
  if (clock == nullptr) return Status::invalid_argument("scheduler needs a clock");
  if (config.slot.is_zero() || config.slot.any_negative()) {
    return Status::invalid_argument("slot must be a positive resource vector, got " + config.slot.to_string());
  }
  if (!(config.resplit_tolerance >= 0 && config.resplit_tolerance <= SchedulerConfig::kMaxResplitTolerance)) {
    char text[96];
    std::snprintf(text, sizeof text, "resplit_tolerance must be between 0 and %g, got %g",
                  SchedulerConfig::kMaxResplitTolerance, config.resplit_tolerance);
    return Status::invalid_argument(text);
  }
  if (!(config.rebalance.threshold > 0 && config.rebalance.threshold <= 1))
    return Status::invalid_argument("rebalance threshold must be above 0 and at most 1");
  if (config.rebalance.delay_ms < 0) return Status::invalid_argument("rebalance delay must not be negative");
  auto policy = make_share_policy(config.share_policy, config.rebalance);
  if (!policy) return policy.status();
  std::unique_ptr<Scheduler> s(new Scheduler(config, clock, std::move(*policy)));
  return s;
}

Scheduler::Scheduler(const SchedulerConfig& config, const Clock* clock, std::unique_ptr<SharePolicy> policy)
    : config_(config), clock_(clock), policy_(std::move(policy)) {
  auto empty = ConsumerTree::build(TreeSpec{}, config_.slot);
  tree_ = std::move(empty.value());
  nodes_.assign(tree_.size(), NodeState{});
  fill_index_.reset(tree_);
  plans_ = tree_.plans_at(clock_->now_ms(), config_.utc_offset_min);
  refresh_norm();
}

// --- capacity -----------------------------------------------------------------

Status Scheduler::add_host(const HostSpec& host) {
  auto i = hosts_.add(host);
  if (!i) return i.status();
  refresh_norm();
  return Status::ok();
}

Status Scheduler::remove_host(std::string_view name) {
  auto hi = hosts_.find(name);
  if (!hi) return hi.status();
  const int h = *hi;
  if (!hosts_.host(h).up) return Status::not_found("host " + std::string(name) + " is already gone");
  now_ = clock_->now_ms();
  // Revocations on the host are moot: the slots are gone.
  for (auto it = revocations_.begin(); it != revocations_.end();) {
    if (it->second.host != h) {
      ++it;
      continue;
    }
    Session& s = sessions_[static_cast<std::size_t>(it->second.session)];
    Placement* p = placement_on(s, h);
    p->revoking -= it->second.slots;
    s.revoking -= it->second.slots;
    add_hold(s.consumer, shape_of(s) * it->second.slots);  // counted back, lost just below
    const std::uint64_t id = it->first;
    ++it;
    drop_revocation(id);
  }
  for (int si : std::vector<int>(on_host_.on(h))) {  // a copy: dropping placements edits the list
    Session& s = sessions_[static_cast<std::size_t>(si)];
    if (!s.live) continue;
    Placement* p = placement_on(s, h);
    if (p == nullptr || p->slots == 0) continue;
    const std::int64_t n = p->slots;
    hosts_.unuse(h, shape_of(s) * n);
    change_held(s, -n);
    add_hold(s.consumer, shape_of(s) * -n);
    p->slots = 0;
    drop_empty_placements(s);
    emit(DecisionKind::kLost, s, h, n, Reason::kHostLost, std::string(), kNever, 0, &pending_);
    note_session(static_cast<int>(&s - sessions_.data()));
  }
  SCHED_RETURN_IF_ERROR(hosts_.remove(name));
  refresh_norm();
  return Status::ok();
}

Status Scheduler::drain_host(std::string_view name, bool drain) {
  auto hi = hosts_.find(name);
  if (!hi) return hi.status();
  SCHED_RETURN_IF_ERROR(hosts_.set_draining(name, drain));
  if (drain) {
    drain_pending_.push_back(*hi);
  } else {
    // Undrained before the deadlines: the slots may stay after all.
    now_ = clock_->now_ms();
    std::erase(drain_pending_, *hi);
    std::vector<std::uint64_t> ids;
    for (const auto& [id, r] : revocations_)
      if (r.host == *hi && r.reason == Reason::kDrain) ids.push_back(id);
    for (std::uint64_t id : ids) {
      note_session(revocations_.at(id).session);
      cancel_revocation(id, revocations_.at(id).slots, &pending_);
    }
  }
  refresh_norm();
  return Status::ok();
}

Status Scheduler::set_host_capacity(std::string_view name, const Resources& capacity) {
  auto hi = hosts_.find(name);
  if (!hi) return hi.status();
  SCHED_RETURN_IF_ERROR(hosts_.set_capacity(name, capacity));
  const Host& h = hosts_.host(*hi);
  // Grown back before the deadlines: slots taken for the shrink may stay,
  // the latest taken first, as far as the host can hold them.
  std::vector<std::uint64_t> forced;
  Resources leaving;
  for (const auto& [id, r] : revocations_) {
    if (r.host != *hi || !r.forced) continue;
    forced.push_back(id);
    leaving += sessions_[static_cast<std::size_t>(r.session)].spec.shape * r.slots;
  }
  now_ = clock_->now_ms();
  for (auto it = forced.rbegin(); it != forced.rend(); ++it) {
    const Revocation& r = revocations_.at(*it);
    const Resources shape = sessions_[static_cast<std::size_t>(r.session)].spec.shape;
    std::int64_t keep = r.slots;
    while (keep > 0 && !(h.used - leaving + shape * keep).fits_in(h.capacity)) --keep;
    if (keep == 0) continue;
    leaving -= shape * keep;
    note_session(r.session);
    cancel_revocation(*it, keep, &pending_);
  }
  if (!(h.used - leaving).fits_in(h.capacity)) shrunk_pending_.push_back(*hi);
  refresh_norm();
  return Status::ok();
}

void Scheduler::refresh_norm() {
  const Resources cap = hosts_.schedulable_capacity();
  if (cap == norm_capacity_) {
    mark_dirty(ConsumerTree::kRoot);
    return;
  }
  norm_capacity_ = cap;
  norm_ = DominantShare(cap);
  // Dominant shares are measured against capacity: all of them moved.
  mark_all_dirty();
}

// --- tenancy ------------------------------------------------------------------

Status Scheduler::set_tree(const TreeSpec& spec, bool check_capacity) {
  std::optional<Resources> cap;
  if (check_capacity) cap = hosts_.schedulable_capacity();
  auto built = ConsumerTree::build(spec, config_.slot, cap);
  if (!built) return built.status();
  ConsumerTree next = std::move(built.value());
  // Every live session must keep a leaf to live in.
  std::vector<std::pair<int, int>> moves;
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    const Session& s = sessions_[i];
    if (!s.live) continue;
    const std::string& path = tree_.node(s.consumer).path;
    auto n = next.find(path);
    if (!n) {
      return Status::failed_precondition("the new tree has no consumer " + path + ", where session " + s.spec.id +
                                         " runs; end its sessions first");
    }
    if (!next.node(*n).is_leaf()) {
      return Status::failed_precondition("consumer " + path + " would get children, but session " + s.spec.id +
                                         " runs in it; sessions live in leaf consumers only");
    }
    moves.emplace_back(static_cast<int>(i), *n);
  }
  tree_ = std::move(next);
  nodes_.assign(tree_.size(), NodeState{});
  rebalance_wakes_.clear();  // node indices are the new tree's
  // Node indices moved: re-index the claimants of revocations in flight.
  for (auto& [id, r] : revocations_) {
    r.claimant_refs.clear();
    for (const std::string& name : r.claimants) {
      if (!name.empty() && name.front() == '/') {
        if (auto n = tree_.find(name)) r.claimant_refs.push_back({*n, -1, 0});
      } else if (auto it = session_by_id_.find(name); it != session_by_id_.end()) {
        r.claimant_refs.push_back({-1, it->second, sessions_[static_cast<std::size_t>(it->second)].seq});
      }
    }
  }
  for (auto [si, node] : moves) {
    Session& s = sessions_[static_cast<std::size_t>(si)];
    s.consumer = node;
    nodes_[static_cast<std::size_t>(node)].sessions.push_back(si);
    add_hold(node, shape_of(s) * s.effective());
    add_held_all(node, shape_of(s) * s.held);
  }
  fill_index_.reset(tree_);
  for (const auto& [si, node] : moves)
    if (const int g = hungry_.group_of(si); g >= 0) fill_index_.add(si, g, node, tree_);
  load_plans(clock_->now_ms());
  return Status::ok();
}

// --- sessions -----------------------------------------------------------------

Status Scheduler::check_counts(const std::string& id, std::int64_t demand, std::int64_t min, std::int64_t max) {
  if (demand < 0 || min < 0 || max < 0) {
    return Status::invalid_argument("session " + id + ": demand, min and max must not be negative");
  }
  if (min > max) {
    return Status::invalid_argument("session " + id + ": min (" + std::to_string(min) + ") exceeds max (" +
                                    std::to_string(max) + ")");
  }
  return Status::ok();
}

Status Scheduler::register_session(const SessionSpec& spec) {
  if (spec.id.empty()) return Status::invalid_argument("session id is empty");
  if (session_by_id_.count(spec.id) != 0)
    return Status::already_exists("session " + spec.id + " is already registered");
  auto node = tree_.find(spec.consumer);
  if (!node) return node.status();
  if (*node == ConsumerTree::kRoot || !tree_.node(*node).is_leaf()) {
    return Status::invalid_argument("consumer " + tree_.node(*node).path +
                                    " has children; sessions belong to leaf consumers");
  }
  SCHED_RETURN_IF_ERROR(check_counts(spec.id, spec.demand, spec.min, spec.max));
  if (spec.shape.any_negative()) return Status::invalid_argument("session " + spec.id + ": negative executor shape");
  int idx = 0;
  if (!free_session_slots_.empty()) {
    idx = free_session_slots_.back();
    free_session_slots_.pop_back();
  } else {
    idx = static_cast<int>(sessions_.size());
    sessions_.emplace_back();
    session_dirty_.push_back(0);
  }
  Session& s = sessions_[static_cast<std::size_t>(idx)];
  s = Session{};
  s.spec = spec;
  if (s.spec.shape.is_zero()) s.spec.shape = config_.slot;
  s.consumer = *node;
  s.seq = next_seq_++;
  s.start = clock_->now_ms();
  s.live = true;
  session_by_id_[spec.id] = idx;
  nodes_[static_cast<std::size_t>(*node)].sessions.push_back(idx);
  if (!whole_slots(s.spec.shape)) {
    ++nonuniform_sessions_;
    update_unit();
  }
  note_session(idx);
  return Status::ok();
}

Status Scheduler::update_session(std::string_view id, const SessionUpdate& u) {
  auto it = session_by_id_.find(std::string(id));
  if (it == session_by_id_.end()) return Status::not_found("unknown session '" + std::string(id) + "'");
  Session& s = sessions_[static_cast<std::size_t>(it->second)];
  const std::int64_t demand = u.demand.value_or(s.spec.demand);
  const std::int64_t mn = u.min.value_or(s.spec.min);
  const std::int64_t mx = u.max.value_or(s.spec.max);
  SCHED_RETURN_IF_ERROR(check_counts(s.spec.id, demand, mn, mx));
  s.spec.demand = demand;
  s.spec.min = mn;
  s.spec.max = mx;
  if (u.priority) s.spec.priority = *u.priority;
  if (u.busy) {
    for (Placement& p : s.placements) p.busy = 0;
    for (const auto& [host, n] : *u.busy) {
      auto h = hosts_.find(host);
      Placement* p = h ? placement_on(s, *h) : nullptr;
      if (p != nullptr) p->busy = std::max<std::int64_t>(0, n);
    }
  }
  // Busy counts only steer which slots a later release takes.
  if (u.demand || u.min || u.max || u.priority) note_session(it->second);
  return Status::ok();
}

Status Scheduler::unregister_session(std::string_view id) {
  auto it = session_by_id_.find(std::string(id));
  if (it == session_by_id_.end()) return Status::not_found("unknown session '" + std::string(id) + "'");
  const int idx = it->second;
  Session& s = sessions_[static_cast<std::size_t>(idx)];
  now_ = clock_->now_ms();
  // Outstanding revocations end with the session; every slot goes back now.
  for (std::uint64_t rid : std::vector<std::uint64_t>(s.revocations)) drop_revocation(rid);
  for (Placement& p : s.placements) {
    if (p.slots == 0) continue;
    hosts_.unuse(p.host, shape_of(s) * p.slots);
    emit(DecisionKind::kRelease, s, p.host, p.slots, Reason::kUnregistered, std::string(), kNever, 0, &pending_);
  }
  add_hold(s.consumer, shape_of(s) * -s.effective());
  change_held(s, -s.held);
  auto& list = nodes_[static_cast<std::size_t>(s.consumer)].sessions;
  std::erase(list, idx);
  mark_dirty(s.consumer);
  if (s.idle_since) idle_deadlines_.erase({*s.idle_since + config_.sla.interactive_idle_timeout_ms, idx});
  unplaced_.erase(idx);
  not_hungry(idx);
  session_by_id_.erase(it);
  if (!whole_slots(s.spec.shape)) {
    --nonuniform_sessions_;
    update_unit();
  }
  for (const Placement& p : s.placements) on_host_.remove(p.host, idx);
  s = Session{};
  free_session_slots_.push_back(idx);
  return Status::ok();
}

Status Scheduler::adopt_slots(std::string_view id, std::string_view host, std::int64_t slots, TimeMs since) {
  auto it = session_by_id_.find(std::string(id));
  if (it == session_by_id_.end()) return Status::not_found("unknown session '" + std::string(id) + "'");
  auto hi = hosts_.find(host);
  if (!hi) return hi.status();
  if (slots <= 0) return Status::invalid_argument("adopting " + std::to_string(slots) + " slots");
  Session& s = sessions_[static_cast<std::size_t>(it->second)];
  const Resources need = shape_of(s) * slots;
  if (!need.fits_in(hosts_.host(*hi).free())) {
    return Status::failed_precondition("session " + s.spec.id + ": " + std::to_string(slots) + " slots do not fit on " +
                                       std::string(host) + " (free " + hosts_.host(*hi).free().to_string() + ")");
  }
  Placement* p = placement_on(s, *hi);
  if (p == nullptr) {
    s.placements.push_back(Placement{*hi, 0, 0, since});
    on_host_.add(*hi, it->second);
    p = &s.placements.back();
  }
  p->slots += slots;
  change_held(s, slots);
  hosts_.use(*hi, need);
  add_hold(s.consumer, need);
  note_session(it->second);
  return Status::ok();
}

Status Scheduler::release_slots(std::string_view id, std::string_view host, std::int64_t slots) {
  auto it = session_by_id_.find(std::string(id));
  if (it == session_by_id_.end()) return Status::not_found("unknown session '" + std::string(id) + "'");
  auto hi = hosts_.find(host);
  if (!hi) return hi.status();
  Session& s = sessions_[static_cast<std::size_t>(it->second)];
  Placement* p = placement_on(s, *hi);
  if (slots <= 0) return Status::invalid_argument("release of " + std::to_string(slots) + " slots");
  if (p == nullptr || p->slots < slots) {
    return Status::failed_precondition("session " + s.spec.id + " holds " + std::to_string(p ? p->slots : 0) +
                                       " slots on " + std::string(host) + ", cannot release " + std::to_string(slots));
  }
  now_ = clock_->now_ms();
  std::int64_t left = slots;
  // Slots promised back go first: the driver is complying early.
  for (std::uint64_t rid : std::vector<std::uint64_t>(s.revocations)) {
    if (left == 0) break;
    auto r = revocations_.find(rid);
    if (r == revocations_.end() || r->second.host != *hi) continue;
    const std::int64_t n = std::min(left, r->second.slots);
    r->second.slots -= n;
    p->revoking -= n;
    s.revoking -= n;
    p->slots -= n;
    change_held(s, -n);
    hosts_.unuse(*hi, shape_of(s) * n);
    left -= n;
    emit(DecisionKind::kReclaim, s, *hi, n, r->second.reason, r->second.beneficiary, kNever, rid, &pending_);
    if (r->second.slots == 0) drop_revocation(rid);
  }
  if (left > 0) {
    if (p->slots - p->revoking < left) return Status::internal("placement bookkeeping out of step");
    p->slots -= left;
    change_held(s, -left);
    hosts_.unuse(*hi, shape_of(s) * left);
    add_hold(s.consumer, shape_of(s) * -left);
    emit(DecisionKind::kRelease, s, *hi, left, Reason::kDemand, std::string(), kNever, 0, &pending_);
  }
  drop_empty_placements(s);
  note_session(it->second);
  return Status::ok();
}

// --- the pass -----------------------------------------------------------------

Decisions Scheduler::schedule() {
  now_ = clock_->now_ms();
  out_.clear();
  out_.swap(pending_);
  changed_sessions_.clear();

  refresh_plans();
  if (config_.full_pass_interval_ms > 0 && now_ - last_full_pass_ >= config_.full_pass_interval_ms) {
    if (!unplaced_.empty() || !hungry_.empty()) mark_all_dirty();
    last_full_pass_ = now_;
  }
  expire_revocations();
  revoke_draining();
  revoke_overcommitted();
  unblock_where_room_appeared();
  update_wants();
  while (!rebalance_wakes_.empty() && rebalance_wakes_.begin()->first <= now_) {
    mark_dirty(rebalance_wakes_.begin()->second);
    rebalance_wakes_.erase(rebalance_wakes_.begin());
  }
  aggregate();
  distribute(ConsumerTree::kRoot, FracResources(hosts_.schedulable_capacity()));
  apply_targets();
  keep_room_for_special_kinds();
  expire_revocations();  // zero-grace revocations free their slots for this pass
  place_grants();
  reclaim_for_placement();
  fill_idle();
  unplaced_.clear_fresh();
  hungry_.clear_fresh();
  return std::move(out_);
}

TimeMs Scheduler::next_wakeup() const {
  return std::min(plans_until_, next_settle_deadline());
}

TimeMs Scheduler::next_settle_deadline() const {
  TimeMs t = kNever;
  if (!by_deadline_.empty()) t = std::min(t, by_deadline_.begin()->first);
  if (!idle_deadlines_.empty()) t = std::min(t, idle_deadlines_.begin()->first);
  if (!rebalance_wakes_.empty()) t = std::min(t, rebalance_wakes_.begin()->first);
  return t;
}

void Scheduler::mark_all_dirty() {
  last_stranded_ = hosts_.stranded();
  // A full look lets every blocked session ask again.
  for (BlockedGroup& g : blocked_) {
    for (int si : g.queue) sessions_[static_cast<std::size_t>(si)].blocked = false;
    g.queue.clear();
  }
  dirty_nodes_.clear();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].dirty = true;
    nodes_[i].queued = true;
    dirty_nodes_.push_back(static_cast<int>(i));
  }
  for (std::size_t i = 0; i < sessions_.size(); ++i)
    if (sessions_[i].live) note_session(static_cast<int>(i));
}

void Scheduler::mark_dirty(int node) {
  // Marking always walks to the root, so a node already queued has its
  // ancestors queued too.
  for (int n = node; n >= 0; n = tree_.node(n).parent) {
    NodeState& st = nodes_[static_cast<std::size_t>(n)];
    if (st.queued && st.dirty) break;
    if (!st.queued) dirty_nodes_.push_back(n);
    st.queued = true;
    st.dirty = true;
  }
}

void Scheduler::add_hold(int node, const Resources& delta) {
  for (int n = node; n >= 0; n = tree_.node(n).parent) nodes_[static_cast<std::size_t>(n)].hold += delta;
}

void Scheduler::add_held_all(int node, const Resources& delta) {
  for (int n = node; n >= 0; n = tree_.node(n).parent) nodes_[static_cast<std::size_t>(n)].held_all += delta;
}

void Scheduler::change_held(Session& s, std::int64_t delta) {
  s.held += delta;
  add_held_all(s.consumer, shape_of(s) * delta);
}

std::int64_t Scheduler::path_room(const Session& s, bool keep_reserved) const {
  // Limits bind what is physically held: slots on their way out still count.
  std::int64_t room = kUnlimitedSlots;
  const Resources shape = shape_of(s);
  const FracResources own_reserved = nodes_[static_cast<std::size_t>(s.consumer)].reserved_idle;
  for (int n = s.consumer; n > 0; n = tree_.node(n).parent) {
    const ConsumerPlan& plan = plans_[static_cast<std::size_t>(n)];
    const NodeState& st = nodes_[static_cast<std::size_t>(n)];
    FracResources used(st.held_all);
    // Capacity reserved for other consumers below this one is not ours.
    if (keep_reserved && n != s.consumer) used += (st.reserved_idle - own_reserved).clamped();
    room = std::min(room, room_under_cap(plan, used, shape));
  }
  return std::max<std::int64_t>(room, 0);
}

std::int64_t Scheduler::room_under_cap(const ConsumerPlan& plan, const FracResources& used, const Resources& shape) {
  std::int64_t room = (FracResources(plan.limit) - used).count_of(shape);
  if (!plan.borrow) room = std::min(room, (FracResources(plan.owned) - used).count_of(shape));
  return room;
}

bool Scheduler::plans_in_whole_slots() const {
  auto whole = [&](const Resources& r) {
    std::int64_t n = -1;
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
      if (r[k] >= kUnlimitedAmount) continue;
      if (config_.slot[k] == 0) {
        if (r[k] != 0) return false;
        continue;
      }
      if (r[k] % config_.slot[k] != 0) return false;
      const std::int64_t m = r[k] / config_.slot[k];
      if (n >= 0 && m != n) return false;
      n = m;
    }
    return true;
  };
  for (const ConsumerPlan& p : plans_)
    if (!whole(p.owned) || !whole(p.reserved) || !whole(p.limit)) return false;
  return true;
}

bool Scheduler::whole_slots(const Resources& shape) const {
  const std::int64_t n = shape.count_of(config_.slot);
  return n > 0 && config_.slot * n == shape;
}

void Scheduler::update_unit() {
  const bool uniform = nonuniform_sessions_ == 0 && plans_whole_;
  if (uniform != uniform_) {
    uniform_ = uniform;
    mark_all_dirty();
  }
}

void Scheduler::note_session(int index) {
  if (session_dirty_[static_cast<std::size_t>(index)]) return;
  session_dirty_[static_cast<std::size_t>(index)] = 1;
  dirty_sessions_.push_back(index);
}

void Scheduler::refresh_plans() {
  if (now_ < plans_until_) return;
  load_plans(now_);
}

void Scheduler::load_plans(TimeMs t) {
  plans_ = tree_.plans_at(t, config_.utc_offset_min);
  plans_until_ = tree_.has_windows() ? tree_.next_plan_change(t, config_.utc_offset_min) : kNever;
  plans_whole_ = plans_in_whole_slots();
  update_unit();
  mark_all_dirty();
}

void Scheduler::expire_revocations() {
  // Every slot due goes before any claimant is served: a claimant a limit
  // holds back may need the budget one reclaim frees and the room another
  // makes.
  std::vector<Revocation> due;
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now_)
    due.push_back(reclaim(by_deadline_.begin()->second));
  for (const Revocation& r : due) serve_claimants(r);
}

void Scheduler::revoke_draining() {
  if (drain_pending_.empty()) return;
  std::vector<std::uint8_t> draining(hosts_.size(), 0);
  for (int h : drain_pending_)
    if (hosts_.host(h).draining) draining[static_cast<std::size_t>(h)] = 1;
  drain_pending_.clear();
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    Session& s = sessions_[i];
    if (!s.live) continue;
    for (Placement& p : s.placements) {
      const std::int64_t n = p.slots - p.revoking;
      if (draining[static_cast<std::size_t>(p.host)] && n > 0)
        revoke_at(s, p, n, Reason::kDrain, hosts_.host(p.host).name, {}).forced = true;
    }
    note_session(static_cast<int>(i));
  }
}

void Scheduler::revoke_overcommitted() {
  if (shrunk_pending_.empty()) return;
  std::sort(shrunk_pending_.begin(), shrunk_pending_.end());
  shrunk_pending_.erase(std::unique(shrunk_pending_.begin(), shrunk_pending_.end()), shrunk_pending_.end());
  for (int hi : shrunk_pending_) {
    const Host& h = hosts_.host(hi);
    if (!h.up) continue;
    // What the host holds once the revocations already under way end.
    Resources staying = h.used;
    std::vector<std::pair<VictimKey, int>> on_host;
    for (const auto& [id, r] : revocations_)
      if (r.host == hi) staying -= sessions_[static_cast<std::size_t>(r.session)].spec.shape * r.slots;
    for (int si : on_host_.on(hi)) {
      const Session& s = sessions_[static_cast<std::size_t>(si)];
      if (!s.live) continue;
      for (const Placement& p : s.placements)
        if (p.host == hi && p.slots > p.revoking) on_host.emplace_back(key_of(s), si);
    }
    std::sort(on_host.begin(), on_host.end());
    // Streaming minimums last: only a host that cannot hold them takes them.
    for (const bool pins : {false, true}) {
      for (const auto& [key, si] : on_host) {
        if (staying.fits_in(h.capacity)) break;
        Session& s = sessions_[static_cast<std::size_t>(si)];
        Placement* p = placement_on(s, hi);
        if (p == nullptr) continue;
        const Resources shape = shape_of(s);
        const FracResources excess = (FracResources(staying) - FracResources(h.capacity)).clamped();
        std::int64_t can = p->slots - p->revoking;
        if (!pins) can = std::min(can, std::max<std::int64_t>(0, s.effective() - s.pinned));
        if (can <= 0 || !helps(excess, shape)) continue;
        const std::int64_t n = std::min(can, shapes_to_cover(excess, shape));
        revoke_at(s, *p, n, Reason::kCapacity, h.name, {}).forced = true;
        staying -= shape * n;
        note_session(si);
      }
    }
  }
  shrunk_pending_.clear();
}

void Scheduler::update_wants() {
  // Idle interactive sessions whose timeout passed need a fresh look.
  while (!idle_deadlines_.empty() && idle_deadlines_.begin()->first <= now_) {
    note_session(idle_deadlines_.begin()->second);
    idle_deadlines_.erase(idle_deadlines_.begin());
  }
  for (int idx : dirty_sessions_) {
    session_dirty_[static_cast<std::size_t>(idx)] = 0;
    Session& s = sessions_[static_cast<std::size_t>(idx)];
    if (!s.live) continue;
    const TimeMs timeout = config_.sla.interactive_idle_timeout_ms;
    const std::int64_t base = std::clamp(std::max(s.spec.demand, s.spec.min), std::int64_t{0}, s.spec.max);
    std::int64_t want = base;
    Reason release_reason = Reason::kDemand;
    if (s.spec.sla == SlaClass::kInteractive && timeout > 0) {
      if (s.spec.demand >= s.effective()) {
        if (s.idle_since) idle_deadlines_.erase({*s.idle_since + timeout, idx});
        s.idle_since.reset();
      } else if (!s.idle_since) {
        s.idle_since = now_;
      }
      if (s.idle_since) {
        const TimeMs until = *s.idle_since + timeout;
        if (now_ < until) {
          // A notebook between cells keeps its slots for a while.
          want = std::max(want, std::min(s.effective(), s.spec.max));
          idle_deadlines_.insert({until, idx});
        } else {
          release_reason = Reason::kIdle;
        }
      }
    }
    // Blocked: asks for no more than it holds (never releases for it).
    if (s.blocked) want = std::min(want, std::max(s.effective(), s.spec.min));
    s.want = want;
    if (s.effective() > want) release(s, s.effective() - want, release_reason);
    mark_dirty(s.consumer);
  }
  dirty_sessions_.clear();
}

void Scheduler::aggregate() {
  if (dirty_nodes_.empty()) return;
  // Children have larger indices than their parents: walk bottom up.
  std::sort(dirty_nodes_.begin(), dirty_nodes_.end(), std::greater<>());
  dirty_nodes_.erase(std::unique(dirty_nodes_.begin(), dirty_nodes_.end()), dirty_nodes_.end());
  for (int n : dirty_nodes_) {
    NodeState& st = nodes_[static_cast<std::size_t>(n)];
    const ConsumerTree::Node& tn = tree_.node(n);
    const ConsumerPlan& plan = plans_[static_cast<std::size_t>(n)];
    FracResources demand;
    FracResources ri_children;
    VictimKey victim;
    Resources unit;
    Resources grain;
    auto smaller = [&](const Resources& a, const Resources& b) {
      if (b.is_zero()) return a;
      if (a.is_zero()) return b;
      return norm_.of(b) < norm_.of(a) ? b : a;
    };
    if (tn.is_leaf() && n != ConsumerTree::kRoot) {
      // Streaming minimums are pinned only inside what the consumer owns, so
      // a pin never stands in an owner's way.
      Resources budget = plan.owned;
      std::vector<int>& ss = st.sessions;
      std::sort(ss.begin(), ss.end(), [&](int a, int b) {
        return sessions_[static_cast<std::size_t>(a)].seq < sessions_[static_cast<std::size_t>(b)].seq;
      });
      for (int si : ss) {
        Session& s = sessions_[static_cast<std::size_t>(si)];
        demand += FracResources(shape_of(s) * s.want);
        s.pinned = 0;
        if (s.spec.sla == SlaClass::kStreaming && s.spec.min > 0) {
          s.pinned = std::min({s.spec.min, s.want, budget.count_of(shape_of(s))});
          budget -= shape_of(s) * s.pinned;
        }
        if (s.effective() > s.pinned) victim = std::min(victim, key_of(s));
        if (s.want > 0) {
          unit = smaller(unit, shape_of(s));
          grain = finer(grain, shape_of(s));
        }
      }
    } else {
      for (int c : tn.children) {
        const NodeState& cs = nodes_[static_cast<std::size_t>(c)];
        demand += cs.demand;
        ri_children += cs.reserved_idle;
        victim = std::min(victim, cs.victim);
        unit = smaller(unit, cs.unit);
        grain = finer(grain, cs.grain);
      }
    }
    // A consumer that may not borrow can use no more than it owns, less what
    // it keeps reserved for consumers below it.
    FracResources cap(plan.limit);
    if (!plan.borrow) cap = FracResources::min(cap, (FracResources(plan.owned) - ri_children).clamped());
    st.demand = FracResources::min(demand, cap);
    const FracResources g = FracResources::min(st.demand, FracResources(plan.owned));
    st.reserved_idle = FracResources::max((FracResources(plan.reserved) - g).clamped(), ri_children);
    st.victim = victim;
    st.unit = unit;
    st.grain = grain;
    st.queued = false;
  }
  dirty_nodes_.clear();
}

void Scheduler::distribute(int node, const FracResources& capacity) {
  NodeState& st = nodes_[static_cast<std::size_t>(node)];
  // Stranded room changes with almost every grant; the split follows it
  // only when it moved by more than a sliver of the cluster (hysteresis),
  // or the whole tree would be re-split on every change.
  if (node == ConsumerTree::kRoot &&
      norm_.of((FracResources(hosts_.stranded()) - FracResources(last_stranded_)).clamped() +
               (FracResources(last_stranded_) - FracResources(hosts_.stranded())).clamped()) > 0.002) {
    last_stranded_ = hosts_.stranded();
    st.dirty = true;
  }
  if (!st.dirty && near(st.last_capacity, capacity, st.grain, config_.resplit_tolerance)) return;
  st.dirty = false;
  st.last_capacity = capacity;
  st.target = capacity;
  const ConsumerTree::Node& tn = tree_.node(node);
  if (tn.is_leaf()) {
    if (node != ConsumerTree::kRoot) split_leaf(node, (capacity - st.reserved_idle).clamped());
    return;
  }
  const std::size_t depth = static_cast<std::size_t>(tn.depth);
  if (scratch_.size() <= depth) scratch_.resize(depth + 1);
  std::vector<ChildShare>& shares = scratch_[depth];
  shares.assign(tn.children.size(), ChildShare{});
  for (std::size_t i = 0; i < tn.children.size(); ++i) {
    const int c = tn.children[i];
    const NodeState& cs = nodes_[static_cast<std::size_t>(c)];
    const ConsumerPlan& plan = plans_[static_cast<std::size_t>(c)];
    ChildShare& sh = shares[i];
    sh.demand = cs.demand;
    sh.hold = FracResources(cs.hold);
    sh.owned = FracResources(plan.owned);
    sh.reserved_idle = cs.reserved_idle;
    sh.share = plan.share;
    sh.borrow = plan.borrow;
    sh.victim = cs.victim;
    sh.unit = cs.unit;
    sh.starving_long = cs.starving_since != kNever && now_ - cs.starving_since >= config_.rebalance.delay_ms;
  }
  // At the root, free room that fits no executor is not handed out: it
  // would go to targets nobody can place.
  const FracResources stranded(last_stranded_);
  policy_->distribute(capacity, norm_, shares, uniform_ ? &config_.slot : nullptr,
                      node == ConsumerTree::kRoot ? &stranded : nullptr);
  for (std::size_t i = 0; i < tn.children.size(); ++i) {
    NodeState& cs = nodes_[static_cast<std::size_t>(tn.children[i])];
    if (!shares[i].starving) {
      cs.starving_since = kNever;
    } else if (cs.starving_since == kNever) {
      cs.starving_since = now_;
      rebalance_wakes_.insert({now_ + config_.rebalance.delay_ms, node});
    }
  }
  // Who gains at this level: the children getting more than they hold.
  gaining_.clear();
  for (std::size_t i = 0; i < tn.children.size(); ++i) {
    const ChildShare& sh = shares[i];
    if (!sh.target.fits_in(sh.hold + sh.reserved_idle, kEps)) gaining_.push_back(tn.children[i]);
  }
  // Record every child's reason before descending into any of them. A cut
  // serves both whoever gains here and whatever this node was cut for.
  for (std::size_t i = 0; i < tn.children.size(); ++i) {
    const int c = tn.children[i];
    NodeState& cs = nodes_[static_cast<std::size_t>(c)];
    const ChildShare& sh = shares[i];
    const bool inherited = st.reason != Reason::kNone;
    cs.claimants.clear();
    if (sh.cut_reason == Reason::kNone && !(inherited && !sh.hold.fits_in(sh.target, kEps))) {
      cs.reason = Reason::kNone;
      cs.beneficiary.clear();
      continue;
    }
    if (inherited && (sh.cut_reason == Reason::kNone || sh.cut_reason == Reason::kCapacity)) {
      cs.reason = st.reason;  // this level only passes on its parent's cut
      cs.beneficiary = st.beneficiary;
    } else {
      cs.reason = sh.cut_reason;
      cs.beneficiary = inherited             ? st.beneficiary
                       : sh.beneficiary >= 0 ? tree_.node(tn.children[static_cast<std::size_t>(sh.beneficiary)]).path
                                             : std::string();
    }
    if (inherited) cs.claimants = st.claimants;
    cs.claimants.insert(cs.claimants.end(), gaining_.begin(), gaining_.end());
  }
  for (std::size_t i = 0; i < tn.children.size(); ++i) {
    // Index afresh: a deeper level may grow scratch_ and move its rows.
    const FracResources target = scratch_[depth][i].target;
    distribute(tn.children[i], target);
  }
}

void Scheduler::split_leaf(int leaf, const FracResources& allocatable) {
  NodeState& st = nodes_[static_cast<std::size_t>(leaf)];
  claims_.assign(st.sessions.size(), SessionClaim{});
  for (std::size_t i = 0; i < st.sessions.size(); ++i) {
    const Session& s = sessions_[static_cast<std::size_t>(st.sessions[i])];
    SessionClaim& c = claims_[i];
    c.sla = s.spec.sla;
    c.priority = s.spec.priority;
    c.start = s.start;
    c.order = static_cast<int>(s.seq);
    c.shape = shape_of(s);
    c.want = s.want;
    c.pinned = s.pinned;
    c.hold = s.effective();
  }
  splitter_.split(allocatable, norm_, st.reason, claims_);
  for (std::size_t i = 0; i < st.sessions.size(); ++i) {
    const int si = st.sessions[i];
    Session& s = sessions_[static_cast<std::size_t>(si)];
    const SessionClaim& c = claims_[i];
    s.target = c.target;
    s.pinned = c.pinned;
    s.reason = c.reason;
    if (c.beneficiary >= 0) {
      s.beneficiary = sessions_[static_cast<std::size_t>(st.sessions[static_cast<std::size_t>(c.beneficiary)])].spec.id;
    } else {
      s.beneficiary = st.beneficiary;
    }
    changed_sessions_.push_back(si);
  }
}

void Scheduler::apply_targets() {
  // Room taken for one waiting session stands until it no longer waits.
  std::vector<std::uint64_t> moot;
  for (std::uint64_t id : sticky_) {
    const Revocation& r = revocations_.at(id);
    const Session& f = sessions_[static_cast<std::size_t>(r.for_session)];
    if (!f.live || f.seq != r.for_seq || f.effective() >= f.target) moot.push_back(id);
  }
  for (std::uint64_t id : moot) cancel_revocation(id, revocations_.at(id).slots);
  if (changed_sessions_.empty()) return;
  for (int si : changed_sessions_) {
    Session& s = sessions_[static_cast<std::size_t>(si)];
    if (!s.live) continue;
    if (s.target > s.effective()) {
      unplaced_.insert(si, shape_of(s));
      unplaced_.touch(si);
    }
    if (s.want > s.target)
      hungry(si);
    else
      not_hungry(si);
  }
  // Hosts where sessions short of their target already run executors: taking
  // slots there lets them move without starting a JVM. Built when needed.
  std::vector<std::uint8_t> prefer;
  auto preferred = [&]() -> const std::vector<std::uint8_t>* {
    if (prefer.empty()) {
      prefer.assign(hosts_.size(), 0);
      for (const auto& g : unplaced_.groups())
        for (int si : g.members)
          for (const Placement& p : sessions_[static_cast<std::size_t>(si)].placements)
            prefer[static_cast<std::size_t>(p.host)] = 1;
    }
    return &prefer;
  };
  std::map<std::vector<ClaimantRef>, std::vector<Resources>> shapes_for;  // this pass's answers
  for (int si : changed_sessions_) {
    Session& s = sessions_[static_cast<std::size_t>(si)];
    if (!s.live) continue;
    const std::int64_t eff = s.effective();
    if (s.target < eff) {
      // Limits and drains take slots back whatever happens next; every other
      // cut is for someone, and is made only where it lets them run.
      const bool for_someone = s.reason != Reason::kLimit && s.reason != Reason::kDrain;
      std::vector<ClaimantRef> claimants;
      const std::vector<Resources>* shapes = nullptr;
      if (for_someone) {
        // Inside a consumer the claimant is one session; otherwise every
        // consumer the cut serves.
        const bool one_session = s.reason == Reason::kSlaPriority && !s.beneficiary.empty() && s.beneficiary[0] != '/';
        if (one_session) {
          auto b = session_by_id_.find(s.beneficiary);
          if (b != session_by_id_.end())
            claimants.push_back({-1, b->second, sessions_[static_cast<std::size_t>(b->second)].seq});
        } else {
          for (int c : nodes_[static_cast<std::size_t>(s.consumer)].claimants) claimants.push_back({c, -1, 0});
        }
        auto it = shapes_for.find(claimants);
        if (it == shapes_for.end()) it = shapes_for.emplace(claimants, claimant_shapes(claimants)).first;
        shapes = &it->second;
      }
      revoke(s, eff - s.target, s.reason, s.beneficiary, preferred(), shapes, claimants);
    } else if (s.target > eff && s.revoking > 0) {
      cancel_revocations(s, s.target - eff);
    }
    if (s.target > s.effective())
      unplaced_.insert(si, shape_of(s));
    else
      unplaced_.erase(si);
  }
}

std::vector<Resources> Scheduler::claimant_shapes(const std::vector<ClaimantRef>& beneficiaries) const {
  // The executor shapes of sessions waiting for slots that a cut for
  // `beneficiaries` (consumer paths or session ids; empty: anyone) serves.
  std::vector<Resources> shapes;
  for (const auto& g : unplaced_.groups()) {
    for (int si : g.members) {
      if (beneficiaries.empty() || claims(sessions_[static_cast<std::size_t>(si)], beneficiaries)) {
        shapes.push_back(g.shape);
        break;
      }
    }
  }
  return shapes;
}

bool Scheduler::placed_before(const Session& x, const Session& y) {
  if (grant_rank(x.spec.sla) != grant_rank(y.spec.sla)) return grant_rank(x.spec.sla) < grant_rank(y.spec.sla);
  if (x.spec.priority != y.spec.priority) return x.spec.priority > y.spec.priority;
  return x.seq < y.seq;
}

std::string Scheduler::session_to_start_ahead(std::uint64_t revocation_id) const {
  auto it = revocations_.find(revocation_id);
  if (it == revocations_.end()) return {};
  const Revocation& r = it->second;
  if (!r.promises_room()) return {};
  const Host& host = hosts_.host(r.host);
  const Session* best = nullptr;
  auto consider = [&](const Session& s) {
    if (!s.live || s.target <= s.effective() || !shape_of(s).fits_in(host.capacity)) return;
    for (const Placement& p : s.placements)
      if (p.host == r.host) return;  // its executor there takes the slots
    if (best == nullptr || placed_before(s, *best)) best = &s;
  };
  for (const ClaimantRef& c : r.claimant_refs) {
    if (c.session < 0) continue;
    const Session& s = sessions_[static_cast<std::size_t>(c.session)];
    if (s.seq == c.seq) consider(s);
  }
  if (best == nullptr) {
    for (const auto& g : unplaced_.groups())
      for (int si : g.members) {
        const Session& s = sessions_[static_cast<std::size_t>(si)];
        if (claims(s, r.claimant_refs)) consider(s);
      }
  }
  return best != nullptr ? best->spec.id : std::string();
}

void Scheduler::place_grants() {
  if (unplaced_.empty()) return;
  // Only where room for a shape appeared since the last try, or for sessions
  // whose wait just began: the rest would fail as they did.
  std::vector<std::pair<bool, int>> keyed;  // (not owner-short, session)
  for (auto& group : unplaced_.groups()) {
    if (group.members.empty()) continue;
    const bool room_moved = hosts_.room_epoch(group.shape) != group.tried_epoch;
    for (int si : group.members)
      if (room_moved || unplaced_.fresh(si)) keyed.emplace_back(false, si);
  }
  if (keyed.empty()) return;
  // Sessions an owner on their path is short for go first, whatever their
  // shape: room that frees up is theirs before anyone else's.
  for (auto& k : keyed) k.first = owner_with_room(sessions_[static_cast<std::size_t>(k.second)]) < 0;
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return !a.first;
    return placed_before(sessions_[static_cast<std::size_t>(a.second)], sessions_[static_cast<std::size_t>(b.second)]);
  });
  // Room on its way (built when needed).
  std::vector<std::pair<int, Resources>> coming;
  bool coming_built = false;
  auto room_on_its_way = [&](const Resources& shape) {
    if (!coming_built) {
      coming = room_coming();
      coming_built = true;
    }
    for (const auto& [h, r] : coming)
      if (hosts_.host(h).schedulable() && shape.fits_in(hosts_.host(h).free() + r)) return true;
    return false;
  };
  for (const auto& [not_short, si] : keyed) {
    Session& s = sessions_[static_cast<std::size_t>(si)];
    if (place_session(s)) {
      unplaced_.erase(si);
    } else if (not_short && hosts_.total_room(shape_of(s)) == 0 && !room_on_its_way(shape_of(s))) {
      // A borrower whose executors fit nowhere, nor will after the
      // revocations under way: its claim is room nobody can use. It waits for
      // room of its shape without asking.
      block(si);
    }
  }
  for (auto& group : unplaced_.groups()) group.tried_epoch = hosts_.room_epoch(group.shape);
}

void Scheduler::block(int si) {
  Session& s = sessions_[static_cast<std::size_t>(si)];
  if (s.blocked) return;
  s.blocked = true;
  std::size_t g = 0;
  while (g < blocked_.size() && !(blocked_[g].shape == shape_of(s))) ++g;
  if (g == blocked_.size()) blocked_.push_back(BlockedGroup{shape_of(s), {}, hosts_.room_epoch(shape_of(s))});
  blocked_[g].queue.push_back(si);
  note_session(si);
}

void Scheduler::unblock_where_room_appeared() {
  for (BlockedGroup& g : blocked_) {
    if (g.queue.empty()) continue;
    const std::uint64_t epoch = hosts_.room_epoch(g.shape);
    if (epoch == g.epoch) continue;
    g.epoch = epoch;
    // As many as the room can take, longest blocked first; the rest wait.
    std::int64_t room = hosts_.total_room(g.shape);
    while (room > 0 && !g.queue.empty()) {
      const int si = g.queue.front();
      g.queue.pop_front();
      Session& s = sessions_[static_cast<std::size_t>(si)];
      if (!s.live || !s.blocked) continue;
      s.blocked = false;
      note_session(si);
      --room;
    }
  }
}

bool Scheduler::place_session(Session& s) {
  // Against effective holdings: slots leaving a drained host are replaced
  // before they go (make before break).
  std::int64_t need = std::min(s.target - s.effective(), path_room(s, false));
  if (need <= 0) return s.target <= s.effective();
  const Resources shape = shape_of(s);
  // Room being made on a host for one waiting owner's session is not for
  // anyone else's target.
  auto skip = [&](int h) { return !promises_.empty() && promised_elsewhere(s, h, /*made_for_one=*/true); };
  // Hosts where it already runs first, most slots first: slots join
  // executors that exist instead of starting new ones.
  std::vector<std::pair<std::int64_t, int>> mine;
  for (const Placement& p : s.placements) mine.emplace_back(-p.slots, p.host);
  std::sort(mine.begin(), mine.end());
  for (auto [neg, h] : mine) {
    if (need == 0) break;
    if (skip(h)) continue;
    const std::int64_t n = std::min(need, hosts_.room_for(h, shape));
    if (n > 0) {
      grant(s, h, n);
      need -= n;
    }
  }
  while (need > 0) {
    const int h = hosts_.find_fit(shape, config_.placement, skip);
    if (h < 0) break;
    const std::int64_t room = hosts_.room_for(h, shape);
    std::int64_t n = std::min(need, room);
    if (config_.placement == PlacementPolicy::kSpread) n = std::min(need, std::max<std::int64_t>(1, room / 2));
    // Executors out of proportion with the host go one at a time, each to
    // the host left most balanced, so they do not strand its other kinds.
    if (!hosts_.proportional(h, shape)) n = 1;
    grant(s, h, n);
    need -= n;
  }
  return s.target <= s.effective();
}

void Scheduler::drop_revocation(std::uint64_t id) {
  auto it = revocations_.find(id);
  if (it == revocations_.end()) return;
  const Revocation& r = it->second;
  by_deadline_.erase({r.deadline, id});
  std::erase(sessions_[static_cast<std::size_t>(r.session)].revocations, id);
  forget_promise(r.host, id);
  sticky_.erase(id);
  ++revocation_epoch_;
  revocations_.erase(it);
}

void Scheduler::forget_promise(int host, std::uint64_t id) {
  promises_.remove(host, id);
}

bool Scheduler::claims(const Session& s, const std::vector<ClaimantRef>& claimants) const {
  for (const ClaimantRef& c : claimants) {
    if (c.session >= 0) {
      if (c.seq == s.seq) return true;
    } else if (c.node >= 0 && is_under(s.consumer, c.node)) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> Scheduler::claimant_names(const std::vector<ClaimantRef>& claimants) const {
  std::vector<std::string> names;
  names.reserve(claimants.size());
  for (const ClaimantRef& c : claimants) {
    if (c.session >= 0)
      names.push_back(sessions_[static_cast<std::size_t>(c.session)].spec.id);
    else
      names.push_back(tree_.node(c.node).path);
  }
  return names;
}

bool Scheduler::promised_elsewhere(const Session& s, int host, bool made_for_one) const {
  const std::vector<std::uint64_t>* ids = promises_.on(host);
  if (ids == nullptr) return false;
  for (std::uint64_t id : *ids) {
    const Revocation& r = revocations_.at(id);
    if (!r.promises_room()) continue;
    if (made_for_one && r.for_session < 0) continue;
    if (!claims(s, r.claimant_refs)) return true;
  }
  return false;
}

bool Scheduler::is_under(int node, int ancestor) const {
  for (int n = node; n >= 0; n = tree_.node(n).parent)
    if (n == ancestor) return true;
  return false;
}

FracResources Scheduler::guarantee(int node) const {
  const NodeState& st = nodes_[static_cast<std::size_t>(node)];
  return FracResources::min(st.demand + st.reserved_idle, FracResources(plans_[static_cast<std::size_t>(node)].owned));
}

std::vector<std::pair<int, Resources>> Scheduler::room_coming() {
  // Summed per host in a scratch row (no map to build: this runs on most
  // passes that place anything). Hosts come in the order of their first
  // revocation's id, the same from run to run.
  coming_scratch_.resize(hosts_.size());
  coming_listed_.resize(hosts_.size(), 0);
  std::vector<int> hosts;
  for (const auto& [id, r] : revocations_) {
    const auto h = static_cast<std::size_t>(r.host);
    if (coming_listed_[h] == 0) {
      coming_listed_[h] = 1;
      hosts.push_back(r.host);
    }
    coming_scratch_[h] += shape_of(sessions_[static_cast<std::size_t>(r.session)]) * r.slots;
  }
  std::vector<std::pair<int, Resources>> coming;
  coming.reserve(hosts.size());
  for (int h : hosts) {
    const auto i = static_cast<std::size_t>(h);
    coming.emplace_back(h, coming_scratch_[i]);
    coming_scratch_[i] = Resources();
    coming_listed_[i] = 0;
  }
  return coming;
}

int Scheduler::owner_with_room(const Session& s) const {
  const Resources shape = shape_of(s);
  for (int n = s.consumer; n > 0; n = tree_.node(n).parent) {
    const NodeState& st = nodes_[static_cast<std::size_t>(n)];
    if ((FracResources(st.hold + shape) + st.reserved_idle).fits_in(guarantee(n), kEps)) return n;
  }
  return -1;
}

void Scheduler::reclaim_for_placement() {
  // An owner's session whose target fits in aggregate but on no single host
  // (the free room is scattered) takes borrowers' slots on the one host
  // where that makes room for an executor of its shape.
  if (unplaced_.empty()) return;
  // Who to look at: in groups whose shape fits nowhere now, the members
  // whose wait just began, or all of them when revocations changed since the
  // last look (room on its way may have come or gone).
  std::vector<int> waiting;
  for (auto& group : unplaced_.groups()) {
    if (group.members.empty()) continue;
    if (hosts_.find_fit(group.shape, config_.placement) >= 0) continue;  // it fits somewhere: not fragmentation
    const bool changed = group.tried_reclaim != revocation_epoch_;
    for (int si : group.members)
      if (changed || unplaced_.fresh(si)) waiting.push_back(si);
    group.tried_reclaim = revocation_epoch_;
  }
  if (waiting.empty()) return;
  // Most of those waiting are borrowers (no owner on their path has room):
  // what follows is worked out only once one is not.
  std::set<std::uint64_t> helped;
  std::vector<std::pair<int, Resources>> coming;
  bool looked = false;
  int budget = 8;  // a few per pass: it is rare, and each costs a scan
  for (int si : waiting) {
    if (budget == 0) break;
    Session& s = sessions_[static_cast<std::size_t>(si)];
    if (!s.live || s.target <= s.effective() || s.revoking > 0) continue;
    const Resources shape = shape_of(s);
    const int owner = owner_with_room(s);
    if (owner < 0) continue;
    if (!looked) {
      for (std::uint64_t id : sticky_)
        helped.insert(sessions_[static_cast<std::size_t>(revocations_.at(id).for_session)].seq);
      coming = room_coming();
      looked = true;
    }
    if (helped.count(s.seq) != 0) continue;
    // Executors of its shape that revocations in flight make room for.
    std::int64_t on_its_way = 0;
    for (const auto& [h, r] : coming)
      if (hosts_.host(h).schedulable()) on_its_way += (hosts_.host(h).free() + r).count_of(shape);
    std::int64_t short_by = std::min(s.target - s.effective(), path_room(s, false)) - on_its_way;
    if (short_by <= 0) continue;
    --budget;
    // Borrowers outside the owner (see below), their takeable slots on
    // hosts that could ever hold the shape, host by host in index order and
    // only as far as the plans need: most often the first few hosts have one
    // that needs a single slot taken, and no host can do with fewer.
    struct Slot {
      int host;
      int session;
      int placement;
    };
    std::vector<Slot> slots;
    // Whether a leaf borrows, looked up once per leaf (-1: not yet).
    std::vector<std::int8_t> borrows(nodes_.size(), -1);
    auto borrows_of = [&](int leaf) {
      std::int8_t& b = borrows[static_cast<std::size_t>(leaf)];
      if (b < 0) {
        // Every consumer from its leaf up to where its branch meets the
        // owner's must hold more than its guarantee: a branch borrows
        // because some child does, and a child within its own guarantee is
        // an owner too (taking from it would have it take back, pass after
        // pass, with executors of another shape).
        b = 0;
        if (!is_under(leaf, owner)) {
          b = 1;
          for (int n = leaf; b != 0; n = tree_.node(n).parent) {
            const NodeState& ns = nodes_[static_cast<std::size_t>(n)];
            if ((FracResources(ns.hold) + ns.reserved_idle).fits_in(guarantee(n), kEps)) b = 0;
            if (tree_.node(n).parent < 0 || is_under(owner, tree_.node(n).parent)) break;
          }
        }
      }
      return b != 0;
    };
    // One executor at a time, on the host that needs the fewest slots taken
    // for it, until the session has room for all it is short of. Each host's
    // plan is worked out when first needed and again only when an executor
    // was planned there (nothing else changes between rounds).
    std::map<int, Resources> room;                      // free room as planned so far
    std::map<std::pair<int, int>, std::int64_t> taken;  // (session, placement) -> slots
    auto room_of = [&](int h) {
      auto r = room.find(h);
      return r != room.end() ? r->second : hosts_.host(h).free();
    };
    const std::string& beneficiary = tree_.node(owner).path;
    struct HostPlan {
      int host = -1;
      std::size_t begin = 0, end = 0;  // its range of `slots`
      bool ordered = false;            // that range is in victim order
      bool fits = false;
      std::int64_t count = 0;
      std::vector<std::pair<Slot, std::int64_t>> take;
    };
    std::vector<HostPlan> plans;
    int next_host = 0;
    // Lists the next host with slots to take; false when there is none.
    auto add_plan = [&]() {
      while (next_host < static_cast<int>(hosts_.size())) {
        const int h = next_host++;
        const std::vector<int>& here = on_host_.on(h);
        if (here.empty()) continue;
        const Host& host = hosts_.host(h);
        if (!host.schedulable() || !shape.fits_in(host.capacity)) continue;
        const std::size_t begin = slots.size();
        for (int yi : here) {
          const Session& y = sessions_[static_cast<std::size_t>(yi)];
          if (!y.live || y.effective() <= y.pinned || !borrows_of(y.consumer)) continue;
          for (std::size_t pi = 0; pi < y.placements.size(); ++pi) {
            const Placement& p = y.placements[pi];
            if (p.host == h && p.slots > p.revoking) slots.push_back({h, yi, static_cast<int>(pi)});
          }
        }
        if (slots.size() == begin) continue;
        HostPlan& hp = plans.emplace_back();
        hp.host = h;
        hp.begin = begin;
        hp.end = slots.size();
        return true;
      }
      return false;
    };
    // A host whose free room already fits the shape (kept for gpu work, so
    // the search for room passed it by) needs nothing taken: until the last
    // of those is worked out, no plan short of zero is surely the best. Such
    // room is either room the index counts or room kept for special kinds.
    int last_free_fit = -1;
    const auto& keep = hosts_.keep();
    const bool keeping = std::any_of(keep.begin(), keep.end(), [](const Resources& k) { return !k.is_zero(); });
    if (keeping || hosts_.total_room(shape) > 0) {
      for (int h = static_cast<int>(hosts_.size()) - 1; h >= 0 && last_free_fit < 0; --h) {
        if (on_host_.on(h).empty()) continue;
        const Host& host = hosts_.host(h);
        if (host.schedulable() && shape.fits_in(host.free())) last_free_fit = h;
      }
    }
    // Whether the next host to work out is at or before that one.
    auto free_fit_ahead = [&](std::size_t planned) {
      const int next = planned < plans.size() ? plans[planned].host : next_host;
      return next <= last_free_fit;
    };
    std::vector<TakeableSlots> takeable;
    auto plan_host = [&](HostPlan& hp) {
      if (!hp.ordered) {
        std::sort(slots.begin() + static_cast<std::ptrdiff_t>(hp.begin),
                  slots.begin() + static_cast<std::ptrdiff_t>(hp.end), [&](const Slot& x, const Slot& y) {
                    return key_of(sessions_[static_cast<std::size_t>(x.session)]) <
                           key_of(sessions_[static_cast<std::size_t>(y.session)]);
                  });
        hp.ordered = true;
      }
      takeable.clear();
      for (std::size_t i = hp.begin; i < hp.end; ++i) {
        const Slot& sl = slots[i];
        const Session& y = sessions_[static_cast<std::size_t>(sl.session)];
        const Placement& p = y.placements[static_cast<std::size_t>(sl.placement)];
        auto t = taken.find({sl.session, sl.placement});
        takeable.push_back({shape_of(y), p.slots - p.revoking - (t == taken.end() ? 0 : t->second)});
      }
      const auto plan = take_for_room(room_of(hp.host), shape, takeable);
      hp.fits = plan.has_value();
      hp.take.clear();
      hp.count = 0;
      if (!plan) return;
      for (std::size_t i = 0; i < takeable.size(); ++i) {
        if ((*plan)[i] == 0) continue;
        hp.take.push_back({slots[hp.begin + i], (*plan)[i]});
        hp.count += (*plan)[i];
      }
    };
    std::size_t planned = 0;  // plans[0, planned) are worked out
    for (; short_by > 0; --short_by) {
      // Fewest slots taken; ties to the lowest host index. Hosts not yet
      // worked out come after every one that is, and each needs at least one
      // slot taken (unless free_fit_ahead), so the look stops at the first
      // host that needs one. An index, not a pointer: plans grows.
      constexpr std::size_t kNoPlan = static_cast<std::size_t>(-1);
      std::size_t bi = kNoPlan;
      auto none = [&]() { return bi == kNoPlan; };
      for (std::size_t i = 0; i < planned; ++i)
        if (plans[i].fits && (none() || plans[i].count < plans[bi].count)) bi = i;
      while ((planned < plans.size() || add_plan()) &&
             (none() || plans[bi].count > 1 || (plans[bi].count == 1 && free_fit_ahead(planned)))) {
        HostPlan& hp = plans[planned];
        plan_host(hp);
        if (hp.fits && (none() || hp.count < plans[bi].count)) bi = planned;
        ++planned;
      }
      if (none()) break;
      HostPlan* best = &plans[bi];
      Resources r = room_of(best->host);
      for (const auto& [sl, n] : best->take) {
        taken[{sl.session, sl.placement}] += n;
        r += shape_of(sessions_[static_cast<std::size_t>(sl.session)]) * n;
      }
      room[best->host] = r - shape;
      plan_host(*best);
    }
    for (const auto& [key, n] : taken) {
      if (n == 0) continue;
      Session& y = sessions_[static_cast<std::size_t>(key.first)];
      Revocation& r = revoke_at(y, y.placements[static_cast<std::size_t>(key.second)], n, Reason::kOwnership,
                                beneficiary, {ClaimantRef{owner, -1, 0}, ClaimantRef{-1, si, s.seq}});
      r.for_session = si;
      r.for_seq = s.seq;
      sticky_.insert(r.id);
    }
    helped.insert(s.seq);
  }
}

void Scheduler::keep_room_for_special_kinds() {
  // Per special kind, what one unit of it needs of the other kinds, the most
  // any waiting shape needs: the unit is the smallest amount of the kind a
  // waiting shape asks for. Waiting: short of its target or blocked. Not
  // merely wanting more than its target: cpu kept for that idles whenever
  // the split says no (and on the benchmark it piled gpus on whichever
  // leaves asked first: Jain after churn fell from 0.81 to 0.65).
  HostPool::Keep keep{};
  auto consider = [&](const Resources& shape) {
    for (std::size_t k = kGpu; k < kMaxResourceKinds; ++k) {
      if (shape[k] <= 0) continue;
      Resources& per = keep[k];
      if (per[k] <= 0 || shape[k] < per[k]) {
        // A smaller unit: what is kept so far rescales to it.
        const std::int64_t unit = shape[k];
        for (std::size_t j = 0; j < kMaxResourceKinds; ++j)
          if (j != k && per[k] > 0) per[j] = per[j] * unit / per[k];
        per[k] = unit;
      }
      for (std::size_t j = 0; j < kMaxResourceKinds; ++j)
        if (j != k) per[j] = std::max(per[j], shape[j] * per[k] / shape[k]);
    }
  };
  for (const auto& g : unplaced_.groups())
    if (!g.members.empty()) consider(g.shape);
  // Blocked: its shape fits on no host (its demand is held back meanwhile).
  for (BlockedGroup& g : blocked_) {
    while (!g.queue.empty()) {
      const Session& s = sessions_[static_cast<std::size_t>(g.queue.front())];
      if (s.live && s.blocked) break;
      g.queue.pop_front();  // unblocked or gone since
    }
    if (!g.queue.empty()) consider(g.shape);
  }
  hosts_.set_keep(keep);
}

void Scheduler::hungry(int si) {
  if (!hungry_.contains(si)) {
    const Session& s = sessions_[static_cast<std::size_t>(si)];
    hungry_.insert(si, shape_of(s));
    fill_index_.add(si, hungry_.group_of(si), s.consumer, tree_);
  }
  hungry_.touch(si);
}

void Scheduler::not_hungry(int si) {
  const int g = hungry_.group_of(si);
  if (g < 0) return;
  fill_index_.remove(si, g, sessions_[static_cast<std::size_t>(si)].consumer, tree_);
  hungry_.erase(si);
}

std::vector<int> Scheduler::promised_hosts() const {
  std::vector<int> hosts;
  for (int h : promises_.hosts()) {
    for (std::uint64_t id : *promises_.on(h)) {
      const Revocation& r = revocations_.at(id);
      if (r.promises_room()) {
        hosts.push_back(h);
        break;
      }
    }
  }
  std::sort(hosts.begin(), hosts.end());
  return hosts;
}

template <typename F>
void Scheduler::for_each_claimant(int group, int host, F&& f) const {
  // Every promise there must name the session: the first one's claimants
  // are all there is to look at.
  const Revocation* first = nullptr;
  const std::vector<std::uint64_t>* ids = promises_.on(host);
  if (ids == nullptr) return;
  for (std::uint64_t id : *ids) {
    const Revocation& r = revocations_.at(id);
    if (r.promises_room()) {
      first = &r;
      break;
    }
  }
  if (first == nullptr) return;
  auto consider = [&](int si) {
    if (!promised_elsewhere(sessions_[static_cast<std::size_t>(si)], host)) f(si);
  };
  std::vector<int> stack;
  for (const ClaimantRef& c : first->claimant_refs) {
    if (c.session >= 0) {
      if (sessions_[static_cast<std::size_t>(c.session)].seq == c.seq && hungry_.group_of(c.session) == group)
        consider(c.session);
      continue;
    }
    if (c.node < 0) continue;
    stack.assign(1, c.node);
    while (!stack.empty()) {
      const int n = stack.back();
      stack.pop_back();
      if (fill_index_.count(group, n) == 0) continue;
      const auto& node = tree_.node(n);
      if (node.is_leaf()) {
        for (const FillIndex::Member& m : fill_index_.members(n))
          if (m.group == group) consider(m.session);
      } else {
        stack.insert(stack.end(), node.children.begin(), node.children.end());
      }
    }
  }
}

void Scheduler::fill_idle() {
  if (hungry_.empty()) return;
  // Executors with gpus (or named extras) first, measured by everything
  // they hold; then the rest, measured by cpu and memory alone. Gpus are
  // split by share and never owned, so counted in a cpu grant's measure
  // they tie every gpu tenant at its gpu share and the whole fill pours
  // into the first of them (on the benchmark one tenant took 2.4 times its
  // part of the leftover cpu); left out of a gpu grant's, the gpus go to
  // whoever borrows least cpu however many gpus it holds.
  const FracResources reserved = nodes_[static_cast<std::size_t>(ConsumerTree::kRoot)].reserved_idle;
  const bool less_reserved = !last_fill_reserved_.fits_in(reserved);  // less kept idle is more for everyone
  last_fill_reserved_ = reserved;
  fill_kind(true, less_reserved);
  fill_kind(false, less_reserved);
  for (auto& group : hungry_.groups()) group.tried_epoch = hosts_.room_epoch(group.shape);
}

void Scheduler::fill_kind(bool special, bool less_reserved) {
  // Free capacity nobody's target claimed (rounding, shapes that did not
  // fit elsewhere) goes to the hungry, least-served consumer first.
  FracResources budget =
      (FracResources(hosts_.free_total()) - nodes_[static_cast<std::size_t>(ConsumerTree::kRoot)].reserved_idle)
          .clamped();
  // A consumer's level: what it borrows beyond its owned amount, as a
  // dominant share per unit of share. Each grant goes down the tree: to the
  // child with the lowest level among those with a candidate below, from
  // the root to a leaf, then to the leaf's first candidate (interactive
  // first, then priority, then age). So room the fill hands out follows
  // the tree as the share split does; one flat ranking of leaves would
  // pour it into whichever subtree has leaves with large shares. Levels
  // are looked up once per node and pass, and again only on the path a
  // grant changes. The hungry are counted per node as they come and go
  // (fill_index_), so a pass costs what it hands out, not what waits.
  const std::size_t n_nodes = nodes_.size();
  fill_level_.resize(n_nodes);
  fill_level_stamp_.resize(n_nodes, 0);
  fill_extra_.resize(n_nodes, 0);
  fill_dropped_.resize(n_nodes, 0);
  fill_tried_.resize(sessions_.size(), 0);
  fill_listed_.resize(sessions_.size(), 0);
  fill_touched_.resize(n_nodes, 0);
  if (++fill_stamp_ == 0) {
    std::fill(fill_touched_.begin(), fill_touched_.end(), 0);
    std::fill(fill_level_stamp_.begin(), fill_level_stamp_.end(), 0);
    std::fill(fill_tried_.begin(), fill_tried_.end(), 0);
    std::fill(fill_listed_.begin(), fill_listed_.end(), 0);
    fill_stamp_ = 1;
  }
  auto node_level = [&](int node) {
    const auto n = static_cast<std::size_t>(node);
    if (fill_level_stamp_[n] != fill_stamp_) {
      const ConsumerPlan& plan = plans_[n];
      FracResources above = (FracResources(nodes_[n].hold) - FracResources(plan.owned)).clamped();
      if (!special)
        for (std::size_t k = kGpu; k < kMaxResourceKinds; ++k) above[k] = 0;
      fill_level_[n] = norm_.of(above) / plan.share;
      fill_level_stamp_[n] = fill_stamp_;
    }
    return fill_level_[n];
  };
  auto& groups = hungry_.groups();
  // Room a revocation frees is promised to its claimants. Per shape: the
  // promised hosts with room for it when there is no room anywhere else
  // (-1: not worked out since the last grant; 0: there is room elsewhere).
  std::vector<int> promised;  // promised_hosts(), listed when first needed
  bool promised_listed = false;
  std::vector<std::int8_t> only_promised(groups.size(), promises_.empty() ? 0 : -1);
  std::vector<std::vector<int>> promised_room(groups.size());
  // Per shape, its room on every host with a revocation on it (-1: not
  // summed yet), kept in step through the grants: most often there is
  // room beyond that, which needs no look at what the revocations are.
  std::vector<std::int64_t> room_near_promises(groups.size(), -1);
  auto promised_only = [&](int g) -> const std::vector<int>* {
    std::int8_t& state = only_promised[static_cast<std::size_t>(g)];
    std::vector<int>& hosts = promised_room[static_cast<std::size_t>(g)];
    if (state < 0) {
      const Resources& shape = groups[static_cast<std::size_t>(g)].shape;
      const std::int64_t total = hosts_.total_room(shape);
      std::int64_t& near = room_near_promises[static_cast<std::size_t>(g)];
      if (near < 0) {
        near = 0;
        for (int h : promises_.hosts()) near += hosts_.room_for(h, shape);
      }
      if (total > near) {
        state = 0;
        return nullptr;
      }
      if (!promised_listed) {
        promised = promised_hosts();
        promised_listed = true;
      }
      hosts.clear();
      std::int64_t room = 0;
      for (int h : promised) {
        const std::int64_t r = hosts_.room_for(h, shape);
        if (r <= 0) continue;
        hosts.push_back(h);
        room += r;
      }
      state = total > room ? 0 : 1;
    }
    return state == 1 ? &hosts : nullptr;
  };
  // Around a grant on `host`: its room leaves the sums it is part of.
  auto near_promises_host = [&](int host, int sign) {
    if (promises_.on(host) == nullptr) return;
    for (std::size_t g = 0; g < groups.size(); ++g)
      if (room_near_promises[g] >= 0) room_near_promises[g] += sign * hosts_.room_for(host, groups[g].shape);
  };
  // Which shapes are worth a look: only those that fit somewhere now. Of
  // those, every member where the room is new (kAll), only the members whose
  // hunger is where it is not (kFresh), and only the claimants where all the
  // room is promised (kClaimants): the others would search in vain.
  enum : std::uint8_t { kClosed = 0, kAll = 1, kFresh = 2, kClaimants = 3 };
  fill_open_.assign(groups.size(), kClosed);
  std::vector<int> all_open;  // groups open to every member
  std::size_t open = 0;       // groups open and not yet full
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    auto& group = groups[gi];
    if (group.members.empty() || uses_special_kind(group.shape) != special) continue;
    const bool moved = hosts_.room_epoch(group.shape) != group.tried_epoch || less_reserved;
    if (!FracResources(group.shape).fits_in(budget) || hosts_.find_fit(group.shape, config_.placement) < 0) continue;
    ++open;
    if (!moved) {
      fill_open_[gi] = kFresh;
    } else if (promised_only(static_cast<int>(gi)) != nullptr) {
      fill_open_[gi] = kClaimants;
    } else {
      fill_open_[gi] = kAll;
      all_open.push_back(static_cast<int>(gi));
    }
  }
  // Candidates of the groups not open to all count for this pass only.
  std::vector<int> touched;
  auto touch = [&](int n) {
    if (fill_touched_[static_cast<std::size_t>(n)] == fill_stamp_) return;
    fill_touched_[static_cast<std::size_t>(n)] = fill_stamp_;
    touched.push_back(n);
  };
  auto list = [&](int si) {
    if (fill_listed_[static_cast<std::size_t>(si)] == fill_stamp_) return;
    fill_listed_[static_cast<std::size_t>(si)] = fill_stamp_;
    for (int n = sessions_[static_cast<std::size_t>(si)].consumer; n >= 0; n = tree_.node(n).parent) {
      touch(n);
      ++fill_extra_[static_cast<std::size_t>(n)];
    }
  };
  hungry_.for_each_fresh([&](int si) {
    const int g = hungry_.group_of(si);
    if (g >= 0 && fill_open_[static_cast<std::size_t>(g)] == kFresh) list(si);
  });
  auto list_claimants = [&](int g) {
    for (int h : promised_room[static_cast<std::size_t>(g)]) for_each_claimant(g, h, list);
  };
  for (std::size_t gi = 0; gi < groups.size(); ++gi)
    if (fill_open_[gi] == kClaimants) list_claimants(static_cast<int>(gi));
  // Candidates left at or below a node: counted, less what leaves found
  // empty took off. What a leaf takes off is kept per group, so a group can
  // stop being open to all in mid-pass (its last free room went, and what
  // is left is promised) without the counts going out of step.
  fill_dropped_by_group_.resize(groups.size() * n_nodes, 0);
  auto dropped_of = [&](int g, int n) -> int& {
    return fill_dropped_by_group_[static_cast<std::size_t>(g) * n_nodes + static_cast<std::size_t>(n)];
  };
  auto left = [&](int n) {
    const auto i = static_cast<std::size_t>(n);
    int c = fill_extra_[i] - fill_dropped_[i];
    for (int g : all_open) c += fill_index_.count(g, n) - dropped_of(g, n);
    return c;
  };
  auto drop = [&](int leaf) {
    const int extra = fill_extra_[static_cast<std::size_t>(leaf)] - fill_dropped_[static_cast<std::size_t>(leaf)];
    for (int n = leaf; n >= 0; n = tree_.node(n).parent) {
      touch(n);
      fill_dropped_[static_cast<std::size_t>(n)] += extra;
    }
    for (int g : all_open) {
      const int c = fill_index_.count(g, leaf) - dropped_of(g, leaf);
      if (c == 0) continue;
      for (int n = leaf; n >= 0; n = tree_.node(n).parent) dropped_of(g, n) += c;
    }
  };
  std::vector<std::uint8_t> full(groups.size(), 0);
  auto mark_full = [&](int g) {
    if (full[static_cast<std::size_t>(g)] != 0) return;
    full[static_cast<std::size_t>(g)] = 1;
    --open;
  };
  // A leaf's next candidate: the first in the order it serves them among
  // those that may take room now.
  auto next_of = [&](int leaf) {
    const Session* best = nullptr;
    int best_i = -1;
    int best_g = -1;
    for (const FillIndex::Member& m : fill_index_.members(leaf)) {
      const std::uint8_t how = fill_open_[static_cast<std::size_t>(m.group)];
      if (how == kClosed || full[static_cast<std::size_t>(m.group)] != 0) continue;
      if (how != kAll && fill_listed_[static_cast<std::size_t>(m.session)] != fill_stamp_) continue;
      if (fill_tried_[static_cast<std::size_t>(m.session)] == fill_stamp_) continue;
      const Session& s = sessions_[static_cast<std::size_t>(m.session)];
      // Room on a host where slots are being revoked is kept for whoever the
      // revocation is for; and a session giving slots up gets none back.
      if (s.effective() < s.target || s.want <= s.effective() || s.revoking > 0) continue;
      if (best == nullptr || placed_before(s, *best)) {
        best = &s;
        best_i = m.session;
        best_g = m.group;
      }
    }
    return std::pair{best_i, best_g};
  };
  std::vector<int> granted;
  const int root = ConsumerTree::kRoot;
  while (open > 0 && left(root) > 0) {
    // Down the tree to the least-served leaf with a candidate (ties: the
    // first child).
    int n = root;
    while (!tree_.node(n).is_leaf()) {
      int best = -1;
      double best_level = 0;
      for (int c : tree_.node(n).children) {
        if (left(c) <= 0) continue;
        const double l = node_level(c);
        if (best < 0 || l < best_level - 1e-12) {
          best = c;
          best_level = l;
        }
      }
      n = best;
      if (n < 0) break;  // counts out of step: cannot happen, but never loop on it
    }
    if (n < 0) break;
    // Not a structured binding: the lambdas below capture them.
    const std::pair<int, int> next = next_of(n);
    const int si = next.first;
    const int g = next.second;
    if (si < 0) {
      drop(n);
      continue;
    }
    Session& s = sessions_[static_cast<std::size_t>(si)];
    const Resources shape = shape_of(s);
    auto give_up = [&]() { fill_tried_[static_cast<std::size_t>(si)] = fill_stamp_; };
    if (!FracResources(shape).fits_in(budget) || hosts_.total_room(shape) == 0) {
      mark_full(g);  // room only shrinks inside the loop: it stays full
      continue;
    }
    if (path_room(s, true) < 1) {
      give_up();
      continue;
    }
    auto skip = [&](int host) { return !promises_.empty() && promised_elsewhere(s, host); };
    if (const std::vector<int>* only = promised_only(g)) {
      if (fill_open_[static_cast<std::size_t>(g)] == kAll) {
        // Its free room just went: from now on only claimants may have it.
        std::erase(all_open, g);
        fill_open_[static_cast<std::size_t>(g)] = kClaimants;
        list_claimants(g);
        continue;
      }
      if (std::all_of(only->begin(), only->end(), [&](int h) { return hosts_.room_for(h, shape) <= 0 || skip(h); })) {
        give_up();  // promised room, promised to others
        continue;
      }
    }
    int h = -1;
    for (const Placement& p : s.placements) {
      if (!skip(p.host) && hosts_.room_for(p.host, shape) > 0) {
        h = p.host;
        break;
      }
    }
    if (h < 0) h = hosts_.find_fit(shape, config_.placement, skip);
    if (h < 0) {
      give_up();  // promised room may still suit someone else
      continue;
    }
    near_promises_host(h, -1);
    grant(s, h, 1);
    near_promises_host(h, +1);
    s.target = s.effective();
    granted.push_back(si);
    budget -= FracResources(shape);
    if (!promises_.empty()) std::fill(only_promised.begin(), only_promised.end(), -1);
    for (int m = s.consumer; m >= 0; m = tree_.node(m).parent)
      fill_level_stamp_[static_cast<std::size_t>(m)] = 0;  // their holds just grew
  }
  for (int m : touched) {
    fill_extra_[static_cast<std::size_t>(m)] = 0;
    fill_dropped_[static_cast<std::size_t>(m)] = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) dropped_of(static_cast<int>(g), m) = 0;
  }
  for (int si : granted) {
    const Session& s = sessions_[static_cast<std::size_t>(si)];
    if (s.want <= s.target) not_hungry(si);
  }
}

// --- mechanism ----------------------------------------------------------------

Placement* Scheduler::placement_on(Session& s, int host) {
  for (Placement& p : s.placements)
    if (p.host == host) return &p;
  return nullptr;
}

void Scheduler::drop_empty_placements(Session& s) {
  const int si = static_cast<int>(&s - sessions_.data());
  std::erase_if(s.placements, [&](const Placement& p) {
    if (p.slots != 0) return false;
    on_host_.remove(p.host, si);
    return true;
  });
}

void Scheduler::emit(DecisionKind kind, const Session& s, int host, std::int64_t slots, Reason reason,
                     const std::string& beneficiary, TimeMs deadline, std::uint64_t revocation, Decisions* to) {
  Decision d;
  d.kind = kind;
  d.session = s.spec.id;
  d.consumer = tree_.node(s.consumer).path;
  d.host = hosts_.host(host).name;
  d.slots = slots;
  d.amount = shape_of(s) * slots;
  d.at = now_;
  d.deadline = deadline;
  d.reason = reason;
  d.beneficiary = beneficiary;
  d.revocation_id = revocation;
  (to != nullptr ? *to : out_).push_back(std::move(d));
}

void Scheduler::grant(Session& s, int host, std::int64_t slots) {
  Placement* p = placement_on(s, host);
  if (p == nullptr) {
    s.placements.push_back(Placement{host, 0, 0, now_});
    on_host_.add(host, static_cast<int>(&s - sessions_.data()));
    p = &s.placements.back();
  }
  p->slots += slots;
  change_held(s, slots);
  hosts_.use(host, shape_of(s) * slots);
  add_hold(s.consumer, shape_of(s) * slots);
  emit(DecisionKind::kGrant, s, host, slots, Reason::kNone, std::string());
}

void Scheduler::revoke(Session& s, std::int64_t slots, Reason reason, const std::string& beneficiary,
                       const std::vector<std::uint8_t>* prefer_hosts, const std::vector<Resources>* useful_for,
                       const std::vector<ClaimantRef>& claimants) {
  const std::vector<std::size_t> order = revocation_order(s.placements, prefer_hosts);
  std::int64_t left = slots;
  bool made_room = false;
  const std::uint64_t first_made = next_revocation_;  // ids are issued in order
  auto take = [&](bool only_where_room) {
    for (std::size_t i : order) {
      if (left == 0) break;
      Placement& p = s.placements[i];
      const std::int64_t n = std::min(left, p.slots - p.revoking);
      if (n <= 0) continue;
      if (only_where_room) {
        // Only where freeing its slots lets one of the claimants' executors
        // fit (with what is free there); nowhere if no number would do
        // (fragmentation, other shapes). Where it does, the cut stands whole.
        const Resources free = hosts_.host(p.host).schedulable() ? hosts_.host(p.host).free() : Resources{};
        if (slots_that_make_room(free, shape_of(s), n, *useful_for) < 0) continue;
        made_room = true;
      }
      revoke_at(s, p, n, reason, beneficiary, claimants);
      left -= n;
    }
  };
  take(useful_for != nullptr);
  // A claimant that a limit above both it and the victim holds back (or a
  // consumer above both that may not borrow) needs the cut's budget as much
  // as its room: taken only where it makes room, what the cut frees stays
  // below the claimant's executor, the fill hands it back to the victim and
  // the next pass cuts again, a grace period at a time. Once the claimant
  // has room, the rest of the cut goes wherever it is.
  if (left > 0 && useful_for != nullptr && limit_holds_back(s, claimants, *useful_for, made_room)) {
    take(false);
    for (std::uint64_t id = first_made; id < next_revocation_; ++id) revocations_.at(id).frees_budget = true;
  }
}

bool Scheduler::limit_holds_back(const Session& victim, const std::vector<ClaimantRef>& claimants,
                                 const std::vector<Resources>& shapes, bool room_made) {
  auto has_room = [&](const Resources& shape) { return room_made || hosts_.total_room(shape) > 0; };
  for (const ClaimantRef& c : claimants) {
    if (c.session >= 0) {
      const Session& w = sessions_[static_cast<std::size_t>(c.session)];
      if (!w.live || w.seq != c.seq) continue;
      const std::int64_t short_by = w.target - w.effective();
      if (short_by > 0 && capped_in_common(w.consumer, victim.consumer, shape_of(w), short_by) && has_room(shape_of(w)))
        return true;
    } else if (c.node >= 0) {
      for (const Resources& shape : shapes)
        if (capped_in_common(c.node, victim.consumer, shape, 1) && has_room(shape)) return true;
    }
  }
  return false;
}

bool Scheduler::capped_in_common(int claimant, int victim, const Resources& shape, std::int64_t need) const {
  // As path_room counts it: what is physically held, revocations in flight
  // included.
  for (int n = claimant; n > 0; n = tree_.node(n).parent) {
    if (!is_under(victim, n)) continue;
    const FracResources used(nodes_[static_cast<std::size_t>(n)].held_all);
    if (room_under_cap(plans_[static_cast<std::size_t>(n)], used, shape) < need) return true;
  }
  return false;
}

Revocation& Scheduler::revoke_at(Session& s, Placement& p, std::int64_t n, Reason reason,
                                 const std::string& beneficiary, const std::vector<ClaimantRef>& claimants) {
  p.revoking += n;
  s.revoking += n;
  add_hold(s.consumer, shape_of(s) * -n);
  Revocation r;
  r.id = next_revocation_++;
  r.session = static_cast<int>(&s - sessions_.data());
  r.host = p.host;
  r.slots = n;
  r.issued = now_;
  r.deadline = now_ + tree_.grace_ms(s.consumer, s.spec.sla, config_.sla);
  r.reason = reason;
  r.beneficiary = beneficiary;
  r.claimants = claimant_names(claimants);
  r.claimant_refs = claimants;
  by_deadline_.insert({r.deadline, r.id});
  promises_.add(r.host, r.id);
  ++revocation_epoch_;
  // Taken below its own target (room made for someone on this host): it
  // may find room elsewhere.
  if (s.target > s.effective()) unplaced_.insert(r.session, shape_of(s));
  s.revocations.push_back(r.id);
  emit(DecisionKind::kRevoke, s, p.host, n, reason, beneficiary, r.deadline, r.id);
  return revocations_.emplace(r.id, r).first->second;
}

void Scheduler::cancel_revocations(Session& s, std::int64_t slots) {
  // The latest promises are withdrawn first: they have the most time left.
  // Forced revocations (drains, shrunk hosts) stand: the host cannot keep
  // those slots whatever the target.
  std::vector<std::uint64_t> ids;
  for (std::uint64_t id : s.revocations) {
    const Revocation& r = revocations_.at(id);
    if (!r.forced && r.for_session < 0) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end(), [&](std::uint64_t a, std::uint64_t b) {
    return revocations_.at(a).deadline > revocations_.at(b).deadline ||
           (revocations_.at(a).deadline == revocations_.at(b).deadline && a > b);
  });
  std::int64_t left = slots;
  for (std::uint64_t id : ids) {
    if (left == 0) break;
    const std::int64_t n = std::min(left, revocations_.at(id).slots);
    cancel_revocation(id, n);
    left -= n;
  }
}

void Scheduler::cancel_revocation(std::uint64_t id, std::int64_t n, Decisions* to) {
  Revocation& r = revocations_.at(id);
  Session& s = sessions_[static_cast<std::size_t>(r.session)];
  Placement* p = placement_on(s, r.host);
  p->revoking -= n;
  s.revoking -= n;
  r.slots -= n;
  add_hold(s.consumer, shape_of(s) * n);
  emit(DecisionKind::kRevokeCancel, s, r.host, n, r.reason, r.beneficiary, r.deadline, id, to);
  ++revocation_epoch_;
  if (r.slots == 0) drop_revocation(id);
}

void Scheduler::release(Session& s, std::int64_t slots, Reason reason) {
  // Give back the youngest slots that are not already promised elsewhere
  // (the order revocations take them in), idle ones before any the driver
  // says run tasks: a release has no grace, and an executor that loses its
  // last slots stops with its tasks.
  const std::vector<std::size_t> order = revocation_order(s.placements, nullptr);
  std::int64_t left = slots;
  for (const bool idle_only : {true, false}) {
    for (std::size_t i : order) {
      if (left == 0) break;
      Placement& p = s.placements[i];
      const std::int64_t free = p.slots - p.revoking;
      const std::int64_t n = std::min(left, idle_only ? free - std::min(free, p.busy) : free);
      if (n <= 0) continue;
      p.slots -= n;
      change_held(s, -n);
      left -= n;
      hosts_.unuse(p.host, shape_of(s) * n);
      add_hold(s.consumer, shape_of(s) * -n);
      emit(DecisionKind::kRelease, s, p.host, n, reason, std::string());
    }
  }
  drop_empty_placements(s);
}

Revocation Scheduler::reclaim(std::uint64_t id) {
  Revocation r = revocations_.at(id);  // a copy: drop_revocation forgets the original
  drop_revocation(id);
  Session& s = sessions_[static_cast<std::size_t>(r.session)];
  Placement* p = placement_on(s, r.host);
  assert(p != nullptr);
  p->slots -= r.slots;
  p->revoking -= r.slots;
  change_held(s, -r.slots);
  s.revoking -= r.slots;
  hosts_.unuse(r.host, shape_of(s) * r.slots);
  emit(DecisionKind::kReclaim, s, r.host, r.slots, r.reason, r.beneficiary, r.deadline, id);
  drop_empty_placements(s);
  return r;
}

void Scheduler::serve_claimants(const Revocation& r) {
  // The room goes to whoever it was taken for, at once, before anyone
  // else's placement can take it.
  auto serve = [&](int fi) {
    Session& f = sessions_[static_cast<std::size_t>(fi)];
    if (!f.live || f.target <= f.effective()) return;
    const std::int64_t n =
        std::min({f.target - f.effective(), hosts_.room_for(r.host, shape_of(f)), path_room(f, false)});
    if (n > 0) grant(f, r.host, n);
    if (f.target <= f.effective()) unplaced_.erase(fi);
  };
  // A cut that freed budget under a cap, not only room here: its claimants'
  // placement looks again this pass, though room for their shapes did not
  // move anywhere.
  if (r.frees_budget) {
    for (const auto& g : unplaced_.groups())
      for (int si : g.members)
        if (claims(sessions_[static_cast<std::size_t>(si)], r.claimant_refs)) unplaced_.touch(si);
  }
  if (r.for_session >= 0) {
    if (sessions_[static_cast<std::size_t>(r.for_session)].seq == r.for_seq) serve(r.for_session);
  } else if (r.promises_room()) {
    std::vector<int> waiting;
    for (const auto& g : unplaced_.groups()) {
      if (!g.shape.fits_in(hosts_.host(r.host).free())) continue;
      for (int si : g.members)
        if (claims(sessions_[static_cast<std::size_t>(si)], r.claimant_refs)) waiting.push_back(si);
    }
    std::sort(waiting.begin(), waiting.end(), [&](int a, int b) {
      return sessions_[static_cast<std::size_t>(a)].seq < sessions_[static_cast<std::size_t>(b)].seq;
    });
    for (int fi : waiting) serve(fi);
  }
}

// --- views --------------------------------------------------------------------

const Session* Scheduler::find_session(std::string_view id) const {
  auto it = session_by_id_.find(std::string(id));
  if (it == session_by_id_.end()) return nullptr;
  return &sessions_[static_cast<std::size_t>(it->second)];
}

std::vector<const Session*> Scheduler::sessions() const {
  std::vector<const Session*> out;
  for (const Session& s : sessions_)
    if (s.live) out.push_back(&s);
  std::sort(out.begin(), out.end(), [](const Session* a, const Session* b) { return a->seq < b->seq; });
  return out;
}

std::vector<const Session*> Scheduler::sessions_on(int host) const {
  std::vector<const Session*> out;
  for (int si : on_host_.on(host)) out.push_back(&sessions_[static_cast<std::size_t>(si)]);
  return out;
}

Resources Scheduler::consumer_held(int node) const {
  return nodes_[static_cast<std::size_t>(node)].held_all;
}

}  // namespace sched::core
