// Timestamp and age formatting.
#include "client/sessionctl/time_text.hpp"

#include <cstdio>

#include "billing/ledger_record.hpp"

namespace sched::sessionctl {

std::string format_timestamp(std::int64_t epoch_ms) {
  return epoch_ms == 0 ? "-" : billing::utc_seconds_text(epoch_ms / 1000);
}

std::string format_age(std::int64_t ms) {
  const std::int64_t s = ms < 0 ? 0 : ms / 1000;
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buf;
}

}  // namespace sched::sessionctl
