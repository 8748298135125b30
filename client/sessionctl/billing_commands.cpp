// Billing exports page through the daemon's ledger and write each record in
// the documented form; a file output appears whole or not at all.
#include "client/sessionctl/billing_commands.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "billing/ledger_record.hpp"
#include "client/sessionctl/enum_text.hpp"
#include "client/sessionctl/table.hpp"

namespace sched::sessionctl {
Result<std::int64_t> parse_utc_time(const std::string& text) {
  std::tm tm{};
  int n = 0;
  const char* s = text.c_str();
  if (std::sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3) {
    return Status::invalid_argument("'" + text + "' is not a UTC time (2026-11-01 or 2026-11-01T12:00:00Z)");
  }
  std::string rest = text.substr(static_cast<std::size_t>(n));
  if (!rest.empty()) {
    int m = 0;
    if (std::sscanf(rest.c_str(), "T%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2) {
      return Status::invalid_argument("'" + text + "' is not a UTC time (2026-11-01 or 2026-11-01T12:00:00Z)");
    }
    rest = rest.substr(static_cast<std::size_t>(m));
    if (!rest.empty() && rest[0] == ':') {
      int k = 0;
      if (std::sscanf(rest.c_str(), ":%2d%n", &tm.tm_sec, &k) != 1) {
        return Status::invalid_argument("'" + text + "' is not a UTC time (2026-11-01 or 2026-11-01T12:00:00Z)");
      }
      rest = rest.substr(static_cast<std::size_t>(k));
    }
    if (rest != "Z") return Status::invalid_argument("'" + text + "': give times in UTC, ending in Z");
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return Status::invalid_argument("'" + text + "' is not a valid date and time");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

Status check_export_args(const ExportArgs& args) {
  auto from = parse_utc_time(args.from);
  if (!from) return from.status().with_context("--from");
  auto to = parse_utc_time(args.to);
  if (!to) return to.status().with_context("--to");
  if (args.format != "csv" && args.format != "jsonl") {
    return Status::invalid_argument("--format must be csv or jsonl, got '" + args.format + "'");
  }
  if (args.kind != "all") {
    auto k = billing::parse_record_kind(args.kind);
    if (!k) return k.status().with_context("--kind");
  } else if (args.format == "csv") {
    return Status::invalid_argument("--kind all needs --format jsonl (a CSV file holds one kind of record)");
  }
  return Status::ok();
}

Status billing_export_command(CommandContext& ctx, const ExportArgs& args) {
  SCHED_RETURN_IF_ERROR(check_export_args(args));
  auto from = parse_utc_time(args.from);
  if (!from) return from.status().with_context("--from");
  auto to = parse_utc_time(args.to);
  std::optional<billing::RecordKind> csv_kind;
  if (args.format == "csv") csv_kind = *billing::parse_record_kind(args.kind);

  // Into a temporary file beside the output, renamed at the end: an error
  // leaves no file behind, a finished export is whole.
  std::ofstream file;
  std::filesystem::path tmp;
  if (!args.output.empty()) {
    tmp = args.output + ".partial";
    file.open(tmp, std::ios::binary | std::ios::trunc);
    if (!file) return Status::invalid_argument("cannot write " + tmp.string());
  }
  std::ostream& out = args.output.empty() ? ctx.out : file;
  auto cleanup = [&] {
    if (!tmp.empty()) {
      file.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
    }
  };

  api::UsageQuery q;
  q.from_ms = *from;
  q.to_ms = *to;
  q.tenant = args.tenant;
  q.kind = args.kind;
  q.limit = 5000;
  std::int64_t count = 0;
  bool header = false;
  for (;;) {
    auto page = ctx.client.export_usage(q);
    if (!page) {
      cleanup();
      return page.status();
    }
    for (const auto& json : page->records) {
      if (csv_kind) {
        auto rec = billing::record_from_json(json);
        if (!rec) {
          cleanup();
          return rec.status();
        }
        if (!header) {
          out << billing::csv_header(*csv_kind) << "\n";
          header = true;
        }
        out << billing::to_csv_row(*rec) << "\n";
      } else {
        out << json << "\n";
      }
      ++count;
    }
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  if (csv_kind && !header) out << billing::csv_header(*csv_kind) << "\n";
  if (!tmp.empty()) {
    file.flush();
    if (!file) {
      cleanup();
      return Status::unavailable("writing " + tmp.string() + " failed");
    }
    file.close();
    std::error_code ec;
    std::filesystem::rename(tmp, args.output, ec);
    if (ec) {
      cleanup();
      return Status::unavailable("cannot rename " + tmp.string() + ": " + ec.message());
    }
    std::fprintf(stderr, "sessionctl: wrote %lld record(s) to %s\n", static_cast<long long>(count),
                 args.output.c_str());
  }
  return Status::ok();
}

Status billing_report_command(CommandContext& ctx, const std::string& tenant, const std::string& month) {
  auto bill = ctx.client.billing_report(tenant, month);
  if (!bill) return bill.status();
  if (ctx.json) {
    nlohmann::json j = {{"tenant", bill->tenant},     {"month", bill->month}, {"currency", bill->currency},
                        {"final", bill->month_ended}, {"total", bill->total}, {"lines", nlohmann::json::array()}};
    for (const auto& l : bill->lines) {
      j["lines"].push_back({{"sla", sla_name(l.sla)},
                            {"records", l.records},
                            {"cpu_hours", l.cpu_hours},
                            {"memory_gib_hours", l.memory_gib_hours},
                            {"gpu_hours", l.gpu_hours},
                            {"prices",
                             {{"cpu_hour", l.cpu_hour_price},
                              {"memory_gib_hour", l.memory_gib_hour_price},
                              {"gpu_hour", l.gpu_hour_price}}},
                            {"cost", l.cost}});
    }
    ctx.out << j.dump(2) << "\n";
    return Status::ok();
  }
  ctx.out << "Bill of tenant " << bill->tenant << " for " << bill->month << " (" << bill->currency << ", "
          << (bill->month_ended ? "final" : "so far: the month has not ended") << ")\n\n";
  Table t({{"SLA"},
           {"RECORDS", Table::Align::kRight},
           {"CPU-HOURS", Table::Align::kRight},
           {"GIB-HOURS", Table::Align::kRight},
           {"GPU-HOURS", Table::Align::kRight},
           {"COST", Table::Align::kRight}});
  for (const auto& l : bill->lines) {
    t.add_row({sla_name(l.sla), std::to_string(l.records), fmt::format("{:.3f}", l.cpu_hours),
               fmt::format("{:.3f}", l.memory_gib_hours), fmt::format("{:.3f}", l.gpu_hours),
               fmt::format("{:.2f}", l.cost)});
  }
  t.add_row({"TOTAL", "", "", "", "", fmt::format("{:.2f}", bill->total)});
  ctx.out << t.render();
  return Status::ok();
}

}  // namespace sched::sessionctl
