// Structured logs: one line per event, with its fields (session, consumer,
// executor, ...), as key=value text or as JSON lines.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sched {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

// Sets spdlog's level and pattern. `format` is "text" or "json".
void configure_event_log(std::string_view level, std::string_view format);

using LogField = std::pair<std::string_view, std::string>;
// event=register_session session=... consumer=...
void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields);

}  // namespace sched
