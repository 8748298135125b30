// Prices per SLA class and a tenant's bill for a month, computed from usage
// records the same way sql/ does (docs/billing.md, "Rate card").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "billing/ledger_record.hpp"
#include "core/sla.hpp"

namespace sched::billing {

struct Prices {
  double cpu_hour = 0;
  double memory_gib_hour = 0;
  double gpu_hour = 0;
};

struct RateCard {
  std::string currency = "USD";
  Prices fallback;  // `default:` in the file
  // Per class, each price optional: an unset one falls back to `default`.
  struct ClassPrices {
    std::optional<double> cpu_hour, memory_gib_hour, gpu_hour;
  };
  std::array<ClassPrices, core::kSlaClassCount> classes{};

  Prices for_class(core::SlaClass c) const;
  double cost(const UsageRecord& r) const;
};

// One line of a bill: a tenant's use in one SLA class.
struct BillLine {
  core::SlaClass sla = core::SlaClass::kBatch;
  std::int64_t records = 0;
  std::int64_t cpu_milli_seconds = 0;
  std::int64_t memory_mib_seconds = 0;
  std::int64_t gpu_milli_seconds = 0;
  Prices prices;
  double cost = 0;
  double cpu_hours() const { return static_cast<double>(cpu_milli_seconds) / 3.6e6; }
  double memory_gib_hours() const { return static_cast<double>(memory_mib_seconds) / (1024.0 * 3600.0); }
  double gpu_hours() const { return static_cast<double>(gpu_milli_seconds) / 3.6e6; }
};

struct Bill {
  std::string tenant;
  std::string month;  // YYYY-MM
  std::string currency;
  std::vector<BillLine> lines;  // classes with use, in class order
  double total = 0;
};

// Adds usage records (of the tenant, inside the month) into a bill.
class BillBuilder {
 public:
  BillBuilder(const RateCard& card, std::string tenant, std::string month);
  void add(const UsageRecord& r);
  Bill finish() const;

 private:
  const RateCard& card_;
  Bill bill_;
  std::array<BillLine, core::kSlaClassCount> lines_{};
};

// "2026-11" -> [start, end) in epoch seconds, UTC.
Result<std::pair<std::int64_t, std::int64_t>> month_range(std::string_view month);

}  // namespace sched::billing
