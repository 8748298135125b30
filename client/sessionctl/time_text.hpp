// Times and ages from the API's epoch milliseconds, as listings print them.
#pragma once

#include <cstdint>
#include <string>

namespace sched::sessionctl {

// "2026-11-21T07:48:03Z" (UTC); "-" for 0, which the API uses for "never".
std::string format_timestamp(std::int64_t epoch_ms);

// "45s", "12m05s", "3h02m", "2d04h"; "0s" for anything below a second,
// including negative values (clock skew).
std::string format_age(std::int64_t ms);

}  // namespace sched::sessionctl
