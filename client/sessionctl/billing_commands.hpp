// sessionctl billing: exports of the usage ledger (CSV or JSON lines) and a
// tenant's monthly bill.
#pragma once

#include <cstdint>
#include <string>

#include "client/sessionctl/commands.hpp"

namespace sched::sessionctl {

struct ExportArgs {
  std::string from;  // 2026-11-01 or 2026-11-01T12:00[:00]Z (UTC)
  std::string to;
  std::string tenant;
  std::string kind = "usage";  // usage, session, all (jsonl only)
  std::string format = "jsonl";
  std::string output;  // empty: stdout
};

// "2026-11-01" / "2026-11-01T12:00Z" / "2026-11-01T12:00:30Z" -> epoch ms.
Result<std::int64_t> parse_utc_time(const std::string& text);

// The arguments on their own (times, format, kind), before any call.
Status check_export_args(const ExportArgs& args);
Status billing_export_command(CommandContext& ctx, const ExportArgs& args);
Status billing_report_command(CommandContext& ctx, const std::string& tenant, const std::string& month);

}  // namespace sched::sessionctl
