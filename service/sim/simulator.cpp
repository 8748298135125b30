// The replay loop, and the JSON and timeline forms of each step.
#include "sim/simulator.hpp"

#include <cmath>
#include <map>
#include <ostream>
#include <sstream>

#include "core/quantity.hpp"

namespace sched::sim {
namespace {

constexpr core::TimeMs kDayMs = 86'400'000;

double seconds(core::TimeMs ms) {
  return static_cast<double>(ms) / 1000.0;
}

// Numbers print as integers when whole, else with up to three decimals.
nlohmann::ordered_json number(double v) {
  const double r = std::round(v);
  if (std::abs(v - r) < 1e-9) return static_cast<std::int64_t>(r);
  return std::round(v * 1000.0) / 1000.0;
}

}  // namespace

Simulator::Simulator(Scenario scenario) : scenario_(std::move(scenario)), clock_(scenario_.start) {}

Status Simulator::start() {
  auto s = core::Scheduler::create(scenario_.config, &clock_);
  if (!s) return s.status();
  scheduler_ = std::move(*s);
  for (const auto& h : scenario_.hosts) SCHED_RETURN_IF_ERROR(scheduler_->add_host(h));
  Status st = scheduler_->set_tree(scenario_.tree, /*check_capacity=*/true);
  if (!st.is_ok()) return Status(st.code(), scenario_.source + ": consumers: " + st.message());
  return Status::ok();
}

Status Simulator::advance_to(core::TimeMs t, core::Decisions* out) {
  // Timed work that falls due on the way happens at its own time.
  int passes = 0;
  while (scheduler_->next_wakeup() <= t) {
    clock_.set(std::max(clock_.now_ms(), scheduler_->next_wakeup()));
    for (auto& d : scheduler_->schedule()) out->push_back(std::move(d));
    if (++passes > kMaxSettlePasses)
      return Status::internal("time did not advance past " + std::to_string(clock_.now_ms()));
  }
  clock_.set(t);
  return Status::ok();
}

Status Simulator::settle(core::Decisions* out) {
  for (auto& d : scheduler_->schedule()) out->push_back(std::move(d));
  int passes = 0;
  while (scheduler_->next_settle_deadline() != core::kNever) {
    const core::TimeMs t = std::min(scheduler_->next_wakeup(), scheduler_->next_settle_deadline());
    clock_.set(std::max(clock_.now_ms(), t));
    for (auto& d : scheduler_->schedule()) out->push_back(std::move(d));
    if (++passes > kMaxSettlePasses) {
      return Status::internal("the scheduler did not settle after " + std::to_string(kMaxSettlePasses) + " passes");
    }
  }
  return Status::ok();
}

Status Simulator::apply(const Step& s, int index) {
  auto at = [&](int line) {
    return scenario_.source + ":" + std::to_string(line > 0 ? line : s.line) + ": steps[" + std::to_string(index) + "]";
  };
  core::Scheduler& sch = *scheduler_;
  for (const auto& h : s.add_hosts) {
    if (Status st = sch.add_host(h); !st.is_ok()) return st.with_context(at(s.line) + ".add_hosts");
  }
  for (const auto& h : s.remove_hosts) {
    if (Status st = sch.remove_host(h); !st.is_ok()) return st.with_context(at(s.line) + ".remove_hosts");
  }
  for (const auto& h : s.drain) {
    if (Status st = sch.drain_host(h, true); !st.is_ok()) return st.with_context(at(s.line) + ".drain");
  }
  for (const auto& h : s.undrain) {
    if (Status st = sch.drain_host(h, false); !st.is_ok()) return st.with_context(at(s.line) + ".undrain");
  }
  if (s.consumers) {
    if (Status st = sch.set_tree(*s.consumers, true); !st.is_ok()) return st.with_context(at(s.line) + ".consumers");
  }
  // Consumer-level demand: one batch session per consumer, named by its path.
  for (const auto& [path, slots] : s.demand) {
    auto node = sch.tree().find(path);
    if (!node) return Status::not_found(at(s.line) + ".demand." + path + ": unknown consumer path '" + path + "'");
    const std::string id = sch.tree().node(*node).path;
    if (sch.find_session(id) == nullptr) {
      core::SessionSpec spec;
      spec.id = id;
      spec.consumer = id;
      spec.sla = core::SlaClass::kBatch;
      spec.demand = slots;
      if (Status st = sch.register_session(spec); !st.is_ok()) return st.with_context(at(s.line) + ".demand." + path);
    } else {
      core::SessionUpdate u;
      u.demand = slots;
      if (Status st = sch.update_session(id, u); !st.is_ok()) return st.with_context(at(s.line) + ".demand." + path);
    }
  }
  for (std::size_t i = 0; i < s.sessions.size(); ++i) {
    const SessionChange& c = s.sessions[i];
    const std::string ctx = at(c.line) + ".sessions[" + std::to_string(i) + "]";
    explicit_sessions_ = true;
    if (c.end) {
      if (Status st = sch.unregister_session(c.id); !st.is_ok()) return st.with_context(ctx);
      continue;
    }
    if (sch.find_session(c.id) == nullptr) {
      if (!c.consumer) return Status::invalid_argument(ctx + ": session '" + c.id + "' is new: give its 'consumer'");
      core::SessionSpec spec;
      spec.id = c.id;
      spec.consumer = *c.consumer;
      spec.sla = c.sla.value_or(core::SlaClass::kBatch);
      spec.priority = c.priority.value_or(0);
      spec.demand = c.demand.value_or(0);
      spec.min = c.min.value_or(0);
      spec.max = c.max.value_or(core::kUnlimitedSlots);
      if (c.shape) spec.shape = *c.shape;
      if (Status st = sch.register_session(spec); !st.is_ok()) return st.with_context(ctx);
    } else {
      const core::Session* cur = sch.find_session(c.id);
      if (c.consumer && sch.tree().find(*c.consumer).is_ok() && *sch.tree().find(*c.consumer) != cur->consumer) {
        return Status::invalid_argument(ctx + ": session '" + c.id + "' cannot move to another consumer");
      }
      if (c.sla && *c.sla != cur->spec.sla) {
        return Status::invalid_argument(ctx + ": session '" + c.id + "' cannot change its SLA class");
      }
      if (c.shape && !(*c.shape == cur->spec.shape)) {
        return Status::invalid_argument(ctx + ": session '" + c.id + "' cannot change its shape");
      }
      core::SessionUpdate u;
      u.demand = c.demand;
      u.min = c.min;
      u.max = c.max;
      u.priority = c.priority;
      if (Status st = sch.update_session(c.id, u); !st.is_ok()) return st.with_context(ctx);
    }
  }
  return Status::ok();
}

Result<bool> Simulator::step(StepReport* report) {
  if (next_step_ >= scenario_.steps.size()) return false;
  const int index = static_cast<int>(next_step_++);
  const Step& s = scenario_.steps[static_cast<std::size_t>(index)];
  core::Decisions decisions;
  if (s.advance) SCHED_RETURN_IF_ERROR(advance_to(clock_.now_ms() + *s.advance, &decisions));
  if (s.at_time_of_day) {
    // The next time the clock shows that time of day (today or tomorrow).
    const core::TimeMs now = clock_.now_ms();
    const core::TimeMs day_start = now - ((now % kDayMs) + kDayMs) % kDayMs;
    core::TimeMs t = day_start + *s.at_time_of_day * 1000;
    if (t < now) t += kDayMs;
    SCHED_RETURN_IF_ERROR(advance_to(t, &decisions));
  }
  SCHED_RETURN_IF_ERROR(apply(s, index));
  SCHED_RETURN_IF_ERROR(settle(&decisions));
  report->step = index;
  report->label = s.label;
  report->time_s = seconds(clock_.now_ms() - scenario_.start);
  report->json = report_json(index, s, decisions);
  report->decisions = std::move(decisions);
  return true;
}

Status Simulator::run(std::ostream& json, std::ostream* timeline, bool print_decisions) {
  SCHED_RETURN_IF_ERROR(start());
  while (true) {
    StepReport r;
    auto more = step(&r);
    if (!more) return more.status();
    if (!*more) break;
    json << r.json.dump() << "\n";
    if (timeline != nullptr) {
      *timeline << timeline_line(r.step, scenario_.steps[static_cast<std::size_t>(r.step)], r.decisions) << "\n";
    }
    if (print_decisions) {
      for (const auto& d : r.decisions) {
        (timeline ? *timeline : json) << "    t=" << seconds(d.at - scenario_.start) << "s " << d.to_string() << "\n";
      }
    }
  }
  return Status::ok();
}

nlohmann::ordered_json Simulator::amount_json(const core::Resources& r) const {
  if (scenario_.report_in_slots) {
    // Slot equivalents: by the kind the slot is scarcest in.
    const core::Resources& slot = scenario_.config.slot;
    double n = 0;
    for (std::size_t k = 0; k < core::kMaxResourceKinds; ++k) {
      if (slot[k] > 0) n = std::max(n, static_cast<double>(r[k]) / static_cast<double>(slot[k]));
    }
    return number(n);
  }
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < core::ResourceKinds::count(); ++k) {
    if (r[k] == 0 && k > core::kMemory) continue;
    if (k == core::kMemory) {
      o[core::ResourceKinds::name(k)] = core::format_quantity(k, r[k]);
    } else {
      o[core::ResourceKinds::name(k)] = number(core::quantity_in_natural_unit(k, r[k]));
    }
  }
  return o;
}

nlohmann::ordered_json Simulator::report_json(int index, const Step& s, const core::Decisions& decisions) const {
  const core::Scheduler& sch = *scheduler_;
  nlohmann::ordered_json j;
  j["step"] = index;
  if (!s.label.empty()) j["label"] = s.label;
  j["time_s"] = number(seconds(clock_.now_ms() - scenario_.start));
  nlohmann::ordered_json alloc = nlohmann::ordered_json::object();
  for (int leaf : sch.tree().leaves()) alloc[sch.tree().node(leaf).path] = amount_json(sch.consumer_held(leaf));
  j["alloc"] = alloc;
  if (explicit_sessions_) {
    nlohmann::ordered_json ss = nlohmann::ordered_json::object();
    for (const core::Session* x : sch.sessions()) {
      if (scenario_.report_in_slots && x->spec.shape == scenario_.config.slot) {
        ss[x->spec.id] = x->held;
      } else {
        nlohmann::ordered_json o;
        o["slots"] = x->held;
        o["amount"] = amount_json(x->spec.shape * x->held);
        ss[x->spec.id] = o;
      }
    }
    j["sessions"] = ss;
  }
  // Revocations issued during the step, one entry per session, reason and claimant.
  struct Key {
    std::string session, reason, beneficiary;
    core::TimeMs at;
    bool operator<(const Key& o) const {
      return std::tie(at, session, reason, beneficiary) < std::tie(o.at, o.session, o.reason, o.beneficiary);
    }
  };
  std::map<Key, std::pair<std::int64_t, core::TimeMs>> pre;
  std::map<Key, std::string> consumer_of;
  std::map<Key, std::vector<std::string>> hosts_of;
  for (const auto& d : decisions) {
    if (d.kind != core::DecisionKind::kRevoke) continue;
    Key k{d.session, std::string(core::reason_name(d.reason)), d.beneficiary, d.at};
    auto& e = pre[k];
    e.first += d.slots;
    e.second = d.deadline;
    consumer_of[k] = d.consumer;
    hosts_of[k].push_back(d.host);
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& [k, v] : pre) {
    nlohmann::ordered_json e;
    e["session"] = k.session;
    e["consumer"] = consumer_of[k];
    e["slots"] = v.first;
    e["reason"] = k.reason;
    if (!k.beneficiary.empty()) e["for"] = k.beneficiary;
    e["at_s"] = number(seconds(k.at - scenario_.start));
    e["deadline_s"] = number(seconds(v.second - scenario_.start));
    const auto& hs = hosts_of[k];
    if (hs.size() == 1)
      e["host"] = hs.front();
    else
      e["hosts"] = hs.size();
    list.push_back(e);
  }
  j["preempted"] = list;
  return j;
}

std::string Simulator::timeline_line(int index, const Step& s, const core::Decisions& decisions) const {
  const core::Scheduler& sch = *scheduler_;
  std::ostringstream o;
  o << "T" << index << "  t=" << seconds(clock_.now_ms() - scenario_.start) << "s";
  if (!s.label.empty()) o << "  (" << s.label << ")";
  o << "\n    alloc:";
  for (int leaf : sch.tree().leaves()) {
    o << "  " << sch.tree().node(leaf).path << "=" << amount_json(sch.consumer_held(leaf)).dump();
  }
  int revokes = 0;
  for (const auto& d : decisions) {
    if (d.kind != core::DecisionKind::kRevoke) continue;
    if (revokes++ == 0) o << "\n    preempted:";
    o << "  " << d.session << " -" << d.slots << " on " << d.host << " (" << core::reason_name(d.reason);
    if (!d.beneficiary.empty()) o << " for " << d.beneficiary;
    o << ", deadline +" << seconds(d.deadline - d.at) << "s)";
  }
  return o.str();
}

}  // namespace sched::sim
