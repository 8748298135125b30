// Export pages and monthly bills over the ledger's time index.
#include "billing/usage_queries.hpp"

#include <algorithm>

namespace sched::billing {
namespace {

std::int64_t ceil_seconds(core::TimeMs ms) {
  return ms >= 0 ? (ms + 999) / 1000 : ms / 1000;
}

bool known_tenant(const std::vector<std::string>& tenants, const std::string& tenant) {
  return std::find(tenants.begin(), tenants.end(), tenant) != tenants.end();
}

Status unknown_tenant(const std::string& tenant, const std::vector<std::string>& tenants) {
  std::string list;
  for (const auto& t : tenants) list += (list.empty() ? "" : ", ") + t;
  return Status::not_found("unknown tenant '" + tenant + "' (tenants: " + (list.empty() ? "none" : list) + ")");
}

}  // namespace

Result<ExportPage> export_page(const Ledger& ledger, const ExportQuery& q, core::TimeMs now_ms,
                               const std::vector<std::string>& tenants, const Visible& visible) {
  if (q.to_ms <= q.from_ms) {
    return Status::invalid_argument("the export range is empty: 'to' (" + utc_millis_text(q.to_ms) +
                                    ") must be after 'from' (" + utc_millis_text(q.from_ms) + ")");
  }
  if (q.to_ms > now_ms) {
    return Status::invalid_argument("the export range ends in the future (" + utc_millis_text(q.to_ms) +
                                    "); records exist only for time that has passed");
  }
  bool want_usage = true, want_sessions = false;
  if (q.kind == "session") {
    want_usage = false;
    want_sessions = true;
  } else if (q.kind == "all") {
    want_sessions = true;
  } else if (q.kind != "usage") {
    return Status::invalid_argument("kind must be usage, session or all, got '" + q.kind + "'");
  }
  if (q.limit <= 0 || q.limit > kMaxExportPage) {
    return Status::invalid_argument("limit must be between 1 and " + std::to_string(kMaxExportPage));
  }
  ExportPage page;
  bool any_of_tenant = false;
  std::string last_place;
  bool more = false;
  const Status s = ledger.query(ceil_seconds(q.from_ms), ceil_seconds(q.to_ms), q.page_token, q.tenant,
                                [&](const LedgerRecord& r, const StoredRecord& stored, std::string_view place) {
                                  const SessionAttrs& who = attrs_of(r);
                                  if (!q.tenant.empty() && tenant_of(who.consumer) != q.tenant) return true;
                                  any_of_tenant = true;
                                  if (!visible(who.consumer)) return true;
                                  const bool usage = kind_of(r) == RecordKind::kUsage;
                                  if ((usage && !want_usage) || (!usage && !want_sessions)) return true;
                                  if (static_cast<int>(page.records.size()) == q.limit) {
                                    more = true;
                                    return false;
                                  }
                                  page.records.push_back(stored.json);
                                  last_place.assign(place);
                                  return true;
                                });
  SCHED_RETURN_IF_ERROR(s);
  if (!q.tenant.empty() && !any_of_tenant && !known_tenant(tenants, q.tenant)) return unknown_tenant(q.tenant, tenants);
  if (more) page.next_page_token = last_place;
  return page;
}

Result<MonthlyBill> monthly_bill(const Ledger& ledger, const RateCard& card, const std::string& tenant,
                                 const std::string& month, core::TimeMs now_ms, const std::vector<std::string>& tenants,
                                 const Visible& visible) {
  auto range = month_range(month);
  if (!range) return range.status();
  if (range->first * 1000 > now_ms) {
    return Status::invalid_argument("month " + month + " has not started yet");
  }
  if (tenant.empty()) return Status::invalid_argument("a bill is for one tenant: give its name");
  if (!visible("/" + tenant)) {
    return Status::permission_denied("this token may not read tenant '" + tenant + "''s bill");
  }
  BillBuilder builder(card, tenant, month);
  bool any = false;
  const Status s = ledger.query(range->first, range->second, "", tenant,
                                [&](const LedgerRecord& r, const StoredRecord&, std::string_view) {
                                  const auto* u = std::get_if<UsageRecord>(&r);
                                  if (u == nullptr || tenant_of(u->who.consumer) != tenant) return true;
                                  any = true;
                                  builder.add(*u);
                                  return true;
                                });
  SCHED_RETURN_IF_ERROR(s);
  if (!any && !known_tenant(tenants, tenant)) return unknown_tenant(tenant, tenants);
  return MonthlyBill{builder.finish(), range->second * 1000 <= now_ms};
}

}  // namespace sched::billing
