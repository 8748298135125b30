// Quantity, duration and time-of-day parsing and formatting.
#include "core/quantity.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sched::core {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits "12.5Gi" into 12.5 and "Gi". Rejects signs, exponents and empty numbers.
Status split_number(std::string_view text, double* number, std::string_view* suffix) {
  std::size_t i = 0;
  bool digits = false;
  bool dot = false;
  while (i < text.size()) {
    const char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
    ++i;
  }
  if (!digits) {
    if (!text.empty() && text[0] == '-') return Status::invalid_argument("'" + std::string(text) + "' is negative");
    return Status::invalid_argument("'" + std::string(text) + "' is not a number");
  }
  const std::string num(text.substr(0, i));
  char* end = nullptr;
  *number = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size() || !std::isfinite(*number)) {
    return Status::invalid_argument("'" + std::string(text) + "' is not a number");
  }
  *suffix = trim(text.substr(i));
  return Status::ok();
}

Result<std::int64_t> to_units(double value, double scale, std::string_view text) {
  const double v = value * scale;
  if (v > 9.0e15) return Status::invalid_argument("'" + std::string(text) + "' is too large");
  return static_cast<std::int64_t>(std::llround(v));
}

std::string trim_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s(buf);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

Result<std::int64_t> parse_quantity(ResourceKind kind, std::string_view text) {
  text = trim(text);
  if (text.empty()) return Status::invalid_argument("empty quantity");
  double n = 0;
  std::string_view suffix;
  SCHED_RETURN_IF_ERROR(split_number(text, &n, &suffix));
  if (kind == kMemory) {
    constexpr double kMiB = 1.0;
    double scale = 0;
    if (suffix.empty())
      scale = kMiB;
    else if (suffix == "Ki" || suffix == "k" || suffix == "K" || suffix == "kb" || suffix == "KB")
      scale = 1.0 / 1024;
    else if (suffix == "Mi" || suffix == "m" || suffix == "mb" || suffix == "MB")
      scale = 1;
    else if (suffix == "Gi" || suffix == "g" || suffix == "gb" || suffix == "GB")
      scale = 1024;
    else if (suffix == "Ti" || suffix == "t" || suffix == "tb" || suffix == "TB")
      scale = 1024.0 * 1024;
    else if (suffix == "Pi")
      scale = 1024.0 * 1024 * 1024;
    else if (suffix == "M")
      scale = 1e6 / (1024.0 * 1024);
    else if (suffix == "G")
      scale = 1e9 / (1024.0 * 1024);
    else if (suffix == "T")
      scale = 1e12 / (1024.0 * 1024);
    else
      return Status::invalid_argument("'" + std::string(text) +
                                      "': unknown memory unit (use Ki, Mi, Gi, Ti, k, m, g, t or M, G, T)");
    // Memory is accounted in whole MiB; a part of one is rounded up.
    const double mib = n * scale;
    if (mib > 9.0e15) return Status::invalid_argument("'" + std::string(text) + "' is too large");
    return static_cast<std::int64_t>(std::ceil(mib - 1e-9));
  }
  // cpu, gpu and extras: whole units or milli-units.
  if (suffix.empty()) return to_units(n, 1000, text);
  if (suffix == "m") return to_units(n, 1, text);
  return Status::invalid_argument("'" + std::string(text) + "': unknown unit for " + ResourceKinds::name(kind) +
                                  " (a number, or a number with 'm' for thousandths)");
}

std::string format_quantity(ResourceKind kind, std::int64_t v) {
  if (kind == kMemory) {
    if (v != 0 && v % (1024 * 1024) == 0) return std::to_string(v / (1024 * 1024)) + "Ti";
    if (v != 0 && v % 1024 == 0) return std::to_string(v / 1024) + "Gi";
    return std::to_string(v) + "Mi";
  }
  return trim_number(static_cast<double>(v) / 1000.0);
}

double quantity_in_natural_unit(ResourceKind kind, std::int64_t v) {
  if (kind == kMemory) return static_cast<double>(v) / 1024.0;
  return static_cast<double>(v) / 1000.0;
}

Result<std::int64_t> parse_duration_ms(std::string_view text) {
  text = trim(text);
  if (text.empty()) return Status::invalid_argument("empty duration");
  std::int64_t total = 0;
  std::string_view rest = text;
  bool first = true;
  while (!rest.empty()) {
    double n = 0;
    std::string_view suffix;
    Status st = split_number(rest, &n, &suffix);
    if (!st.is_ok())
      return Status::invalid_argument("'" + std::string(text) + "' is not a duration (e.g. 30s, 5m, 1h30m)");
    // The unit runs up to the next digit.
    std::size_t ulen = 0;
    while (ulen < suffix.size() && std::isalpha(static_cast<unsigned char>(suffix[ulen]))) ++ulen;
    const std::string_view unit = suffix.substr(0, ulen);
    double scale = 0;
    if (unit.empty() && !first) {
      return Status::invalid_argument("'" + std::string(text) +
                                      "': every number after the first needs a unit (ms, s, m, h, d)");
    }
    if (unit.empty() && first && ulen == suffix.size())
      scale = 1000;  // plain seconds
    else if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m" || unit == "min")
      scale = 60'000;
    else if (unit == "h")
      scale = 3'600'000;
    else if (unit == "d")
      scale = 86'400'000;
    else
      return Status::invalid_argument("'" + std::string(text) + "': unknown duration unit '" + std::string(unit) +
                                      "' (use ms, s, m, h, d)");
    total += static_cast<std::int64_t>(std::llround(n * scale));
    rest = trim(suffix.substr(ulen));
    first = false;
  }
  return total;
}

std::string format_duration_ms(std::int64_t ms) {
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Result<std::int64_t> parse_time_of_day(std::string_view text) {
  text = trim(text);
  const std::string t(text);
  auto bad = [&] {
    return Status::invalid_argument("'" + t + "' is not a time of day (HH:MM or HH:MM:SS, 00:00 to 24:00)");
  };
  int fields[3] = {0, 0, 0};
  int nfields = 0;
  std::size_t i = 0;
  while (nfields < 3) {
    std::size_t digits = 0;
    int v = 0;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) && digits < 2) {
      v = v * 10 + (t[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0) return bad();
    fields[nfields++] = v;
    if (i == t.size()) break;
    if (t[i] != ':') return bad();
    ++i;
  }
  if (i != t.size() || nfields < 2) return bad();
  const int h = fields[0];
  const int m = fields[1];
  const int s = fields[2];
  if (h > 24 || m > 59 || s > 59 || (h == 24 && (m != 0 || s != 0))) return bad();
  return static_cast<std::int64_t>(h) * 3600 + m * 60 + s;
}

}  // namespace sched::core
