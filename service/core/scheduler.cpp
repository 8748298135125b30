// The scheduling pass: expire deadlines, work out what every session wants,
// aggregate up the tree, split top down with the share policy, then revoke,
// grant and fill. Only dirty subtrees are recomputed, so one demand change
// costs a walk down one path, not a pass over the whole tree.
#include "core/scheduler.hpp"

#include <algorithm>
#include <cassert>

namespace sched::core {
namespace {

constexpr double kEps = 1e-6;

VictimKey key_of(const Session& s) {
  return VictimKey{victim_rank(s.spec.sla), s.spec.priority, -s.start, static_cast<int>(s.seq)};
}

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::create(const SchedulerConfig& config, const Clock* clock) {
  if (clock == nullptr) return Status::invalid_argument("scheduler needs a clock");
  if (config.slot.is_zero() || config.slot.any_negative()) {
    return Status::invalid_argument("slot must be a positive resource vector, got " + config.slot.to_string());
  }
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
    by_deadline_.erase({it->second.deadline, it->first});
    std::erase(s.revocations, it->first);
    it = revocations_.erase(it);
  }
  for (auto& s : sessions_) {
    if (!s.live) continue;
    Placement* p = placement_on(s, h);
    if (p == nullptr || p->slots == 0) continue;
    const std::int64_t n = p->slots;
    hosts_.unuse(h, shape_of(s) * n);
    s.held -= n;
    add_hold(s.consumer, shape_of(s) * -n);
    p->slots = 0;
    drop_empty_placements(s);
    Decision d;
    d.kind = DecisionKind::kLost;
    d.session = s.spec.id;
    d.consumer = tree_.node(s.consumer).path;
    d.host = std::string(name);
    d.slots = n;
    d.amount = shape_of(s) * n;
    d.at = now_;
    d.reason = Reason::kHostLost;
    pending_.push_back(std::move(d));
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
  if (drain) drain_pending_.push_back(*hi);
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
  for (auto [si, node] : moves) {
    Session& s = sessions_[static_cast<std::size_t>(si)];
    s.consumer = node;
    nodes_[static_cast<std::size_t>(node)].sessions.push_back(si);
    add_hold(node, shape_of(s) * s.effective());
  }
  plans_ = tree_.plans_at(clock_->now_ms(), config_.utc_offset_min);
  plans_until_ = tree_.has_windows() ? tree_.next_plan_change(clock_->now_ms(), config_.utc_offset_min) : kNever;
  mark_all_dirty();
  return Status::ok();
}

// --- sessions -----------------------------------------------------------------

Status Scheduler::register_session(const SessionSpec& spec) {
  if (spec.id.empty()) return Status::invalid_argument("session id is empty");
  if (session_by_id_.count(spec.id) != 0) return Status::already_exists("session " + spec.id + " is already registered");
  auto node = tree_.find(spec.consumer);
  if (!node) return node.status();
  if (*node == ConsumerTree::kRoot || !tree_.node(*node).is_leaf()) {
    return Status::invalid_argument("consumer " + tree_.node(*node).path +
                                    " has children; sessions belong to leaf consumers");
  }
  if (spec.demand < 0 || spec.min < 0 || spec.max < 0) {
    return Status::invalid_argument("session " + spec.id + ": demand, min and max must not be negative");
  }
  if (spec.min > spec.max) {
    return Status::invalid_argument("session " + spec.id + ": min (" + std::to_string(spec.min) + ") exceeds max (" +
                                    std::to_string(spec.max) + ")");
  }
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
  if (demand < 0 || mn < 0 || mx < 0) {
    return Status::invalid_argument("session " + s.spec.id + ": demand, min and max must not be negative");
  }
  if (mn > mx) {
    return Status::invalid_argument("session " + s.spec.id + ": min (" + std::to_string(mn) + ") exceeds max (" +
                                    std::to_string(mx) + ")");
  }
  s.spec.demand = demand;
  s.spec.min = mn;
  s.spec.max = mx;
  if (u.priority) s.spec.priority = *u.priority;
  note_session(it->second);
  return Status::ok();
}

Status Scheduler::unregister_session(std::string_view id) {
  auto it = session_by_id_.find(std::string(id));
  if (it == session_by_id_.end()) return Status::not_found("unknown session '" + std::string(id) + "'");
  const int idx = it->second;
  Session& s = sessions_[static_cast<std::size_t>(idx)];
  now_ = clock_->now_ms();
  // Outstanding revocations end with the session; every slot goes back now.
  for (std::uint64_t rid : std::vector<std::uint64_t>(s.revocations)) {
    auto r = revocations_.find(rid);
    if (r == revocations_.end()) continue;
    by_deadline_.erase({r->second.deadline, rid});
    revocations_.erase(r);
  }
  s.revocations.clear();
  for (Placement& p : s.placements) {
    if (p.slots == 0) continue;
    hosts_.unuse(p.host, shape_of(s) * p.slots);
    Decision d;
    d.kind = DecisionKind::kRelease;
    d.session = s.spec.id;
    d.consumer = tree_.node(s.consumer).path;
    d.host = hosts_.host(p.host).name;
    d.slots = p.slots;
    d.amount = shape_of(s) * p.slots;
    d.at = now_;
    d.reason = Reason::kUnregistered;
    pending_.push_back(std::move(d));
  }
  add_hold(s.consumer, shape_of(s) * -s.effective());
  auto& list = nodes_[static_cast<std::size_t>(s.consumer)].sessions;
  std::erase(list, idx);
  mark_dirty(s.consumer);
  if (s.idle_since) idle_deadlines_.erase({*s.idle_since + config_.sla.interactive_idle_timeout_ms, idx});
  unplaced_.erase(idx);
  hungry_.erase(idx);
  session_by_id_.erase(it);
  s = Session{};
  free_session_slots_.push_back(idx);
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
    s.held -= n;
    hosts_.unuse(*hi, shape_of(s) * n);
    left -= n;
    Decision d;
    d.kind = DecisionKind::kReclaim;
    d.session = s.spec.id;
    d.consumer = tree_.node(s.consumer).path;
    d.host = std::string(host);
    d.slots = n;
    d.amount = shape_of(s) * n;
    d.at = now_;
    d.reason = r->second.reason;
    d.beneficiary = r->second.beneficiary;
    d.revocation_id = rid;
    pending_.push_back(std::move(d));
    if (r->second.slots == 0) {
      by_deadline_.erase({r->second.deadline, rid});
      std::erase(s.revocations, rid);
      revocations_.erase(r);
    }
  }
  if (left > 0) {
    if (p->slots - p->revoking < left) return Status::internal("placement bookkeeping out of step");
    p->slots -= left;
    s.held -= left;
    hosts_.unuse(*hi, shape_of(s) * left);
    add_hold(s.consumer, shape_of(s) * -left);
    Decision d;
    d.kind = DecisionKind::kRelease;
    d.session = s.spec.id;
    d.consumer = tree_.node(s.consumer).path;
    d.host = std::string(host);
    d.slots = left;
    d.amount = shape_of(s) * left;
    d.at = now_;
    d.reason = Reason::kDemand;
    pending_.push_back(std::move(d));
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
  expire_revocations();
  revoke_draining();
  update_wants();
  aggregate();
  distribute(ConsumerTree::kRoot, FracResources(hosts_.schedulable_capacity()));
  apply_targets();
  expire_revocations();  // zero-grace revocations free their slots for this pass
  place_grants();
  fill_idle();
  return std::move(out_);
}

TimeMs Scheduler::next_wakeup() const {
  TimeMs t = plans_until_;
  if (!by_deadline_.empty()) t = std::min(t, by_deadline_.begin()->first);
  if (!idle_deadlines_.empty()) t = std::min(t, idle_deadlines_.begin()->first);
  return t;
}

TimeMs Scheduler::next_settle_deadline() const {
  TimeMs t = kNever;
  if (!by_deadline_.empty()) t = std::min(t, by_deadline_.begin()->first);
  if (!idle_deadlines_.empty()) t = std::min(t, idle_deadlines_.begin()->first);
  return t;
}

void Scheduler::mark_all_dirty() {
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

void Scheduler::note_session(int index) {
  if (session_dirty_[static_cast<std::size_t>(index)]) return;
  session_dirty_[static_cast<std::size_t>(index)] = 1;
  dirty_sessions_.push_back(index);
}

void Scheduler::refresh_plans() {
  if (now_ < plans_until_) return;
  plans_ = tree_.plans_at(now_, config_.utc_offset_min);
  plans_until_ = tree_.has_windows() ? tree_.next_plan_change(now_, config_.utc_offset_min) : kNever;
  mark_all_dirty();
}

void Scheduler::expire_revocations() {
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now_) {
    const std::uint64_t id = by_deadline_.begin()->second;
    reclaim(id);
  }
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
    for (std::size_t pi = 0; pi < s.placements.size(); ++pi) {
      const Placement p = s.placements[pi];
      if (!draining[static_cast<std::size_t>(p.host)] || p.slots - p.revoking <= 0) continue;
      const std::int64_t n = p.slots - p.revoking;
      // Revoke exactly this host's slots.
      std::vector<std::uint8_t> only(hosts_.size(), 0);
      only[static_cast<std::size_t>(p.host)] = 1;
      revoke(s, n, Reason::kDrain, hosts_.host(p.host).name, &only);
    }
    note_session(static_cast<int>(i));
  }
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
      }
    } else {
      for (int c : tn.children) {
        const NodeState& cs = nodes_[static_cast<std::size_t>(c)];
        demand += cs.demand;
        ri_children += cs.reserved_idle;
        victim = std::min(victim, cs.victim);
      }
    }
    st.demand = FracResources::min(demand, FracResources(plan.limit));
    const FracResources g = FracResources::min(st.demand, FracResources(plan.owned));
    st.reserved_idle = FracResources::max((FracResources(plan.reserved) - g).clamped(), ri_children);
    st.victim = victim;
    st.queued = false;
  }
  dirty_nodes_.clear();
}

void Scheduler::distribute(int node, const FracResources& capacity) {
  NodeState& st = nodes_[static_cast<std::size_t>(node)];
  if (!st.dirty && st.last_capacity == capacity) return;
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
  }
  policy_->distribute(capacity, norm_, shares);
  // Record every child's reason before descending into any of them.
  for (std::size_t i = 0; i < tn.children.size(); ++i) {
    const int c = tn.children[i];
    NodeState& cs = nodes_[static_cast<std::size_t>(c)];
    const ChildShare& sh = shares[i];
    if (sh.cut_reason == Reason::kCapacity && st.reason != Reason::kNone) {
      // No sibling claimed it: this level only passes on its parent's cut.
      cs.reason = st.reason;
      cs.beneficiary = st.beneficiary;
    } else if (sh.cut_reason != Reason::kNone) {
      cs.reason = sh.cut_reason;
      cs.beneficiary = sh.beneficiary >= 0 ? tree_.node(tn.children[static_cast<std::size_t>(sh.beneficiary)]).path
                                           : std::string();
    } else if (st.reason != Reason::kNone && !sh.hold.fits_in(sh.target, kEps)) {
      cs.reason = st.reason;  // the cut came from higher up
      cs.beneficiary = st.beneficiary;
    } else {
      cs.reason = Reason::kNone;
      cs.beneficiary.clear();
    }
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
  if (changed_sessions_.empty()) return;
  // Hosts where sessions short of their target already run executors: taking
  // slots there lets them move without starting a JVM.
  std::vector<std::uint8_t> prefer;
  for (int si : changed_sessions_) {
    Session& s = sessions_[static_cast<std::size_t>(si)];
    if (s.target <= s.effective()) continue;
    if (prefer.empty()) prefer.assign(hosts_.size(), 0);
    for (const Placement& p : s.placements) prefer[static_cast<std::size_t>(p.host)] = 1;
  }
  for (int si : changed_sessions_) {
    Session& s = sessions_[static_cast<std::size_t>(si)];
    if (!s.live) continue;
    const std::int64_t eff = s.effective();
    if (s.target < eff) {
      revoke(s, eff - s.target, s.reason, s.beneficiary, prefer.empty() ? nullptr : &prefer);
    } else if (s.target > eff && s.revoking > 0) {
      cancel_revocations(s, std::min(s.revoking, s.target - eff));
    }
    if (s.target > s.held) unplaced_.insert(si);
    else unplaced_.erase(si);
    if (s.want > s.target) hungry_.insert(si);
    else hungry_.erase(si);
  }
}

void Scheduler::place_grants() {
  if (unplaced_.empty()) return;
  std::vector<int> order(unplaced_.begin(), unplaced_.end());
  auto owner_short = [&](const Session& s) {
    const NodeState& st = nodes_[static_cast<std::size_t>(s.consumer)];
    const FracResources owned(plans_[static_cast<std::size_t>(s.consumer)].owned);
    return !FracResources::min(st.demand, owned).fits_in(FracResources(st.hold), kEps);
  };
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const Session& x = sessions_[static_cast<std::size_t>(a)];
    const Session& y = sessions_[static_cast<std::size_t>(b)];
    const bool ox = owner_short(x);
    const bool oy = owner_short(y);
    if (ox != oy) return ox;
    if (grant_rank(x.spec.sla) != grant_rank(y.spec.sla)) return grant_rank(x.spec.sla) < grant_rank(y.spec.sla);
    if (x.spec.priority != y.spec.priority) return x.spec.priority > y.spec.priority;
    return x.seq < y.seq;
  });
  for (int si : order) {
    Session& s = sessions_[static_cast<std::size_t>(si)];
    std::int64_t need = s.target - s.held;
    if (need <= 0) {
      unplaced_.erase(si);
      continue;
    }
    const Resources shape = shape_of(s);
    // Hosts where it already runs first, most slots first: slots join
    // executors that exist instead of starting new ones.
    std::vector<std::pair<std::int64_t, int>> mine;
    for (const Placement& p : s.placements) mine.emplace_back(-p.slots, p.host);
    std::sort(mine.begin(), mine.end());
    for (auto [neg, h] : mine) {
      if (need == 0) break;
      const std::int64_t n = std::min(need, hosts_.room_for(h, shape));
      if (n > 0) {
        grant(s, h, n);
        need -= n;
      }
    }
    while (need > 0) {
      const int h = hosts_.find_fit(shape, config_.placement);
      if (h < 0) break;
      const std::int64_t room = hosts_.room_for(h, shape);
      std::int64_t n = std::min(need, room);
      if (config_.placement == PlacementPolicy::kSpread) n = std::min(need, std::max<std::int64_t>(1, room / 2));
      grant(s, h, n);
      need -= n;
    }
    if (need == 0) unplaced_.erase(si);
  }
}

bool Scheduler::path_has_room(const Session& s) const {
  const Resources shape = shape_of(s);
  for (int n = s.consumer; n > 0; n = tree_.node(n).parent) {
    const ConsumerPlan& plan = plans_[static_cast<std::size_t>(n)];
    const Resources after = nodes_[static_cast<std::size_t>(n)].hold + shape;
    if (!after.fits_in(plan.limit)) return false;
    if (!plan.borrow && !after.fits_in(plan.owned)) return false;
  }
  return true;
}

void Scheduler::fill_idle() {
  if (hungry_.empty()) return;
  // Free capacity nobody's target claimed (rounding, shapes that did not
  // fit elsewhere) goes to the hungry, least-served consumer first.
  FracResources budget =
      (FracResources(hosts_.free_total()) - nodes_[static_cast<std::size_t>(ConsumerTree::kRoot)].reserved_idle).clamped();
  std::vector<int> cands;
  for (int si : hungry_) {
    const Session& s = sessions_[static_cast<std::size_t>(si)];
    if (s.held < s.target || s.want <= s.held) continue;
    if (FracResources(shape_of(s)).fits_in(budget)) cands.push_back(si);
  }
  if (cands.empty()) return;
  auto level = [&](const Session& s) {
    const NodeState& st = nodes_[static_cast<std::size_t>(s.consumer)];
    const ConsumerPlan& plan = plans_[static_cast<std::size_t>(s.consumer)];
    const FracResources above = (FracResources(st.hold) - FracResources(plan.owned)).clamped();
    return norm_.of(above) / plan.share;
  };
  bool progress = true;
  while (progress) {
    progress = false;
    std::sort(cands.begin(), cands.end(), [&](int a, int b) {
      const Session& x = sessions_[static_cast<std::size_t>(a)];
      const Session& y = sessions_[static_cast<std::size_t>(b)];
      const double lx = level(x);
      const double ly = level(y);
      if (lx != ly) return lx < ly;
      if (grant_rank(x.spec.sla) != grant_rank(y.spec.sla)) return grant_rank(x.spec.sla) < grant_rank(y.spec.sla);
      if (x.spec.priority != y.spec.priority) return x.spec.priority > y.spec.priority;
      return x.seq < y.seq;
    });
    for (int si : cands) {
      Session& s = sessions_[static_cast<std::size_t>(si)];
      const Resources shape = shape_of(s);
      if (s.held >= s.want || !FracResources(shape).fits_in(budget) || !path_has_room(s)) continue;
      int h = -1;
      for (const Placement& p : s.placements) {
        if (hosts_.room_for(p.host, shape) > 0) {
          h = p.host;
          break;
        }
      }
      if (h < 0) h = hosts_.find_fit(shape, config_.placement);
      if (h < 0) continue;
      grant(s, h, 1);
      s.target = s.held;
      budget -= FracResources(shape);
      progress = true;
      break;  // re-sort: the level of this consumer rose
    }
  }
  for (int si : cands) {
    const Session& s = sessions_[static_cast<std::size_t>(si)];
    if (s.want <= s.target) hungry_.erase(si);
  }
}

// --- mechanism ----------------------------------------------------------------

Placement* Scheduler::placement_on(Session& s, int host) {
  for (Placement& p : s.placements)
    if (p.host == host) return &p;
  return nullptr;
}

void Scheduler::drop_empty_placements(Session& s) {
  std::erase_if(s.placements, [](const Placement& p) { return p.slots == 0; });
}

void Scheduler::emit(DecisionKind kind, const Session& s, int host, std::int64_t slots, Reason reason,
                     const std::string& beneficiary, TimeMs deadline, std::uint64_t revocation) {
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
  out_.push_back(std::move(d));
}

void Scheduler::grant(Session& s, int host, std::int64_t slots) {
  Placement* p = placement_on(s, host);
  if (p == nullptr) {
    s.placements.push_back(Placement{host, 0, 0, now_});
    p = &s.placements.back();
  }
  p->slots += slots;
  s.held += slots;
  hosts_.use(host, shape_of(s) * slots);
  add_hold(s.consumer, shape_of(s) * slots);
  emit(DecisionKind::kGrant, s, host, slots, Reason::kNone, std::string());
}

void Scheduler::revoke(Session& s, std::int64_t slots, Reason reason, const std::string& beneficiary,
                       const std::vector<std::uint8_t>* prefer_hosts) {
  // Youngest executors first (least work lost), then the smaller ones;
  // hosts where the claimant already runs come before all others.
  std::vector<std::size_t> order(s.placements.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Placement& x = s.placements[a];
    const Placement& y = s.placements[b];
    if (prefer_hosts != nullptr) {
      const bool px = (*prefer_hosts)[static_cast<std::size_t>(x.host)] != 0;
      const bool py = (*prefer_hosts)[static_cast<std::size_t>(y.host)] != 0;
      if (px != py) return px;
    }
    if (x.since != y.since) return x.since > y.since;
    if (x.slots != y.slots) return x.slots < y.slots;
    return x.host < y.host;
  });
  const TimeMs grace = tree_.grace_ms(s.consumer, s.spec.sla, config_.sla);
  std::int64_t left = slots;
  for (std::size_t i : order) {
    if (left == 0) break;
    Placement& p = s.placements[i];
    if (reason == Reason::kDrain && prefer_hosts != nullptr && !(*prefer_hosts)[static_cast<std::size_t>(p.host)]) continue;
    const std::int64_t n = std::min(left, p.slots - p.revoking);
    if (n <= 0) continue;
    p.revoking += n;
    s.revoking += n;
    left -= n;
    add_hold(s.consumer, shape_of(s) * -n);
    Revocation r;
    r.id = next_revocation_++;
    r.session = static_cast<int>(&s - sessions_.data());
    r.host = p.host;
    r.slots = n;
    r.issued = now_;
    r.deadline = now_ + grace;
    r.reason = reason;
    r.beneficiary = beneficiary;
    revocations_.emplace(r.id, r);
    by_deadline_.insert({r.deadline, r.id});
    s.revocations.push_back(r.id);
    emit(DecisionKind::kRevoke, s, p.host, n, reason, beneficiary, r.deadline, r.id);
  }
}

void Scheduler::cancel_revocations(Session& s, std::int64_t slots) {
  // The latest promises are withdrawn first: they have the most time left.
  std::vector<std::uint64_t> ids = s.revocations;
  std::sort(ids.begin(), ids.end(), [&](std::uint64_t a, std::uint64_t b) {
    return revocations_.at(a).deadline > revocations_.at(b).deadline || (revocations_.at(a).deadline == revocations_.at(b).deadline && a > b);
  });
  std::int64_t left = slots;
  for (std::uint64_t id : ids) {
    if (left == 0) break;
    Revocation& r = revocations_.at(id);
    const std::int64_t n = std::min(left, r.slots);
    Placement* p = placement_on(s, r.host);
    p->revoking -= n;
    s.revoking -= n;
    r.slots -= n;
    left -= n;
    add_hold(s.consumer, shape_of(s) * n);
    emit(DecisionKind::kRevokeCancel, s, r.host, n, r.reason, r.beneficiary, r.deadline, id);
    if (r.slots == 0) {
      by_deadline_.erase({r.deadline, id});
      std::erase(s.revocations, id);
      revocations_.erase(id);
    }
  }
}

void Scheduler::release(Session& s, std::int64_t slots, Reason reason) {
  // Give back the youngest slots that are not already promised elsewhere.
  std::vector<std::size_t> order(s.placements.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Placement& x = s.placements[a];
    const Placement& y = s.placements[b];
    if (x.since != y.since) return x.since > y.since;
    if (x.slots != y.slots) return x.slots < y.slots;
    return x.host < y.host;
  });
  std::int64_t left = slots;
  for (std::size_t i : order) {
    if (left == 0) break;
    Placement& p = s.placements[i];
    const std::int64_t n = std::min(left, p.slots - p.revoking);
    if (n <= 0) continue;
    p.slots -= n;
    s.held -= n;
    left -= n;
    hosts_.unuse(p.host, shape_of(s) * n);
    add_hold(s.consumer, shape_of(s) * -n);
    emit(DecisionKind::kRelease, s, p.host, n, reason, std::string());
  }
  drop_empty_placements(s);
}

void Scheduler::reclaim(std::uint64_t id) {
  auto it = revocations_.find(id);
  if (it == revocations_.end()) return;
  const Revocation r = it->second;
  by_deadline_.erase({r.deadline, id});
  revocations_.erase(it);
  Session& s = sessions_[static_cast<std::size_t>(r.session)];
  std::erase(s.revocations, id);
  Placement* p = placement_on(s, r.host);
  assert(p != nullptr);
  p->slots -= r.slots;
  p->revoking -= r.slots;
  s.held -= r.slots;
  s.revoking -= r.slots;
  hosts_.unuse(r.host, shape_of(s) * r.slots);
  emit(DecisionKind::kReclaim, s, r.host, r.slots, r.reason, r.beneficiary, r.deadline, id);
  drop_empty_placements(s);
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

Resources Scheduler::consumer_held(int node) const {
  Resources sum;
  for (const Session& s : sessions_) {
    if (!s.live) continue;
    for (int n = s.consumer; n >= 0; n = tree_.node(n).parent) {
      if (n == node) {
        sum += shape_of(s) * s.held;
        break;
      }
    }
  }
  return sum;
}

}  // namespace sched::core
