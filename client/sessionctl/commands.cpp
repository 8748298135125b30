// One function per sessionctl subcommand.
#include "client/sessionctl/commands.hpp"

#include <fstream>
#include <sstream>

#include "client/sessionctl/json_views.hpp"
#include "client/sessionctl/text_views.hpp"

namespace sched::sessionctl {

int exit_code_for(const Status& status, bool still_connected) {
  if (status.is_ok()) return kExitOk;
  if (status.code() == StatusCode::kUnavailable && !still_connected) return kExitUnreachable;
  return kExitServerError;
}

Status status_command(CommandContext& ctx) {
  auto s = ctx.client.status();
  if (!s) return s.status();
  ctx.out << (ctx.json ? json_text(json_of(*s)) : status_text(*s, ctx.client.server()));
  return Status::ok();
}

Status tree_show_command(CommandContext& ctx, bool wide) {
  auto tree = ctx.client.get_tree();
  if (!tree) return tree.status();
  ctx.out << (ctx.json ? json_text(json_of(*tree)) : tree_text(*tree, wide));
  return Status::ok();
}

Status tree_set_command(CommandContext& ctx, const std::string& yaml, bool dry_run) {
  auto tree = ctx.client.set_tree(yaml, dry_run);
  if (!tree) return tree.status();
  if (ctx.json) {
    ctx.out << json_text({{"dry_run", dry_run}, {"tree", json_of(*tree)}});
  } else {
    ctx.out << tree_set_text(*tree, dry_run);
  }
  return Status::ok();
}

Status sessions_command(CommandContext& ctx, const std::string& consumer_prefix, bool executors) {
  auto sessions = ctx.client.list_sessions(consumer_prefix);
  if (!sessions) return sessions.status();
  ctx.out << (ctx.json ? json_text(json_of(*sessions)) : sessions_text(*sessions, ctx.now_ms, executors));
  return Status::ok();
}

Status drain_command(CommandContext& ctx, const std::string& host, bool undo) {
  auto h = ctx.client.drain_host(host, !undo);
  if (!h) return h.status();
  ctx.out << (ctx.json ? json_text(json_of(*h)) : drain_text(*h, !undo));
  return Status::ok();
}

Status usage_command(CommandContext& ctx, const std::string& consumer_prefix) {
  auto usage = ctx.client.usage(consumer_prefix);
  if (!usage) return usage.status();
  ctx.out << (ctx.json ? json_text(json_of(*usage)) : usage_text(*usage));
  return Status::ok();
}

Result<std::string> read_tree_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::invalid_argument("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find_first_not_of(" \t\r\n") == std::string::npos)
    return Status::invalid_argument(path.string() + " is empty");
  return text.str();
}

}  // namespace sched::sessionctl
