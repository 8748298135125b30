// The ledger's read side for operators: pages of records for exports and a
// tenant's monthly bill. Runs off the scheduling strand (reads only).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "billing/ledger.hpp"
#include "billing/rate_card.hpp"
#include "core/clock.hpp"

namespace sched::billing {

// Which records a caller may see, by consumer path.
using Visible = std::function<bool(std::string_view consumer)>;

struct ExportQuery {
  core::TimeMs from_ms = 0;
  core::TimeMs to_ms = 0;      // exclusive
  std::string tenant;          // empty: all
  std::string kind = "usage";  // usage, session, all
  std::string page_token;
  int limit = 1000;
};

struct ExportPage {
  std::vector<std::string> records;
  std::string next_page_token;
};

inline constexpr int kMaxExportPage = 10000;

// Errors: a range that is empty, reversed or ends in the future; an unknown
// kind; a tenant neither in `tenants` nor in the ledger.
Result<ExportPage> export_page(const Ledger& ledger, const ExportQuery& q, core::TimeMs now_ms,
                               const std::vector<std::string>& tenants, const Visible& visible);

struct MonthlyBill {
  Bill bill;
  bool final = false;  // the month has ended
};
Result<MonthlyBill> monthly_bill(const Ledger& ledger, const RateCard& card, const std::string& tenant,
                                 const std::string& month, core::TimeMs now_ms, const std::vector<std::string>& tenants,
                                 const Visible& visible);

}  // namespace sched::billing
