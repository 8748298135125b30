// Turns what each session holds over time into usage records: one record per
// stretch of constant allocation, cut at every full UTC hour, boundaries at
// whole seconds. Pure: times come in as arguments, records go out by take().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "billing/ledger_record.hpp"
#include "core/clock.hpp"
#include "core/resources.hpp"

namespace sched::billing {

// A session's interval not yet closed; kept with the session's stored record
// so a restart continues it (executors keep running while the daemon is down).
struct OpenInterval {
  SessionAttrs who;
  std::int64_t slots = 0;
  core::Resources held;
  std::int64_t start_s = 0;
  // Slot-milliseconds that ran tasks since start_s, and the running tasks
  // counted since busy_since_ms.
  std::int64_t busy_slot_ms = 0;
  std::int64_t busy_slots = 0;
  core::TimeMs busy_since_ms = 0;
};

class UsageMeter {
 public:
  // A change is metered at its nearest second (half a second up).
  static std::int64_t metered_second(core::TimeMs t) { return (t + 500) / 1000; }
  static constexpr std::int64_t kHour = 3600;

  // `who` holds `slots` worth `held` from `t` on (0 slots: nothing).
  // Returns true when the open interval changed (it must be stored again).
  bool hold(const SessionAttrs& who, std::int64_t slots, const core::Resources& held, core::TimeMs t);
  // The same, with the session's attributes made only when an interval
  // opens (on the decision path most changes resize an open one).
  bool hold(const std::string& session, std::int64_t slots, const core::Resources& held, core::TimeMs t,
            const std::function<SessionAttrs()>& who);
  // Tasks the session's driver runs now (counted up to its slots). Returns
  // true when the busy count changed (the interval must be stored again: the
  // count runs on through a restart, as the holding does).
  bool running(const std::string& session, std::int64_t tasks, core::TimeMs t);
  // The session ended: its interval closes at `t`.
  void end(const std::string& session, core::TimeMs t);
  // Cuts every open interval at each full hour up to `t`. Returns true when
  // something was cut.
  bool roll(core::TimeMs t);
  // When the next cut is due (kNever with nothing open).
  core::TimeMs next_roll_ms() const;

  // Records closed since the last take, in the order they closed.
  std::vector<UsageRecord> take();
  bool has_records() const { return !closed_.empty(); }

  const OpenInterval* open_interval(const std::string& session) const;
  // Continues an interval stored before a restart.
  void restore(OpenInterval interval);
  std::size_t open_count() const { return open_.size(); }

 private:
  // Closes `iv` at second `end_s` (busy counted to `t`), emitting one record
  // per UTC hour it spans.
  void close(OpenInterval& iv, std::int64_t end_s, core::TimeMs t);
  static void count_busy(OpenInterval& iv, core::TimeMs t);

  std::unordered_map<std::string, OpenInterval> open_;  // by session
  std::vector<UsageRecord> closed_;
};

}  // namespace sched::billing
