// Replays a scenario through the scheduling core in virtual time: each step
// applies its changes, then time runs on until every reclaim has completed,
// and the step's allocations are reported.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "core/clock.hpp"
#include "core/decision.hpp"
#include "core/scheduler.hpp"
#include "sim/scenario.hpp"

namespace sched::sim {

struct StepReport {
  int step = 0;
  std::string label;
  double time_s = 0;
  nlohmann::ordered_json json;  // the line session-sim prints
  core::Decisions decisions;    // everything decided during the step
};

class Simulator {
 public:
  explicit Simulator(Scenario scenario);

  // Builds the scheduler: hosts, tree (validated against the capacity).
  Status start();
  // Runs the next step; false when there are none left.
  Result<bool> step(StepReport* report);
  // Runs every step, writing one JSON line per step to `json` and, if given,
  // a readable timeline to `timeline`.
  Status run(std::ostream& json, std::ostream* timeline, bool print_decisions);

  const core::Scheduler& scheduler() const { return *scheduler_; }
  core::Scheduler& mutable_scheduler() { return *scheduler_; }
  core::ManualClock& clock() { return clock_; }
  const Scenario& scenario() const { return scenario_; }

  // Upper bound on passes while settling one step; beyond it the scenario
  // is reported as never settling.
  static constexpr int kMaxSettlePasses = 100'000;

 private:
  Status apply(const Step& s, int index);
  Status advance_to(core::TimeMs t, core::Decisions* out);
  Status settle(core::Decisions* out);
  nlohmann::ordered_json amount_json(const core::Resources& r) const;
  nlohmann::ordered_json report_json(int index, const Step& s, const core::Decisions& d) const;
  std::string timeline_line(int index, const Step& s, const core::Decisions& d) const;

  Scenario scenario_;
  core::ManualClock clock_;
  std::unique_ptr<core::Scheduler> scheduler_;
  std::size_t next_step_ = 0;
  bool explicit_sessions_ = false;
};

}  // namespace sched::sim
