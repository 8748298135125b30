// sessionctl: the operators' command line for sessiond.
#include <thrift/Thrift.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <optional>

#include "client/cpp/scheduler_client.hpp"
#include "client/sessionctl/billing_commands.hpp"
#include "client/sessionctl/commands.hpp"
#include "client/sessionctl/connection_settings.hpp"

namespace {

using namespace sched;
using namespace sched::sessionctl;

int fail(int code, const std::string& message) {
  std::cerr << "sessionctl: " << message << "\n";
  return code;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  // Thrift logs every failed connect to stderr itself; the Status we print
  // already says it, once.
  apache::thrift::GlobalOutput.setOutputFunction([](const char*) {});

  CLI::App app{"sessionctl: look at and steer a running sessiond"};
  // Global flags may follow the subcommand too ("sessionctl status --json").
  app.fallthrough();
  app.require_subcommand(1);

  GlobalFlags flags;
  app.add_option("--server", flags.server,
                 "sessiond address HOST:PORT (default $SESSIOND_SERVER, else 127.0.0.1:7420)");
  app.add_option("--token", flags.token, "API token (default $SESSIOND_TOKEN, else ./data/admin.token)");
  app.add_option("--token-file", flags.token_file, "read the token from FILE");
  app.add_flag("--tls", flags.tls, "connect with TLS");
  app.add_option("--tls-ca", flags.tls_ca, "PEM file of the CAs to trust (implies --tls; default: the system's)");
  app.add_flag("--json", flags.json, "print JSON instead of tables");

  auto* status = app.add_subcommand("status", "the daemon, its capacity and its hosts");

  auto* tree = app.add_subcommand("tree", "the consumer tree");
  tree->require_subcommand(1);
  auto* tree_show = tree->add_subcommand("show", "the tree in force, with demand and allocations");
  bool wide = false;
  tree_show->add_flag("--wide", wide, "also show reserved, borrow, borrowed and lent");
  auto* tree_set = tree->add_subcommand("set", "replace the tree (admin)");
  std::string tree_file;
  bool dry_run = false;
  tree_set->add_option("FILE", tree_file, "YAML: a list of consumers, or a map with key consumers:")->required();
  tree_set->add_flag("--dry-run", dry_run, "only validate");

  auto* sessions = app.add_subcommand("sessions", "live sessions");
  std::string sessions_prefix;
  bool show_executors = false;
  sessions->add_option("--consumer", sessions_prefix, "only consumers starting with PREFIX");
  sessions->add_flag("--executors", show_executors, "also list every executor");

  auto* drain = app.add_subcommand("drain", "stop placing slots on a host and revoke its slots with grace (admin)");
  std::string drain_host;
  bool undo = false;
  drain->add_option("HOST", drain_host, "the host")->required();
  drain->add_flag("--undo", undo, "bring the host back");

  auto* usage = app.add_subcommand("usage", "metered use per consumer");
  std::string usage_prefix;
  usage->add_option("--consumer", usage_prefix, "only consumers starting with PREFIX");

  auto* billing = app.add_subcommand("billing", "the usage ledger: exports and bills");
  billing->require_subcommand(1);
  auto* billing_export = billing->add_subcommand("export", "ledger records of a time range, as CSV or JSON lines");
  ExportArgs export_args;
  billing_export->add_option("--from", export_args.from, "start, UTC: 2026-11-01 or 2026-11-01T12:00:00Z")->required();
  billing_export->add_option("--to", export_args.to, "end (exclusive), UTC; not in the future")->required();
  billing_export->add_option("--tenant", export_args.tenant, "only this tenant (default: all the token may see)");
  billing_export->add_option("--kind", export_args.kind, "usage (default), session, or all (jsonl only)");
  billing_export->add_option("--format", export_args.format, "csv or jsonl (default)");
  billing_export->add_option("--output", export_args.output, "write to FILE (whole or not at all) instead of stdout");
  auto* billing_report = billing->add_subcommand("report", "a tenant's bill for a month, priced with the rate card");
  std::string bill_tenant, bill_month;
  billing_report->add_option("--tenant", bill_tenant, "the tenant (a top-level consumer)")->required();
  billing_report->add_option("--month", bill_month, "the month, YYYY-MM (UTC)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(kExitUsage, std::string(e.what()) + " (see sessionctl --help)");
  }

  auto settings = resolve_connection(flags, process_env(), kDefaultTokenFile);
  if (!settings) return fail(kExitUsage, settings.status().message());

  std::string yaml;
  if (tree_set->parsed()) {
    auto text = read_tree_file(tree_file);
    if (!text) return fail(kExitUsage, text.status().message());
    yaml = std::move(text).value();
  }

  if (billing_export->parsed()) {
    const Status ok = check_export_args(export_args);
    if (!ok.is_ok()) return fail(kExitUsage, ok.message());
  }

  auto client = client::SchedulerClient::connect(settings->options);
  if (!client) {
    const Status& st = client.status();
    return fail(st.code() == StatusCode::kUnavailable ? kExitUnreachable : kExitUsage, st.message());
  }

  CommandContext ctx{**client, std::cout, flags.json, now_ms()};
  Status st;
  if (status->parsed()) {
    st = status_command(ctx);
  } else if (tree_show->parsed()) {
    st = tree_show_command(ctx, wide);
  } else if (tree_set->parsed()) {
    st = tree_set_command(ctx, yaml, dry_run);
  } else if (sessions->parsed()) {
    st = sessions_command(ctx, sessions_prefix, show_executors);
  } else if (drain->parsed()) {
    st = drain_command(ctx, drain_host, undo);
  } else if (usage->parsed()) {
    st = usage_command(ctx, usage_prefix);
  } else if (billing_export->parsed()) {
    st = billing_export_command(ctx, export_args);
  } else if (billing_report->parsed()) {
    st = billing_report_command(ctx, bill_tenant, bill_month);
  }
  if (st.is_ok()) return kExitOk;

  std::string message = st.message();
  if (st.code() == StatusCode::kUnauthenticated && settings->token_origin == "none")
    message += " (no token given: use --token, --token-file or $SESSIOND_TOKEN)";
  else if (st.code() == StatusCode::kUnauthenticated)
    message += " (token from " + settings->token_origin + ")";
  return fail(exit_code_for(st, (*client)->connected()), message);
}
