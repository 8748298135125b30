// sessionctl's subcommands: one call each, printed as text or JSON. Argument
// parsing lives in main.cpp, rendering in text_views/json_views.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

#include "client/cpp/scheduler_client.hpp"
#include "common/status.hpp"

namespace sched::sessionctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// What a failed call means for the exit code: the server said no (1), or the
// server could not be reached / the connection broke (3).
int exit_code_for(const Status& status, bool still_connected);

struct CommandContext {
  client::SchedulerClient& client;
  std::ostream& out;
  bool json = false;
  std::int64_t now_ms = 0;  // for ages; the caller's clock
};

Status status_command(CommandContext& ctx);
Status tree_show_command(CommandContext& ctx, bool wide);
Status tree_set_command(CommandContext& ctx, const std::string& yaml, bool dry_run);
Status sessions_command(CommandContext& ctx, const std::string& consumer_prefix, bool executors);
Status drain_command(CommandContext& ctx, const std::string& host, bool undo);
Status usage_command(CommandContext& ctx, const std::string& consumer_prefix);

// The file `tree set` sends, read before dialling so a typo costs no
// connection. InvalidArgument when it cannot be read or is empty.
Result<std::string> read_tree_file(const std::filesystem::path& path);

}  // namespace sched::sessionctl
