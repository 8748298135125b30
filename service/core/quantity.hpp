// Parsing and printing of the quantities operators write: cpu ("2", "500m"),
// memory ("4Gi", "512m" Spark style, plain numbers in MiB), durations ("30s")
// and times of day ("08:30").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "core/resources.hpp"

namespace sched::core {

// Parses an amount of `kind` into base units. Accepted forms:
//  cpu:        2 | 1.5 | 500m                          -> millicores
//  memory:     4Gi | 512Mi | 1Ti | 4G (10^9 bytes) | 4g | 512m (Spark, binary)
//              | 1024 (MiB, as Spark's unitless memory settings)
//  gpu/extras: 1 | 0.25 | 250m                          -> milli-units
// Negative, non-numeric and unknown-suffix values are errors.
Result<std::int64_t> parse_quantity(ResourceKind kind, std::string_view text);

// The inverse: "2", "0.5", "4Gi", "1536Mi", "0.25".
std::string format_quantity(ResourceKind kind, std::int64_t base_units);

// A quantity as a JSON-friendly number in the kind's natural unit (cores,
// GiB, devices) for reports.
double quantity_in_natural_unit(ResourceKind kind, std::int64_t base_units);

// "30s", "500ms", "5m", "1h30m", "2d" or a plain number of seconds -> ms.
Result<std::int64_t> parse_duration_ms(std::string_view text);
std::string format_duration_ms(std::int64_t ms);

// "08:30" or "08:30:15" -> seconds after midnight; "24:00" is allowed as an end.
Result<std::int64_t> parse_time_of_day(std::string_view text);

}  // namespace sched::core
