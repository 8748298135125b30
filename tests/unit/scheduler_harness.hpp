// A test driver for the scheduling core: a manual clock, trees written in
// the scenario YAML, and helpers to run passes and settle in virtual time.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/scheduler.hpp"
#include "sim/scenario.hpp"

namespace sched::testing {

class Harness {
 public:
  explicit Harness(core::SchedulerConfig config = {}) : clock_(kStart) {
    auto s = core::Scheduler::create(config, &clock_);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    sched_ = std::move(*s);
  }

  static constexpr core::TimeMs kStart = 4 * 86'400'000LL;  // a Monday, 00:00 UTC
  // A scheduler that needs more passes than this to settle is churning.
  static constexpr int kMaxSettlePasses = 2'000;

  core::Scheduler& s() { return *sched_; }
  core::ManualClock& clock() { return clock_; }
  core::TimeMs elapsed() const { return clock_.now_ms() - kStart; }

  // `count` hosts named h1..hN, each `slots` slots of the configured slot.
  void add_hosts(int count, std::int64_t slots) {
    for (int i = 1; i <= count; ++i) add_host("h" + std::to_string(i), sched_->config().slot * slots);
  }
  void add_host(const std::string& name, const core::Resources& cap) {
    core::HostSpec h;
    h.name = name;
    h.capacity = cap;
    ASSERT_TRUE(sched_->add_host(h).is_ok());
  }

  // `yaml` is a consumer list as in scenario files.
  static core::TreeSpec tree_yaml(const std::string& yaml) {
    auto sc = sim::parse_scenario("capacity: 1\nconsumers:\n" + yaml, "tree");
    EXPECT_TRUE(sc.is_ok()) << sc.status().to_string();
    return sc.is_ok() ? sc->tree : core::TreeSpec{};
  }
  Status set_tree(const std::string& yaml, bool check_capacity = true) {
    return sched_->set_tree(tree_yaml(yaml), check_capacity);
  }

  Status add(const std::string& id, const std::string& consumer, std::int64_t demand,
             core::SlaClass sla = core::SlaClass::kBatch, int priority = 0, std::int64_t min = 0,
             core::Resources shape = {}) {
    core::SessionSpec spec;
    spec.id = id;
    spec.consumer = consumer;
    spec.demand = demand;
    spec.sla = sla;
    spec.priority = priority;
    spec.min = min;
    spec.shape = shape;
    return sched_->register_session(spec);
  }
  Status demand(const std::string& id, std::int64_t d) {
    core::SessionUpdate u;
    u.demand = d;
    return sched_->update_session(id, u);
  }

  // One pass now; decisions are also kept in log().
  core::Decisions pass() {
    core::Decisions d = sched_->schedule();
    log_.insert(log_.end(), d.begin(), d.end());
    return d;
  }
  // Passes at every wakeup up to and including `t` ms after now.
  core::Decisions run_for(core::TimeMs ms) {
    core::Decisions all = pass();
    const core::TimeMs end = clock_.now_ms() + ms;
    while (sched_->next_wakeup() <= end) {
      clock_.set(std::max(clock_.now_ms(), sched_->next_wakeup()));
      auto d = pass();
      all.insert(all.end(), d.begin(), d.end());
    }
    clock_.set(end);
    return all;
  }
  // Passes until no deadline or idle timeout is pending.
  core::Decisions settle() {
    core::Decisions all = pass();
    for (int i = 0; i < kMaxSettlePasses && sched_->next_settle_deadline() != core::kNever; ++i) {
      clock_.set(std::max(clock_.now_ms(), std::min(sched_->next_wakeup(), sched_->next_settle_deadline())));
      auto d = pass();
      all.insert(all.end(), d.begin(), d.end());
    }
    EXPECT_EQ(sched_->next_settle_deadline(), core::kNever) << "did not settle in " << kMaxSettlePasses << " passes";
    return all;
  }

  std::int64_t held(const std::string& id) {
    const core::Session* x = sched_->find_session(id);
    return x ? x->held : -1;
  }
  // Slots a consumer holds, in configured slots.
  std::int64_t consumer_slots(const std::string& path) {
    auto n = sched_->tree().find(path);
    EXPECT_TRUE(n.is_ok()) << path;
    if (!n) return -1;
    return sched_->consumer_held(*n).count_of(sched_->config().slot);
  }
  const core::Decisions& log() const { return log_; }

  static std::vector<core::Decision> of_kind(const core::Decisions& ds, core::DecisionKind k) {
    std::vector<core::Decision> out;
    for (const auto& d : ds)
      if (d.kind == k) out.push_back(d);
    return out;
  }

 private:
  core::ManualClock clock_;
  std::unique_ptr<core::Scheduler> sched_;
  core::Decisions log_;
};

}  // namespace sched::testing
