// Scenario files for session-sim: capacity, the consumer tree and a list of
// steps, in YAML. Loading checks every field and names the field and line
// of the first thing wrong.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "core/consumer_tree.hpp"
#include "core/host_pool.hpp"
#include "core/scheduler.hpp"
#include "core/session.hpp"

namespace sched::sim {

// A change to one session: registration (first mention, with a consumer),
// an update, or its end.
struct SessionChange {
  std::string id;
  std::optional<std::string> consumer;
  std::optional<core::SlaClass> sla;
  std::optional<int> priority;
  std::optional<std::int64_t> demand;
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
  std::optional<core::Resources> shape;
  bool end = false;
  int line = 0;
};

struct Step {
  int line = 0;
  std::string label;
  std::optional<core::TimeMs> advance;                       // move the clock forward first
  std::optional<std::int64_t> at_time_of_day;                // or to the next such time of day (s)
  std::vector<std::pair<std::string, std::int64_t>> demand;  // consumer path -> slots
  std::vector<SessionChange> sessions;
  std::vector<core::HostSpec> add_hosts;
  std::vector<std::string> remove_hosts;
  std::vector<std::string> drain;
  std::vector<std::string> undrain;
  std::optional<core::TreeSpec> consumers;  // a new tree
};

struct Scenario {
  std::string source;  // file name, for messages
  core::SchedulerConfig config;
  std::vector<core::HostSpec> hosts;
  bool report_in_slots = true;  // numbers of slots, or resource objects
  core::TreeSpec tree;
  core::TimeMs start = 0;
  std::vector<Step> steps;
};

// Parses YAML text; `source` names it in errors ("file.yaml:12: ...").
Result<Scenario> parse_scenario(const std::string& text, const std::string& source);
Result<Scenario> load_scenario(const std::string& path);

// Exposed for the daemon's configuration later: a consumer list in the
// scenario's YAML form.
}  // namespace sched::sim
