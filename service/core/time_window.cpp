// Daily windows: membership and the next instant a window opens or closes.
#include "core/time_window.hpp"

#include <array>
#include <cctype>

#include "core/quantity.hpp"

namespace sched::core {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::array<std::string_view, 7> kDayNames{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int day_index(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.size() > 3) lower.resize(3);
  for (int i = 0; i < 7; ++i)
    if (kDayNames[static_cast<std::size_t>(i)] == lower) return i;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Floor division that rounds toward minus infinity for negative times.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

Result<DailyWindow> DailyWindow::parse(std::string_view window, std::string_view days) {
  window = trim(window);
  const auto dash = window.find('-');
  if (dash == std::string_view::npos) {
    return Status::invalid_argument("window '" + std::string(window) + "' must be HH:MM-HH:MM");
  }
  auto start = parse_time_of_day(window.substr(0, dash));
  if (!start) return start.status();
  auto end = parse_time_of_day(window.substr(dash + 1));
  if (!end) return end.status();
  if (*start == *end) return Status::invalid_argument("window '" + std::string(window) + "' is empty");
  if (*start == 86'400) return Status::invalid_argument("window '" + std::string(window) + "' starts at 24:00");

  std::uint8_t mask = 0;
  days = trim(days);
  if (days.empty() || days == "all" || days == "daily") {
    mask = 0x7f;
  } else {
    std::string_view rest = days;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      const auto range = item.find('-');
      const int a = day_index(trim(item.substr(0, range)));
      const int b = range == std::string_view::npos ? a : day_index(trim(item.substr(range + 1)));
      if (a < 0 || b < 0) {
        return Status::invalid_argument("days '" + std::string(days) + "': expected names like mon-fri or sat,sun");
      }
      for (int d = a;; d = (d + 1) % 7) {
        mask = static_cast<std::uint8_t>(mask | (1u << d));
        if (d == b) break;
      }
    }
  }
  return DailyWindow(*start, *end, mask);
}

bool DailyWindow::contains(TimeMs t, int utc_offset_min) const {
  const TimeMs local = t + static_cast<TimeMs>(utc_offset_min) * 60'000;
  const std::int64_t day = floor_div(local, kDayMs);
  const std::int64_t sec = (local - day * kDayMs) / 1000;
  // 1970-01-01 was a Thursday (index 3).
  auto weekday = [](std::int64_t d) { return static_cast<int>(((d % 7) + 7 + 3) % 7); };
  if (start_s_ < end_s_) return sec >= start_s_ && sec < end_s_ && (days_ >> weekday(day) & 1u);
  // Wraps midnight: the evening part belongs to today, the morning part to yesterday.
  if (sec >= start_s_) return (days_ >> weekday(day)) & 1u;
  if (sec < end_s_) return (days_ >> weekday(day - 1)) & 1u;
  return false;
}

TimeMs DailyWindow::next_boundary_after(TimeMs t, int utc_offset_min) const {
  const TimeMs offset = static_cast<TimeMs>(utc_offset_min) * 60'000;
  const TimeMs local = t + offset;
  const std::int64_t day = floor_div(local, kDayMs);
  TimeMs best = kNever;
  // A boundary is one of the two edges on some day; the nearest one after t is
  // within two days.
  for (std::int64_t d = day - 1; d <= day + 8; ++d) {
    for (std::int64_t edge : {start_s_, end_s_}) {
      const TimeMs at = d * kDayMs + edge * 1000 - offset;
      if (at > t && at < best) best = at;
    }
  }
  return best;
}

std::string DailyWindow::to_string() const {
  auto hhmm = [](std::int64_t s) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>((s % 3600) / 60));
    return std::string(buf);
  };
  std::string out = hhmm(start_s_) + "-" + hhmm(end_s_);
  if (days_ != 0x7f) {
    out += " ";
    bool first = true;
    for (int d = 0; d < 7; ++d) {
      if (!(days_ >> d & 1u)) continue;
      if (!first) out += ",";
      out += kDayNames[static_cast<std::size_t>(d)];
      first = false;
    }
  }
  return out;
}

}  // namespace sched::core
