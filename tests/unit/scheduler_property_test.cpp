// Property tests of the scheduling core over many random trees, hosts and
// demand sequences (seeded, so a failure names the seed that reproduces it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <random>
#include <sstream>

#include "core/quantity.hpp"
#include "scheduler_harness.hpp"

namespace sched::testing {
namespace {

using core::FracResources;
using core::Resources;
using core::SlaClass;

constexpr core::TimeMs kGrace = 10'000;
// With one executor size the ownership promise is exact. With several sizes
// (and different memory per core) a claim can land a grace period late or an
// owner stay short by a few executors where sizes and fragmentation do not
// add up. These bounds are measured (docs/scheduling.md, "Known limits");
// tightening them is open work, and the tests keep them from growing.
constexpr std::int64_t kMultiSizeShortfall = 3;
constexpr std::int64_t kHeterogeneousShortfall = 5;

struct Gen {
  explicit Gen(std::uint32_t seed) : rng(seed) {}
  std::mt19937 rng;
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }
};

struct World {
  bool multi_kind = false;
  std::vector<std::string> leaves;
  std::vector<std::string> sessions;
  std::vector<Resources> shapes;  // the session shapes in use
};

// A random consumer tree whose owned amounts fit `capacity` slots.
core::ConsumerSpec random_consumer(Gen& g, const std::string& name, int depth, double owned_budget, World* w,
                                   const std::string& path) {
  core::ConsumerSpec c;
  c.name = name;
  c.plan.share = static_cast<double>(g.uniform(1, 5));
  const double owned = g.chance(0.75) ? std::floor(owned_budget * g.uniform(0, 100) / 100.0) : 0;
  c.plan.owned = core::AmountSpec::of_slots(owned);
  if (g.chance(0.2)) c.plan.limit = core::AmountSpec::of_slots(owned + g.uniform(0, 12));
  if (g.chance(0.15) && owned > 0)
    c.plan.reserved = core::AmountSpec::of_slots(std::floor(owned * g.uniform(0, 100) / 100.0));
  if (g.chance(0.1)) c.plan.borrow = false;
  const int kids = depth < 3 && g.chance(0.6) ? g.uniform(1, 4) : 0;
  double left = owned;
  for (int i = 0; i < kids; ++i) {
    const std::string child = name + std::to_string(i);
    core::ConsumerSpec k = random_consumer(g, child, depth + 1, left, w, path + "/" + child);
    left -= k.plan.owned->slots;
    c.children.push_back(std::move(k));
  }
  if (kids == 0) w->leaves.push_back(path);
  return c;
}

core::TreeSpec random_tree(Gen& g, std::int64_t capacity_slots, World* w) {
  core::TreeSpec t;
  const int tops = g.uniform(1, 4);
  double left = static_cast<double>(capacity_slots);
  for (int i = 0; i < tops; ++i) {
    const std::string name = std::string(1, static_cast<char>('A' + i));
    core::ConsumerSpec c = random_consumer(g, name, 1, left, w, "/" + name);
    left -= c.plan.owned->slots;
    t.consumers.push_back(std::move(c));
  }
  return t;
}

// The independent bookkeeping checks: hosts never over capacity, host use
// equals the sum of placements, nodes never over their limit.
void check_invariants(core::Scheduler& s, const std::string& when) {
  const auto& hosts = s.hosts();
  std::vector<Resources> used(hosts.size());
  for (const core::Session* x : s.sessions()) {
    std::int64_t held = 0;
    std::int64_t revoking = 0;
    for (const auto& p : x->placements) {
      used[static_cast<std::size_t>(p.host)] += x->spec.shape * p.slots;
      held += p.slots;
      revoking += p.revoking;
      ASSERT_GE(p.revoking, 0) << when;
      ASSERT_LE(p.revoking, p.slots) << when;
    }
    ASSERT_EQ(held, x->held) << when << " session " << x->spec.id;
    ASSERT_EQ(revoking, x->revoking) << when << " session " << x->spec.id;
  }
  // The per-host index of placements lists exactly the sessions placed there.
  std::vector<std::vector<std::string>> placed(hosts.size());
  for (const core::Session* x : s.sessions())
    for (const auto& p : x->placements) placed[static_cast<std::size_t>(p.host)].push_back(x->spec.id);
  for (std::size_t h = 0; h < hosts.size(); ++h) {
    std::vector<std::string> listed;
    for (const core::Session* x : s.sessions_on(static_cast<int>(h))) listed.push_back(x->spec.id);
    std::sort(listed.begin(), listed.end());
    std::sort(placed[h].begin(), placed[h].end());
    ASSERT_EQ(listed, placed[h]) << when << " host " << hosts.host(static_cast<int>(h)).name;
  }
  for (std::size_t h = 0; h < hosts.size(); ++h) {
    if (!hosts.host(static_cast<int>(h)).up) continue;
    ASSERT_EQ(used[h], hosts.host(static_cast<int>(h)).used)
        << when << " host " << hosts.host(static_cast<int>(h)).name;
    ASSERT_TRUE(used[h].fits_in(hosts.host(static_cast<int>(h)).capacity))
        << when << ": host " << hosts.host(static_cast<int>(h)).name << " over capacity: " << used[h].to_string();
  }
  for (std::size_t n = 1; n < s.tree().size(); ++n) {
    const Resources held = s.consumer_held(static_cast<int>(n));
    ASSERT_TRUE(held.fits_in(s.plan(static_cast<int>(n)).limit))
        << when << ": " << s.tree().node(static_cast<int>(n)).path << " holds " << held.to_string()
        << " over its limit " << s.plan(static_cast<int>(n)).limit.to_string();
  }
}

// What each node leaves idle as reserved (computed here, not by the core).
std::vector<FracResources> reserved_idle(core::Scheduler& s) {
  const auto& t = s.tree();
  std::vector<FracResources> ri(t.size());
  for (std::size_t i = t.size(); i-- > 0;) {
    const auto& plan = s.plan(static_cast<int>(i));
    FracResources kids;
    for (int c : t.node(static_cast<int>(i)).children) kids += ri[static_cast<std::size_t>(c)];
    const FracResources g = FracResources::min(s.consumer_demand(static_cast<int>(i)), FracResources(plan.owned));
    ri[i] = FracResources::max((FracResources(plan.reserved) - g).clamped(), kids);
  }
  return ri;
}

// Effective holdings (revocations in flight excluded) of a node.
Resources effective_held(core::Scheduler& s, int node) {
  Resources sum;
  for (const core::Session* x : s.sessions()) {
    for (int n = x->consumer; n >= 0; n = s.tree().node(n).parent) {
      if (n == node) {
        sum += x->spec.shape * x->effective();
        break;
      }
    }
  }
  return sum;
}

// A readable dump of the tree and sessions, printed with failures.
std::string dump(core::Scheduler& s) {
  std::ostringstream o;
  const auto& t = s.tree();
  for (std::size_t n = 0; n < t.size(); ++n) {
    const auto& p = s.plan(static_cast<int>(n));
    o << std::string(static_cast<std::size_t>(t.node(static_cast<int>(n)).depth) * 2, ' ')
      << t.node(static_cast<int>(n)).path << " share=" << p.share << " owned=" << t.describe(p.owned)
      << " limit=" << t.describe(p.limit) << " reserved=" << t.describe(p.reserved) << (p.borrow ? "" : " no-borrow")
      << " | demand=" << s.consumer_demand(static_cast<int>(n))[0] / 1000.0
      << " held=" << s.consumer_held(static_cast<int>(n)).to_string()
      << " target=" << s.consumer_target(static_cast<int>(n))[0] / 1000.0 << "\n";
  }
  for (const core::Session* x : s.sessions()) {
    o << "  session " << x->spec.id << " " << t.node(x->consumer).path << " " << core::sla_name(x->spec.sla)
      << " prio=" << x->spec.priority << " shape=" << x->spec.shape.to_string() << " demand=" << x->spec.demand
      << " min=" << x->spec.min << " want=" << x->want << " pinned=" << x->pinned << " target=" << x->target
      << " held=" << x->held << " revoking=" << x->revoking << " on";
    for (const core::Placement& pl : x->placements) o << " " << s.hosts().host(pl.host).name << ":" << pl.slots;
    o << "\n";
  }
  for (std::size_t h = 0; h < s.hosts().size(); ++h) {
    const core::Host& host = s.hosts().host(static_cast<int>(h));
    o << "  host " << host.name << " capacity " << host.capacity.to_string() << " free " << host.free().to_string()
      << (host.schedulable() ? "" : " (not schedulable)") << "\n";
  }
  for (const auto& [id, r] : s.revocations()) {
    o << "  revocation " << id << " session#" << r.session << " slots=" << r.slots << " deadline=" << r.deadline << " "
      << core::reason_name(r.reason) << " for " << r.beneficiary << "\n";
  }
  return o.str();
}

// Work conservation: nobody who could use a free slot goes without.
void check_work_conserving(core::Scheduler& s, const std::string& when) {
  const auto ri = reserved_idle(s);
  const FracResources budget = (FracResources(s.hosts().free_total()) - ri[0]).clamped();
  for (const core::Session* x : s.sessions()) {
    if (x->want <= x->held) continue;
    const Resources& shape = x->spec.shape;
    bool blocked = !FracResources(shape).fits_in(budget);
    for (int n = x->consumer; n > 0 && !blocked; n = s.tree().node(n).parent) {
      const auto& plan = s.plan(n);
      // Capacity reserved for other consumers below n is not this session's.
      FracResources after(s.consumer_held(n) + shape);
      if (n != x->consumer)
        after += (ri[static_cast<std::size_t>(n)] - ri[static_cast<std::size_t>(x->consumer)]).clamped();
      if (!after.fits_in(FracResources(plan.limit)) || (!plan.borrow && !after.fits_in(FracResources(plan.owned)))) {
        blocked = true;
      }
    }
    if (!blocked) {
      bool room = false;
      for (std::size_t h = 0; h < s.hosts().size() && !room; ++h)
        room = s.hosts().room_for(static_cast<int>(h), shape) > 0;
      blocked = !room;
    }
    ASSERT_TRUE(blocked) << when << ": session " << x->spec.id << " wants " << x->want << " holds " << x->held
                         << " while " << s.hosts().free_total().to_string() << " is free\n"
                         << dump(s);
  }
}

bool under(core::Scheduler& s, int node, int ancestor) {
  for (int m = node; m >= 0; m = s.tree().node(m).parent)
    if (m == ancestor) return true;
  return false;
}

// Slots under `node` being revoked for claimants that are all under it too:
// they move inside the owner (one child reclaims from another), which the
// owner does not lose, though its effective holdings dip until the deadline.
Resources moving_inside(core::Scheduler& s, int node) {
  Resources sum;
  for (const core::Session* victim : s.sessions()) {
    if (!under(s, victim->consumer, node)) continue;
    for (std::uint64_t id : victim->revocations) {
      const core::Revocation& r = s.revocations().at(id);
      const bool inside =
          !r.claimants.empty() && std::all_of(r.claimants.begin(), r.claimants.end(), [&](const std::string& c) {
            if (c.starts_with('/')) {
              auto at = s.tree().find(c);
              return at.is_ok() && under(s, *at, node);
            }
            const core::Session* w = s.find_session(c);
            return w != nullptr && under(s, w->consumer, node);
          });
      if (inside) sum += victim->spec.shape * r.slots;
    }
  }
  return sum;
}

// Whether an executor of `shape` for owner `n` would fit on some host if the
// slots held there by borrowers outside n (consumers holding more than
// they own, seen from where their branch meets n's) were taken back.
bool reclaim_would_fit(core::Scheduler& s, int n, const Resources& shape) {
  std::vector<Resources> room(s.hosts().size());
  for (std::size_t h = 0; h < room.size(); ++h)
    if (s.hosts().host(static_cast<int>(h)).schedulable()) room[h] = s.hosts().host(static_cast<int>(h)).free();
  for (const core::Session* y : s.sessions()) {
    if (under(s, y->consumer, n)) continue;
    // The branch of y just below the common ancestor of y and n.
    int a = y->consumer;
    while (s.tree().node(a).parent >= 0 && !under(s, n, s.tree().node(a).parent)) a = s.tree().node(a).parent;
    if (s.consumer_held(a).fits_in(s.plan(a).owned)) continue;  // not a borrower
    for (const auto& p : y->placements)
      room[static_cast<std::size_t>(p.host)] += y->spec.shape * (p.slots - p.revoking);
  }
  for (std::size_t h = 0; h < room.size(); ++h)
    if (s.hosts().host(static_cast<int>(h)).schedulable() && shape.fits_in(room[h])) return true;
  return false;
}

// Every owner whose demand reaches its owned amount holds it: no hungry
// session below it could add one executor and stay within the guarantee
// (with several resource kinds, the kind its executors exhaust first binds).
void check_owners_served(core::Scheduler& s, const std::string& when, std::int64_t tolerance_executors) {
  // Reserved capacity left idle is the owner's too: kept for its subtree.
  const auto ri = reserved_idle(s);
  for (std::size_t n = 1; n < s.tree().size(); ++n) {
    const auto& plan = s.plan(static_cast<int>(n));
    if (plan.owned.is_zero()) continue;
    const FracResources g =
        FracResources::min(s.consumer_demand(static_cast<int>(n)) + ri[n], FracResources(plan.owned));
    const FracResources have =
        FracResources(effective_held(s, static_cast<int>(n)) + moving_inside(s, static_cast<int>(n))) + ri[n];
    for (const core::Session* x : s.sessions()) {
      if (x->want <= x->effective()) continue;
      bool under = false;
      for (int m = x->consumer; m >= 0 && !under; m = s.tree().node(m).parent) under = m == static_cast<int>(n);
      if (!under) continue;
      // Limits between the session and the owner may forbid another executor.
      bool capped = false;
      for (int m = x->consumer; m != static_cast<int>(n) && !capped; m = s.tree().node(m).parent) {
        const auto& p = s.plan(m);
        FracResources after(s.consumer_held(m) + x->spec.shape);
        if (m != x->consumer)
          after += (ri[static_cast<std::size_t>(m)] - ri[static_cast<std::size_t>(x->consumer)]).clamped();
        capped = !after.fits_in(FracResources(p.limit)) || (!p.borrow && !after.fits_in(FracResources(p.owned)));
      }
      if (capped || !(s.consumer_held(static_cast<int>(n)) + x->spec.shape).fits_in(plan.limit)) continue;
      if (!(have + FracResources(x->spec.shape)).fits_in(g, 1e-3)) continue;
      if (!reclaim_would_fit(s, static_cast<int>(n), x->spec.shape)) continue;  // fragmentation, nothing to take
      const std::int64_t short_by = (g - have).clamped().count_of(x->spec.shape);
      if (short_by <= tolerance_executors) continue;
      ASSERT_FALSE(true) << "short by " << short_by << " executors: " << when << ": owner "
                         << s.tree().node(static_cast<int>(n)).path << " is guaranteed " << g[0] / 1000.0 << " cpu / "
                         << g[1] / 1024.0 << " GiB and holds " << have[0] / 1000.0 << " cpu / " << have[1] / 1024.0
                         << " GiB, yet its session " << x->spec.id << " still waits\n"
                         << dump(s);
    }
  }
}

// After a full recompute and settling, the state converges: another full
// recompute decides nothing (no oscillation).
void check_converges(Harness& h, const std::string& when) {
  for (int round = 0; round < 3; ++round) {
    h.s().mark_all_dirty();
    auto d = h.settle();
    if (std::getenv("PROPERTY_TRACE")) {
      std::fprintf(stderr, "--- converge round %d\n", round);
      for (const auto& x : d) std::fprintf(stderr, "  %s\n", x.to_string().c_str());
    }
  }
  h.s().mark_all_dirty();
  core::Decisions d = h.s().schedule();
  std::string text;
  for (const auto& x : d) text += "\n  " + x.to_string();
  ASSERT_TRUE(d.empty()) << when << ": full recomputes keep changing the state:" << text << "\n" << dump(h.s());
}

// After settling, a pass that recomputes everything decides nothing new.
void check_stable(Harness& h, const std::string& when) {
  h.s().mark_all_dirty();
  core::Decisions d = h.s().schedule();
  std::string text;
  for (const auto& x : d) text += "\n  " + x.to_string();
  ASSERT_TRUE(d.empty()) << when << ": a full recompute changed the settled state:" << text << "\n" << dump(h.s());
}

struct RunOptions {
  bool keep_going = false;  // determinism runs compare logs even after a failure
  bool rebalance = false;
  bool rebalance_delayed = false;  // rebalance with a threshold and a delay
  bool multi_kind = false;         // cpu and memory; executors of several sizes
  bool heterogeneous = false;      // and different memory per core
  bool retree = false;             // now and then the tree is set again with every node index moved
  int steps = 10;
};

// Builds a random world and drives it through random steps, checking the
// properties along the way. Returns the decision log as text.
std::string run_random(std::uint32_t seed, const RunOptions& opt) {
  Gen g(seed);
  core::SchedulerConfig cfg;
  cfg.rebalance.on = opt.rebalance || opt.rebalance_delayed;
  if (opt.rebalance_delayed) {
    cfg.rebalance.threshold = 0.8;
    cfg.rebalance.delay_ms = 2 * kGrace;
  }
  cfg.sla.grace_ms = {kGrace, kGrace, kGrace};
  // The properties are of the incremental passes themselves; the periodic
  // full pass (which only finds more to do) is exercised by check_converges.
  cfg.full_pass_interval_ms = 0;
  cfg.sla.interactive_idle_timeout_ms = g.chance(0.5) ? 0 : 5'000;
  cfg.placement = g.chance(0.5) ? core::PlacementPolicy::kPack : core::PlacementPolicy::kSpread;
  if (opt.multi_kind || opt.heterogeneous) cfg.slot = Resources::cpu_mem(1000, 4096);
  Harness h(cfg);
  World w;
  w.multi_kind = opt.multi_kind;
  const int nhosts = g.uniform(1, 6);
  std::int64_t capacity = 0;
  for (int i = 0; i < nhosts; ++i) {
    const std::int64_t slots = g.uniform(4, 16);
    capacity += slots;
    h.add_host("h" + std::to_string(i), cfg.slot * slots);
  }
  const core::TreeSpec tree = random_tree(g, capacity, &w);
  const Status st = h.s().set_tree(tree, true);
  EXPECT_TRUE(st.is_ok()) << "seed " << seed << ": " << st.to_string();
  if (!st.is_ok()) return "";
  if (opt.heterogeneous) {
    // Different memory per core: the share arithmetic meets whole executors.
    w.shapes = {Resources::cpu_mem(1000, 4096), Resources::cpu_mem(2000, 4096), Resources::cpu_mem(1000, 8192),
                Resources::cpu_mem(2000, 8192)};
  } else if (opt.multi_kind) {
    // Executors of several sizes, all whole slots (the same memory per core).
    w.shapes = {cfg.slot, cfg.slot * 2, cfg.slot * 4};
  } else {
    w.shapes = {cfg.slot};
  }
  int next_id = 0;
  bool shifted = false;
  const std::string tag = "seed " + std::to_string(seed);
  for (int step = 0; step < opt.steps; ++step) {
    const std::string when = tag + " step " + std::to_string(step);
    if (opt.retree && g.chance(0.4)) {
      // An empty consumer put first, or taken away: the same consumers at
      // other node indices, with sessions hungry and revocations in flight.
      core::TreeSpec t = tree;
      shifted = !shifted;
      if (shifted) {
        core::ConsumerSpec first;
        first.name = "Z";
        first.plan.share = 1;
        t.consumers.insert(t.consumers.begin(), first);
      }
      const Status moved = h.s().set_tree(t, true);
      EXPECT_TRUE(moved.is_ok()) << when << ": " << moved.to_string();
    }
    // Changes: new sessions, demand changes, ends.
    const int changes = g.uniform(1, 5);
    for (int c = 0; c < changes; ++c) {
      const int what = g.uniform(0, 9);
      if (what <= 2 || w.sessions.empty()) {
        const std::string id = "s" + std::to_string(next_id++);
        const std::string& leaf =
            w.leaves[static_cast<std::size_t>(g.uniform(0, static_cast<int>(w.leaves.size()) - 1))];
        const SlaClass cls = static_cast<SlaClass>(g.uniform(0, 2));
        const std::int64_t demand = g.uniform(0, static_cast<int>(capacity));
        const std::int64_t mn = cls == SlaClass::kStreaming ? g.uniform(0, 3) : 0;
        const Resources shape = w.shapes[static_cast<std::size_t>(g.uniform(0, static_cast<int>(w.shapes.size()) - 1))];
        EXPECT_TRUE(h.add(id, leaf, demand, cls, g.uniform(0, 2), mn, shape).is_ok()) << when;
        w.sessions.push_back(id);
      } else if (what <= 8) {
        const std::string& id =
            w.sessions[static_cast<std::size_t>(g.uniform(0, static_cast<int>(w.sessions.size()) - 1))];
        EXPECT_TRUE(h.demand(id, g.uniform(0, static_cast<int>(capacity))).is_ok()) << when;
      } else {
        const std::size_t i = static_cast<std::size_t>(g.uniform(0, static_cast<int>(w.sessions.size()) - 1));
        EXPECT_TRUE(h.s().unregister_session(w.sessions[i]).is_ok()) << when;
        w.sessions.erase(w.sessions.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    // Run one grace period, checking invariants at every pass.
    const std::size_t log_mark = h.log().size();
    h.pass();
    check_invariants(h.s(), when + " (at the change)");
    const core::TimeMs end = h.clock().now_ms() + kGrace;
    while (h.s().next_wakeup() <= end) {
      h.clock().set(std::max(h.clock().now_ms(), h.s().next_wakeup()));
      h.pass();
      check_invariants(h.s(), when + " (within the grace)");
    }
    h.clock().set(end);
    h.pass();
    if (std::getenv("PROPERTY_TRACE")) {
      std::fprintf(stderr, "--- %s\n", when.c_str());
      for (std::size_t i = log_mark; i < h.log().size(); ++i)
        std::fprintf(stderr, "  t=+%lld %s\n", static_cast<long long>(h.log()[i].at - (end - kGrace)),
                     h.log()[i].to_string().c_str());
    }
    if (!cfg.rebalance.on) {
      check_owners_served(h.s(), when + " (one grace later)",
                          opt.heterogeneous ? kHeterogeneousShortfall
                          : opt.multi_kind  ? kMultiSizeShortfall
                                            : 0);
    }
    if (g.chance(0.3)) continue;  // sometimes change again before settling
    h.settle();
    check_invariants(h.s(), when + " (settled)");
    check_work_conserving(h.s(), when + " (settled)");
    // With one executor size, incremental passes and a full recompute agree
    // exactly. With several, a reclaim can become useful only when room
    // frees up elsewhere, which the periodic full pass finds: there, require
    // that full passes converge (no churn).
    if (opt.heterogeneous || opt.multi_kind)
      check_converges(h, when + " (settled)");
    else
      check_stable(h, when + " (settled)");
    if (::testing::Test::HasFatalFailure() && !opt.keep_going) break;
  }
  std::string log;
  for (const auto& d : h.log()) log += d.to_string() + " t=" + std::to_string(d.at) + "\n";
  return log;
}

// PROPERTY_SEED=N runs only that seed (to reproduce a failure).
bool skip_seed(std::uint32_t seed) {
  const char* only = std::getenv("PROPERTY_SEED");
  return only != nullptr && std::to_string(seed) != only;
}

std::uint32_t env_number(const char* name, std::uint32_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10)) : fallback;
}

// Runs `run_random` over seeds first..last, stopping at the first fatal failure.
// PROPERTY_SEED_OFFSET=K and PROPERTY_SEED_SCALE=N run N times as many
// seeds from first+K instead: a wider search than CI's, to run by hand.
// PROPERTY_KEEP_GOING=1 runs every seed and lists those that failed.
void run_seeds(std::uint32_t first, std::uint32_t last, const RunOptions& o) {
  const std::uint32_t scale = std::max<std::uint32_t>(1, env_number("PROPERTY_SEED_SCALE", 1));
  const std::uint32_t count = (last - first + 1) * scale;
  first += env_number("PROPERTY_SEED_OFFSET", 0);
  last = first + count - 1;
  const bool keep_going = env_number("PROPERTY_KEEP_GOING", 0) != 0;
  const ::testing::TestResult* result = ::testing::UnitTest::GetInstance()->current_test_info()->result();
  std::string failed;
  for (std::uint32_t seed = first; seed <= last; ++seed) {
    if (skip_seed(seed)) continue;
    SCOPED_TRACE("seed " + std::to_string(seed));
    const int parts = result->total_part_count();
    RunOptions each = o;
    each.keep_going = each.keep_going || keep_going;  // a failure before must not cut this seed short
    run_random(seed, each);
    if (result->total_part_count() != parts) failed += " " + std::to_string(seed);
    if (!keep_going && ::testing::Test::HasFatalFailure()) return;
  }
  if (!failed.empty()) std::fprintf(stderr, "failed seeds:%s\n", failed.c_str());
}

TEST(Properties, HybridRandomSequences) {
  run_seeds(1, 300, RunOptions{});
}

TEST(Properties, TreeSetAgainMidSequence) {
  RunOptions o;
  o.retree = true;
  o.multi_kind = true;
  run_seeds(8001, 8100, o);
}

TEST(Properties, RebalanceRandomSequences) {
  RunOptions o;
  o.rebalance = true;
  run_seeds(1001, 1150, o);
}

TEST(Properties, DelayedRebalanceRandomSequences) {
  RunOptions o;
  o.rebalance_delayed = true;
  run_seeds(7001, 7150, o);
}

TEST(Properties, MultiKindRandomSequences) {
  RunOptions o;
  o.multi_kind = true;
  run_seeds(2001, 2150, o);
}

TEST(Properties, HeterogeneousShapeSequences) {
  RunOptions o;
  o.heterogeneous = true;
  run_seeds(6001, 6150, o);
}

// Seeds from wider searches by hand (PROPERTY_SEED_SCALE) that once failed:
// cuts inside a leaf for a claimant a limit holds back that were carried out
// only where they made room, owners of different executor shapes that took
// from each other by turns, and a lower class preempted for a session the
// room could not help.
TEST(Properties, SeedsThatOnceFailed) {
  RunOptions heterogeneous;
  heterogeneous.heterogeneous = true;
  RunOptions retree;
  retree.retree = true;
  retree.multi_kind = true;
  RunOptions multi_kind;
  multi_kind.multi_kind = true;
  const std::vector<std::pair<std::uint32_t, RunOptions>> cases = {
      {106379, heterogeneous}, {106389, heterogeneous}, {106727, heterogeneous}, {108344, retree},
      {108733, retree},        {108752, retree},        {108795, retree},        {102706, multi_kind},
      {102724, multi_kind},    {207013, heterogeneous}, {208540, retree},        {202106, multi_kind},
      {202321, multi_kind},
  };
  for (auto [seed, o] : cases) {
    if (skip_seed(seed)) continue;
    SCOPED_TRACE("seed " + std::to_string(seed));
    o.keep_going = true;  // each seed is checked whole, whatever failed before it
    run_random(seed, o);
  }
}

TEST(Properties, Deterministic) {
  for (std::uint32_t seed = 3001; seed <= 3040; ++seed) {
    if (skip_seed(seed)) continue;
    RunOptions o;
    o.rebalance = seed % 2 == 0;
    o.rebalance_delayed = seed % 7 == 0;
    o.multi_kind = seed % 3 == 0;
    o.heterogeneous = seed % 5 == 0;
    o.keep_going = true;
    EXPECT_EQ(run_random(seed, o), run_random(seed, o)) << "seed " << seed;
  }
}

// Siblings that all want more than there is split the free pool (what is
// left above their owned amounts) by share ratio, within rounding.
TEST(Properties, HungrySiblingsSplitFreePoolByShare) {
  for (std::uint32_t seed = 4001; seed <= 4300; ++seed) {
    if (skip_seed(seed)) continue;
    SCOPED_TRACE("seed " + std::to_string(seed));
    Gen g(seed);
    core::SchedulerConfig cfg;
    Harness h(cfg);
    World w;
    std::int64_t capacity = 0;
    const int nhosts = g.uniform(1, 4);
    for (int i = 0; i < nhosts; ++i) {
      const std::int64_t slots = g.uniform(8, 40);
      capacity += slots;
      h.add_host("h" + std::to_string(i), cfg.slot * slots);
    }
    core::TreeSpec tree = random_tree(g, capacity, &w);
    ASSERT_TRUE(h.s().set_tree(tree, true).is_ok());
    for (std::size_t i = 0; i < w.leaves.size(); ++i) {
      const std::int64_t demand = g.chance(0.7) ? capacity * 2 : g.uniform(0, static_cast<int>(capacity / 4));
      ASSERT_TRUE(h.add("s" + std::to_string(i), w.leaves[i], demand).is_ok());
    }
    h.settle();
    const auto& t = h.s().tree();
    std::vector<int> leaves_under(t.size(), 0);
    for (std::size_t i = t.size(); i-- > 1;) {
      if (t.node(static_cast<int>(i)).is_leaf()) leaves_under[i] = 1;
      leaves_under[static_cast<std::size_t>(t.node(static_cast<int>(i)).parent)] += leaves_under[i];
    }
    const auto ri = reserved_idle(h.s());
    for (std::size_t n = 0; n < t.size(); ++n) {
      struct Kid {
        std::string path;
        double level;
        double tolerance;
      };
      std::vector<Kid> hungry;
      for (int c : t.node(static_cast<int>(n)).children) {
        const auto& plan = h.s().plan(c);
        if (!plan.borrow) continue;
        // Reserved capacity kept idle below c is c's use of the pool too.
        const std::int64_t held =
            (FracResources(h.s().consumer_held(c)) + ri[static_cast<std::size_t>(c)]).count_of(cfg.slot);
        const std::int64_t demand = h.s().consumer_demand(c).count_of(cfg.slot);
        const std::int64_t owned = plan.owned.count_of(cfg.slot);
        if (demand <= held || held < owned) continue;
        hungry.push_back({t.node(c).path, static_cast<double>(held - owned) / plan.share,
                          (leaves_under[static_cast<std::size_t>(c)] + 1.0) / plan.share});
      }
      for (const Kid& a : hungry)
        for (const Kid& b : hungry)
          EXPECT_LE(a.level - b.level, a.tolerance + b.tolerance)
              << a.path << " has " << a.level << " per share above its owned, " << b.path << " only " << b.level << "\n"
              << dump(h.s());
    }
    if (HasFailure()) return;
  }
}

// Two hungry siblings with different executor shapes split by dominant share.
TEST(Properties, DominantSharesSplitByShareRatio) {
  for (std::uint32_t seed = 5001; seed <= 5200; ++seed) {
    if (skip_seed(seed)) continue;
    SCOPED_TRACE("seed " + std::to_string(seed));
    Gen g(seed);
    core::SchedulerConfig cfg;
    cfg.slot = Resources::cpu_mem(1000, 1024);
    Harness h(cfg);
    const Resources cap = Resources::cpu_mem(1000L * g.uniform(32, 256), 1024L * g.uniform(32, 256));
    h.add_host("h", cap);
    const int sa = g.uniform(1, 4);
    const int sb = g.uniform(1, 4);
    ASSERT_TRUE(h.set_tree("  - {name: X, share: " + std::to_string(sa) +
                           "}\n  - {name: Y, share: " + std::to_string(sb) + "}\n")
                    .is_ok());
    const Resources shape_x = Resources::cpu_mem(1000L * g.uniform(1, 4), 1024L * g.uniform(1, 2));
    const Resources shape_y = Resources::cpu_mem(1000L * g.uniform(1, 2), 1024L * g.uniform(1, 8));
    ASSERT_TRUE(h.add("x", "/X", 100000, SlaClass::kBatch, 0, 0, shape_x).is_ok());
    ASSERT_TRUE(h.add("y", "/Y", 100000, SlaClass::kBatch, 0, 0, shape_y).is_ok());
    h.settle();
    const core::DominantShare ds(cap);
    const double dx = ds.of(shape_x * h.held("x")) / sa;
    const double dy = ds.of(shape_y * h.held("y")) / sb;
    // Within one executor of either side (integral slots); beyond that only
    // when the side that is behind cannot fit another executor at all (work
    // conservation gives what it cannot use to the other).
    const double tol = ds.of(shape_x) / sa + ds.of(shape_y) / sb + 1e-9;
    const Resources left = cap - shape_x * h.held("x") - shape_y * h.held("y");
    const bool x_behind = dx < dy;
    const bool behind_blocked = !(x_behind ? shape_x : shape_y).fits_in(left);
    if (!behind_blocked) {
      EXPECT_LE(std::abs(dx - dy), tol) << "x " << h.held("x") << " slots, y " << h.held("y") << " slots";
    }
    // And no room is left for another executor of either.
    EXPECT_FALSE(shape_x.fits_in(left) || shape_y.fits_in(left)) << "left " << left.to_string();
  }
}

}  // namespace
}  // namespace sched::testing
