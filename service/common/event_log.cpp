// spdlog set-up and the one-line-per-event formatter.
#include "common/event_log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace sched {
namespace {

bool g_json = false;

spdlog::level::level_enum to_spd(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    default:
      return spdlog::level::err;
  }
}

// Quotes a text value when it has spaces or quotes, so lines stay parseable.
std::string text_value(const std::string& v) {
  if (!v.empty() && v.find_first_of(" \"=\t\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

void configure_event_log(std::string_view level, std::string_view format) {
  auto logger = spdlog::stderr_logger_mt("sessiond");
  spdlog::set_default_logger(logger);
  g_json = format == "json";
  spdlog::set_pattern(g_json ? "%v" : "%Y-%m-%dT%H:%M:%S.%e %l %v");
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  spdlog::flush_on(spdlog::level::info);
}

void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  const auto lvl = to_spd(level);
  if (!spdlog::should_log(lvl)) return;
  if (g_json) {
    nlohmann::json j;
    j["ts_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    j["level"] = spdlog::level::to_string_view(lvl).data();
    j["event"] = event;
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    spdlog::log(lvl, "{}", j.dump());
    return;
  }
  std::string line = "event=" + std::string(event);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    line += text_value(v);
  }
  spdlog::log(lvl, "{}", line);
}

}  // namespace sched
