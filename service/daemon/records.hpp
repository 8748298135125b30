// What the daemon remembers about sessions and executors, beyond the
// scheduling core's own view, and their stored (JSON) form.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "core/clock.hpp"
#include "core/resources.hpp"
#include "core/sla.hpp"

namespace sched::daemon {

struct LaunchTemplate {
  std::vector<std::string> command;  // empty: no process (the driver runs its own executors)
  std::map<std::string, std::string> env;
  std::string working_dir;
  std::string image;                                   // container backends
  std::map<std::string, std::string> backend_options;  // "k8s.owner", ...
  // A warm start (LaunchSpec.warm_command): empty, or a command whose
  // processes become executors when handed command[warm_args_from:].
  std::vector<std::string> warm_command;
  std::size_t warm_args_from = 0;
};

struct SessionRecord {
  std::string id;
  std::string consumer;
  std::string user;
  std::string application;
  std::string principal;
  core::SlaClass sla = core::SlaClass::kBatch;
  int priority = 0;
  core::Resources shape;
  std::int64_t min = 0;
  std::int64_t max = 0;  // 0: no cap
  std::int64_t demand = 0;
  LaunchTemplate launch;
  core::TimeMs lease_ttl_ms = 0;
  core::TimeMs registered_ms = 0;
  core::TimeMs first_executor_ms = 0;
  std::int64_t executor_seq = 0;
  int failures = 0;
  bool failed = false;  // too many executor failures: it gets no more
  std::string failure;
  // Billing: what it suffered, and its usage interval still open (so a
  // restart continues it; 0 slots: none open).
  std::int64_t preemptions = 0;
  std::int64_t slots_preempted = 0;
  std::int64_t metered_slots = 0;
  core::Resources metered_held;
  std::int64_t metered_since_s = 0;
  std::int64_t metered_busy_slot_ms = 0;  // counted up to metered_busy_since_ms
  std::int64_t metered_busy_slots = 0;
  core::TimeMs metered_busy_since_ms = 0;

  // Not stored.
  std::int64_t version = 1;
  core::TimeMs lease_expires_ms = 0;
  std::map<std::string, std::string> executor_on_host;  // host -> live executor id
  std::set<std::string> executor_ids;                   // every executor record of the session
  std::map<std::string, std::uint64_t> start_ahead;     // host -> revocation whose slots it awaits there
};

enum class ExecutorPhase : std::uint8_t { kLaunching = 1, kRunning = 2, kStopping = 3, kExited = 4 };

struct ExecutorRecord {
  std::string id;
  std::string session;
  std::string consumer;
  std::string host;
  std::int64_t slots = 0;
  std::int64_t revoking = 0;
  ExecutorPhase phase = ExecutorPhase::kLaunching;
  core::TimeMs since_ms = 0;
  bool acknowledged = false;
  int exit_code = 0;
  std::string detail;
  std::string backend_id;
  core::Resources resources;  // launched with
  bool has_process = true;    // false: slots only, nothing to launch
  core::TimeMs exited_ms = 0;

  // Not stored.
  core::TimeMs launch_requested_ms = 0;
  bool released_by_driver = false;  // the driver gave it back: nothing left running on it
  bool live() const { return phase == ExecutorPhase::kLaunching || phase == ExecutorPhase::kRunning; }
};

std::string to_json(const SessionRecord& s);
std::string to_json(const ExecutorRecord& e);
Result<SessionRecord> session_from_json(std::string_view text);
Result<ExecutorRecord> executor_from_json(std::string_view text);
// The metered_* fields of a record (metered_slots 0: no interval open).
std::string interval_to_json(const SessionRecord& s);
Status interval_from_json(std::string_view text, SessionRecord* s);

// Store keys.
inline std::string session_key(const std::string& id) {
  return "s/" + id;
}
inline std::string executor_key(const std::string& id) {
  return "e/" + id;
}
inline std::string usage_key(const std::string& consumer) {
  return "u/" + consumer;
}
// A session's open usage interval (its metered_* fields), apart from its
// record: it changes with every grant and busy-count change, and a record
// with its launch spec is a hundred times its size.
inline std::string interval_key(const std::string& id) {
  return "i/" + id;
}

}  // namespace sched::daemon
