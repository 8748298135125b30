// The injected clock: the core never reads the system time itself, so tests
// and session-sim replay a day of scheduling in milliseconds of real time.
#pragma once

#include <cstdint>

namespace sched::core {

// Milliseconds since the Unix epoch (UTC). Virtual in the simulator.
using TimeMs = std::int64_t;
inline constexpr TimeMs kNever = INT64_MAX;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs now_ms() const = 0;
};

// A clock that moves only when told to: the simulator's and the tests'.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeMs start = 0) : now_(start) {}
  TimeMs now_ms() const override { return now_; }
  void set(TimeMs t) { now_ = t; }
  void advance(TimeMs delta) { now_ += delta; }

 private:
  TimeMs now_;
};

}  // namespace sched::core
