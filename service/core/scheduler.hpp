// The scheduling core: events in (hosts, tree, sessions, demand, time),
// decisions out (grant, revoke, reclaim, release). Single-threaded and
// deterministic; no I/O; the clock is injected. One object per daemon.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"
#include "core/clock.hpp"
#include "core/consumer_tree.hpp"
#include "core/decision.hpp"
#include "core/fill_index.hpp"
#include "core/host_placements.hpp"
#include "core/host_pool.hpp"
#include "core/host_promises.hpp"
#include "core/resources.hpp"
#include "core/session.hpp"
#include "core/session_split.hpp"
#include "core/share_policy.hpp"
#include "core/sla.hpp"
#include "core/waiting_set.hpp"

namespace sched::core {

struct SchedulerConfig {
  // One slot: the unit plans and demands are written in.
  Resources slot = Resources::of(kCpu, 1000);
  // "hybrid" (ownership + share ratio) or "drf".
  std::string share_policy = "hybrid";
  // Also preempt toward the share ratio, not only for ownership (default
  // off), with its threshold and delay.
  RebalanceRule rebalance;
  PlacementPolicy placement = PlacementPolicy::kPack;
  SlaPolicy sla;
  // Local time for time-window plans = UTC + this many minutes.
  int utc_offset_min = 0;
  // While sessions wait for slots, recompute everything this often: a
  // reclaim may become useful when room frees up elsewhere, which the
  // incremental passes (only dirty subtrees) do not look at. 0: never.
  TimeMs full_pass_interval_ms = 10'000;
  // A consumer whose share moved by less than this fraction of it is not
  // re-split among its children until the move grows or a full pass runs
  // (a move below half an executor never is). The room such a move frees
  // goes to the least-served by the fill; room it takes is found short at
  // placement. 0: follow every move of half an executor or more.
  double resplit_tolerance = 0.005;
  static constexpr double kMaxResplitTolerance = 0.05;
};

// Whom freed room is kept for, as the core indexes it: a consumer (and
// everything below it), or one session (its index and registration seq).
struct ClaimantRef {
  int node = -1;
  int session = -1;
  std::uint64_t seq = 0;
  friend auto operator<=>(const ClaimantRef&, const ClaimantRef&) = default;
};

// A revocation in flight: slots a session must give back by `deadline`.
struct Revocation {
  std::uint64_t id = 0;
  int session = -1;
  int host = -1;
  std::int64_t slots = 0;
  TimeMs issued = 0;
  TimeMs deadline = 0;
  Reason reason = Reason::kNone;
  std::string beneficiary;
  // Set when taken to make room on this host for one waiting owner's
  // session (fragmentation): it stands until that session no longer waits.
  int for_session = -1;
  std::uint64_t for_seq = 0;
  // Whom the freed room is for (consumer paths, session ids); until the
  // deadline, room on this host is kept for them. Empty: anyone.
  std::vector<std::string> claimants;
  std::vector<ClaimantRef> claimant_refs;  // the same, indexed
  // The host cannot keep these slots whatever the targets say (it is
  // drained, or its capacity shrank below what it holds): a rising target
  // does not cancel it.
  bool forced = false;
  // Taken for the budget it frees under a cap its claimants are held back
  // by, not only for room on this host (see Scheduler::revoke).
  bool frees_budget = false;
  // Whether the room it frees is kept for claimants (a drain's is not).
  bool promises_room() const { return reason != Reason::kDrain && !claimant_refs.empty(); }
};

class Scheduler {
 public:
  // REQUIRES: `clock` outlives the scheduler.
  static Result<std::unique_ptr<Scheduler>> create(const SchedulerConfig& config, const Clock* clock);

  // --- Capacity -------------------------------------------------------------
  Status add_host(const HostSpec& host);
  // The host's slots vanish at once (kLost decisions at the next pass).
  Status remove_host(std::string_view name);
  // A drained host takes no new slots; its slots are revoked with grace.
  Status drain_host(std::string_view name, bool drain = true);
  // The host now offers `capacity` (other workloads took or gave back room).
  // Slots already granted stay even when they no longer fit; the host just
  // takes no new ones until enough are given back.
  Status set_host_capacity(std::string_view name, const Resources& capacity);

  // --- Tenancy --------------------------------------------------------------
  // Validates and applies a new tree without a restart. Fails, changing
  // nothing, when a live session's consumer would vanish or stop being a leaf.
  // With `check_capacity`, the top-level owned amounts must fit the hosts.
  Status set_tree(const TreeSpec& spec, bool check_capacity = false);
  const ConsumerTree& tree() const { return tree_; }

  // --- Sessions -------------------------------------------------------------
  Status register_session(const SessionSpec& spec);
  Status update_session(std::string_view id, const SessionUpdate& update);
  // Its slots are released at once.
  Status unregister_session(std::string_view id);
  // The driver gave `slots` back on `host` (complying early with a
  // revocation, or voluntarily): revoking slots are returned first.
  Status release_slots(std::string_view id, std::string_view host, std::int64_t slots);
  // Records slots a session already holds, without a decision: the daemon
  // restoring its state after a restart. Fails, changing nothing, when they
  // do not fit in what is free on the host.
  Status adopt_slots(std::string_view id, std::string_view host, std::int64_t slots, TimeMs since);

  // --- Scheduling -----------------------------------------------------------
  // One pass at the clock's current time; returns what to do.
  Decisions schedule();
  // When the next pass has timed work (a deadline, an idle timeout, a plan
  // window edge); kNever if none.
  TimeMs next_wakeup() const;
  // When the next deadline or idle timeout falls due (plan windows left
  // out: they recur forever); kNever when nothing is under way.
  TimeMs next_settle_deadline() const;
  std::size_t pending_revocations() const { return revocations_.size(); }
  // Forgets all incremental state and recomputes everything next pass
  // (tests use it to check that incremental passes reach the same result).
  void mark_all_dirty();

  // --- Views ----------------------------------------------------------------
  const SchedulerConfig& config() const { return config_; }
  const HostPool& hosts() const { return hosts_; }
  const std::map<std::uint64_t, Revocation>& revocations() const { return revocations_; }
  // The session with `id`, or nullptr.
  const Session* find_session(std::string_view id) const;
  // The session the room revocation `id` frees is on its way to, when that
  // session runs no executor on the revocation's host yet: the first such
  // claimant short of its target, in the order placement serves them. A
  // backend that can start processes ahead of their slots may start its
  // executor now, so the start overlaps the grace period instead of
  // following it. Empty when there is none or the revocation is over.
  std::string session_to_start_ahead(std::uint64_t revocation_id) const;
  // Live sessions in registration order.
  std::vector<const Session*> sessions() const;
  // The sessions with a placement on `host`, in no particular order.
  std::vector<const Session*> sessions_on(int host) const;
  // What a consumer (any node) holds now, revocations in flight included.
  Resources consumer_held(int node) const;
  // What a consumer's sessions want, capped by the consumer's limit.
  FracResources consumer_demand(int node) const { return nodes_[static_cast<std::size_t>(node)].demand; }
  // The plan in force for a node now.
  const ConsumerPlan& plan(int node) const { return plans_[static_cast<std::size_t>(node)]; }
  // The target the last pass computed for a node.
  FracResources consumer_target(int node) const { return nodes_[static_cast<std::size_t>(node)].target; }
  const SharePolicy& share_policy() const { return *policy_; }

 private:
  struct NodeState {
    FracResources demand;
    FracResources reserved_idle;
    Resources hold;      // effective: revocations in flight excluded
    Resources held_all;  // physically held: revocations in flight included
    VictimKey victim;
    Resources unit;  // smallest executor shape of sessions that want slots
    // Per kind, the least amount of it any executor below that wants slots
    // takes (0: none uses the kind): how far the node's capacity can move
    // without changing a whole executor.
    Resources grain;
    FracResources target;
    FracResources last_capacity;
    bool dirty = true;    // the policy must look at it again
    bool queued = false;  // in dirty_nodes_, awaiting aggregation
    // Rebalance with a threshold: since when it has held less than its
    // share of its parent's split allows (kNever: it has not).
    TimeMs starving_since = kNever;
    Reason reason = Reason::kNone;
    std::string beneficiary;     // shown in decisions
    std::vector<int> claimants;  // every consumer a cut here serves
    std::vector<int> sessions;   // leaves only
  };

  Scheduler(const SchedulerConfig& config, const Clock* clock, std::unique_ptr<SharePolicy> policy);

  Resources shape_of(const Session& s) const { return s.spec.shape; }
  void mark_dirty(int node);
  void add_hold(int node, const Resources& delta);
  void refresh_plans();
  void refresh_norm();

  // Pass stages, in order.
  void expire_revocations();
  void revoke_draining();
  // Hosts whose capacity shrank below what they hold: the excess is revoked
  // with grace, most preemptable sessions first.
  void revoke_overcommitted();
  void update_wants();
  void aggregate();
  void distribute(int node, const FracResources& capacity);
  void split_leaf(int leaf, const FracResources& allocatable);
  void apply_targets();
  // Keeps gpu hosts' cpu and memory for gpu work while some waits.
  void keep_room_for_special_kinds();
  void place_grants();
  void block(int session);
  void unblock_where_room_appeared();
  // Grants what it can of the session's target; true when it is all placed.
  bool place_session(Session& s);
  void reclaim_for_placement();
  void fill_idle();
  // One round of the fill over the waiting shapes that use special kinds
  // (gpus, extras), or over those that do not.
  void fill_kind(bool special, bool less_reserved);
  // Enter and leave hungry_ (want above target), keeping fill_index_ in step.
  void hungry(int session);
  void not_hungry(int session);
  // Hosts where room a revocation frees is promised to its claimants.
  std::vector<int> promised_hosts() const;
  // Calls f(session) for the hungry members of `group` that every promise
  // on `host` is for (they alone may take room there).
  template <typename F>
  void for_each_claimant(int group, int host, F&& f) const;

  // Mechanism helpers; each emits its decisions.
  void grant(Session& s, int host, std::int64_t slots);
  // With `useful_for`, only slots that let an executor of one of those
  // shapes run are taken (a cut that helps nobody is not carried out).
  void revoke(Session& s, std::int64_t slots, Reason reason, const std::string& beneficiary,
              const std::vector<std::uint8_t>* prefer_hosts, const std::vector<Resources>* useful_for = nullptr,
              const std::vector<ClaimantRef>& claimants = {});
  std::vector<Resources> claimant_shapes(const std::vector<ClaimantRef>& beneficiaries) const;
  // Whether a claimant of a cut of `victim` (a session, or sessions of
  // `shapes` below a consumer) is kept from its executors by a cap both are
  // under, and has room to run once the cap lets it (`room_made`: the cut
  // made some).
  bool limit_holds_back(const Session& victim, const std::vector<ClaimantRef>& claimants,
                        const std::vector<Resources>& shapes, bool room_made);
  // Whether a consumer above both `claimant` and `victim` (consumers) has
  // room for fewer than `need` executors of `shape` under its limit (or its
  // owned amount, when it may not borrow).
  bool capped_in_common(int claimant, int victim, const Resources& shape, std::int64_t need) const;
  void cancel_revocations(Session& s, std::int64_t slots);
  // Revokes `slots` of `s` on one host; returns the revocation.
  Revocation& revoke_at(Session& s, Placement& p, std::int64_t slots, Reason reason, const std::string& beneficiary,
                        const std::vector<ClaimantRef>& claimants);
  // Hosts whose free room is kept for the claimants of revocations there.
  void forget_promise(int host, std::uint64_t id);
  // Whether free room on `host` is kept for the claimants of revocations
  // there that `s` is not one of (with `made_for_one`: only revocations
  // made for one waiting session count).
  bool promised_elsewhere(const Session& s, int host, bool made_for_one = false) const;
  // The order place_grants serves sessions in (SLA class, priority, age).
  static bool placed_before(const Session& x, const Session& y);
  bool claims(const Session& s, const std::vector<ClaimantRef>& claimants) const;
  // Claimants as decisions and views name them (consumer paths, session ids).
  std::vector<std::string> claimant_names(const std::vector<ClaimantRef>& claimants) const;
  void cancel_revocation(std::uint64_t id, std::int64_t slots, Decisions* to = nullptr);
  // Forgets a revocation everywhere it is indexed (no decision, no slots).
  void drop_revocation(std::uint64_t id);
  // The lowest consumer on `s`'s path that owns room for one more of its
  // executors it does not hold, or -1.
  int owner_with_room(const Session& s) const;
  bool is_under(int node, int ancestor) const;
  void release(Session& s, std::int64_t slots, Reason reason);
  // Takes a revocation's slots back; returns what it was.
  Revocation reclaim(std::uint64_t revocation_id);
  // Grants the room a reclaimed revocation freed to whoever it was taken for.
  void serve_claimants(const Revocation& r);
  Placement* placement_on(Session& s, int host);
  void drop_empty_placements(Session& s);
  // Records a decision (into `to`, default: this pass's decisions).
  void emit(DecisionKind kind, const Session& s, int host, std::int64_t slots, Reason reason,
            const std::string& beneficiary, TimeMs deadline = kNever, std::uint64_t revocation = 0,
            Decisions* to = nullptr);
  // Slots of its shape the session may still get before some consumer on
  // its path hits its limit (or, not borrowing, its owned amount).
  // With `keep_reserved`, capacity reserved for other consumers on the way
  // counts as used (the fill must not lend it).
  std::int64_t path_room(const Session& s, bool keep_reserved) const;
  // How many `shape`s one consumer's limit (and its owned amount, when it
  // may not borrow) leave room for beyond `used`; may be negative.
  static std::int64_t room_under_cap(const ConsumerPlan& plan, const FracResources& used, const Resources& shape);
  // Whether shares can be handed out in whole slots (see SharePolicy).
  bool plans_in_whole_slots() const;
  bool whole_slots(const Resources& shape) const;
  void update_unit();
  void change_held(Session& s, std::int64_t delta);
  void add_held_all(int node, const Resources& delta);
  static Status check_counts(const std::string& id, std::int64_t demand, std::int64_t min, std::int64_t max);
  void load_plans(TimeMs t);
  // A node's guarantee: min(demand + reserved idle, owned).
  FracResources guarantee(int node) const;
  // Room that revocations in flight will free, per host.
  std::vector<std::pair<int, Resources>> room_coming();
  void note_session(int index);

  SchedulerConfig config_;
  const Clock* clock_;
  std::unique_ptr<SharePolicy> policy_;
  SessionSplitter splitter_;
  ConsumerTree tree_;
  std::vector<ConsumerPlan> plans_;
  TimeMs plans_until_ = kNever;
  std::vector<NodeState> nodes_;
  HostPool hosts_;
  DominantShare norm_;
  Resources norm_capacity_;

  std::vector<Session> sessions_;
  std::vector<int> free_session_slots_;
  std::unordered_map<std::string, int> session_by_id_;
  std::uint64_t next_seq_ = 1;

  std::map<std::uint64_t, Revocation> revocations_;
  std::set<std::pair<TimeMs, std::uint64_t>> by_deadline_;
  std::uint64_t next_revocation_ = 1;
  std::set<std::pair<TimeMs, int>> idle_deadlines_;
  // When a parent must be split again because a child of it will then have
  // been starving for the rebalance delay: (time, parent node).
  std::set<std::pair<TimeMs, int>> rebalance_wakes_;

  std::vector<int> dirty_sessions_;
  std::vector<std::uint8_t> session_dirty_;
  std::vector<int> dirty_nodes_;
  std::vector<int> changed_sessions_;  // targets recomputed this pass
  WaitingSet unplaced_;                // target above what is placed
  WaitingSet hungry_;                  // want above target
  std::set<std::uint64_t> sticky_;     // revocations made for one waiting session
  // Blocked sessions by shape, in the order they are to be let back in.
  struct BlockedGroup {
    Resources shape;
    std::deque<int> queue;
    std::uint64_t epoch = 0;  // room epoch when last looked at
  };
  std::vector<BlockedGroup> blocked_;
  std::uint64_t revocation_epoch_ = 1;  // moves whenever revocations come or go
  FracResources last_fill_reserved_;    // reserved idle capacity when the fill last ran
  Resources last_stranded_;             // stranded room the root was last split with
  std::vector<int> drain_pending_;      // hosts whose slots still need revoking
  std::vector<int> shrunk_pending_;     // hosts whose capacity shrank since the last pass
  Decisions pending_;                   // made between passes (lost hosts, ended sessions)
  HostPromises promises_;               // host -> revocations there
  HostPlacements on_host_;              // host -> sessions with slots there

  int nonuniform_sessions_ = 0;  // sessions whose shape is not whole slots
  bool plans_whole_ = true;      // every plan amount is whole slots
  bool uniform_ = true;          // both: shares are split in whole slots

  TimeMs now_ = 0;
  TimeMs last_full_pass_ = 0;
  Decisions out_;
  std::vector<std::vector<ChildShare>> scratch_;
  std::vector<int> gaining_;
  std::vector<SessionClaim> claims_;
  FillIndex fill_index_;                     // hungry_ counted per node and shape
  std::vector<Resources> coming_scratch_;    // room_coming's per-host sums
  std::vector<std::uint8_t> coming_listed_;  // and which hosts it has listed
  // fill_idle's scratch, per pass: per node, its level, the candidates below
  // it of groups open only to some, and what leaves found empty took off its
  // count; per group, whether and to whom it is open; per session, whether
  // it was tried and came away empty, and whether it is one of those some.
  std::vector<double> fill_level_;
  std::vector<std::uint32_t> fill_level_stamp_;
  std::vector<int> fill_extra_;
  std::vector<int> fill_dropped_;
  std::vector<int> fill_dropped_by_group_;  // [group * nodes + node]
  std::vector<std::uint32_t> fill_touched_;
  std::vector<std::uint8_t> fill_open_;
  std::vector<std::uint32_t> fill_tried_;
  std::vector<std::uint32_t> fill_listed_;
  std::uint32_t fill_stamp_ = 0;
};

}  // namespace sched::core
