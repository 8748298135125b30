// Rate card lookups and the monthly bill.
#include "billing/rate_card.hpp"

#include <cstdio>
#include <ctime>

namespace sched::billing {

Prices RateCard::for_class(core::SlaClass c) const {
  const ClassPrices& p = classes[static_cast<std::size_t>(c)];
  return Prices{p.cpu_hour.value_or(fallback.cpu_hour), p.memory_gib_hour.value_or(fallback.memory_gib_hour),
                p.gpu_hour.value_or(fallback.gpu_hour)};
}

double RateCard::cost(const UsageRecord& r) const {
  const Prices p = for_class(r.who.sla);
  return r.cpu_seconds() / 3600.0 * p.cpu_hour + r.memory_gib_seconds() / 3600.0 * p.memory_gib_hour +
         r.gpu_seconds() / 3600.0 * p.gpu_hour;
}

BillBuilder::BillBuilder(const RateCard& card, std::string tenant, std::string month) : card_(card) {
  bill_.tenant = std::move(tenant);
  bill_.month = std::move(month);
  bill_.currency = card.currency;
}

void BillBuilder::add(const UsageRecord& r) {
  BillLine& l = lines_[static_cast<std::size_t>(r.who.sla)];
  ++l.records;
  l.cpu_milli_seconds += r.cpu_milli_seconds();
  l.memory_mib_seconds += r.memory_mib_seconds();
  l.gpu_milli_seconds += r.gpu_milli_seconds();
}

Bill BillBuilder::finish() const {
  Bill b = bill_;
  for (std::size_t k = 0; k < core::kSlaClassCount; ++k) {
    BillLine l = lines_[k];
    if (l.records == 0) continue;
    l.sla = static_cast<core::SlaClass>(k);
    l.prices = card_.for_class(l.sla);
    // Priced on the exact totals, not record by record, so rounding does
    // not depend on how the hours were cut.
    l.cost = l.cpu_hours() * l.prices.cpu_hour + l.memory_gib_hours() * l.prices.memory_gib_hour +
             l.gpu_hours() * l.prices.gpu_hour;
    b.total += l.cost;
    b.lines.push_back(l);
  }
  return b;
}

Result<std::pair<std::int64_t, std::int64_t>> month_range(std::string_view month) {
  int y = 0, m = 0, n = 0;
  const std::string text(month);
  if (std::sscanf(text.c_str(), "%4d-%2d%n", &y, &m, &n) != 2 || n != static_cast<int>(text.size()) || m < 1 ||
      m > 12 || y < 1970) {
    return Status::invalid_argument("month must be YYYY-MM, got '" + text + "'");
  }
  auto start = [](int year, int mon) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = 1;
    return static_cast<std::int64_t>(timegm(&tm));
  };
  return std::pair{start(y, m), m == 12 ? start(y + 1, 1) : start(y, m + 1)};
}

}  // namespace sched::billing
