// Daily time windows ("08:00-18:00 on weekdays") for plans that change with
// the hour, e.g. office hours versus night.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "core/clock.hpp"

namespace sched::core {

class DailyWindow {
 public:
  // Every day, all day.
  DailyWindow() = default;
  // `start_s`/`end_s` are seconds after midnight; end < start wraps past
  // midnight and belongs to the day it starts on. `days` is a bit mask with
  // bit 0 = Monday ... bit 6 = Sunday.
  DailyWindow(std::int64_t start_s, std::int64_t end_s, std::uint8_t days)
      : start_s_(start_s), end_s_(end_s), days_(days) {}

  // "08:00-18:00" plus an optional day list "mon-fri" / "sat,sun".
  static Result<DailyWindow> parse(std::string_view window, std::string_view days);

  // Whether the window is open at `t`, local time being UTC + `utc_offset_min`.
  bool contains(TimeMs t, int utc_offset_min) const;
  // The first instant after `t` at which contains() may change.
  TimeMs next_boundary_after(TimeMs t, int utc_offset_min) const;

  std::string to_string() const;

 private:
  std::int64_t start_s_ = 0;
  std::int64_t end_s_ = 86'400;
  std::uint8_t days_ = 0x7f;
};

}  // namespace sched::core
