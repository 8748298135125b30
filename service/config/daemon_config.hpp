// sessiond's configuration: one table of every option (YAML key, flag,
// default, help), the file loader and the flag parser built from it. The
// chart's values and docs/configuration.md follow this table.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "billing/rate_card.hpp"
#include "common/status.hpp"
#include "core/consumer_tree.hpp"
#include "core/scheduler.hpp"

namespace sched::config {

// A token and what it may do. Tenant tokens act only within their consumer
// subtrees; admin tokens may do everything, the tree included.
struct TokenSpec {
  std::string token;
  std::string principal;
  bool admin = false;
  std::vector<std::string> consumers;  // subtrees ("/bank/risk"); tenants only
};

struct TlsConfig {
  std::string cert_file;       // PEM; TLS is on when set
  std::string key_file;        // PEM
  std::string client_ca_file;  // PEM; when set, clients must present a certificate
  bool enabled() const { return !cert_file.empty(); }
};

// Where the usage ledger is exported (docs/billing.md).
struct BillingConfig {
  billing::RateCard rates;
  std::string kafka_brokers;  // empty: no Kafka export
  std::string kafka_topic = "session-usage";
  std::map<std::string, std::string> kafka_properties;  // librdkafka settings, over ours
  std::string file_dir;                                 // empty: no file export
  core::TimeMs file_interval_ms = 60'000;
  std::string file_format = "jsonl";
};

struct DaemonConfig {
  std::string config_file;  // empty: the embedded default

  std::string data_dir = "./data";
  std::string listen = "127.0.0.1:7420";
  std::string metrics_listen = "127.0.0.1:7421";
  std::string log_level = "info";
  std::string log_format = "text";

  int io_threads = 0;  // 0: auto, see io_threads_for()
  std::int64_t max_frame_bytes = 16 << 20;
  int max_connections = 4096;
  core::TimeMs idle_connection_timeout_ms = 300'000;
  TlsConfig tls;

  core::TimeMs lease_ttl_ms = 30'000;
  core::TimeMs heartbeat_interval_ms = 3'000;
  core::TimeMs max_wait_ms = 10'000;
  core::TimeMs kill_timeout_ms = 10'000;
  core::TimeMs exited_retention_ms = 60'000;
  bool start_ahead = true;
  int max_executor_failures = 5;

  core::SchedulerConfig scheduler = default_scheduler_config();
  core::TimeMs pass_interval_ms = 2;

  static core::SchedulerConfig default_scheduler_config() {
    core::SchedulerConfig c;
    c.slot = core::Resources::cpu_mem(1000, 1024);  // one core and 1 GiB: a small Spark task
    return c;
  }

  bool sync_writes = true;

  std::vector<TokenSpec> tokens;
  std::string admin_token_file;  // written with a fresh token when no tokens are configured

  std::string backend = "local";
  std::map<std::string, YAML::Node> backend_sections;  // backend.<name>: that backend's own keys

  BillingConfig billing;

  std::string tree_yaml;  // the consumers as written (or the default)
  core::TreeSpec tree;
};

// One option of the table.
struct OptionInfo {
  std::string key;   // YAML path: "sessions.lease_ttl"
  std::string flag;  // "--lease-ttl", or empty when only the file sets it
  std::string default_text;
  std::string help;
};
const std::vector<OptionInfo>& option_table();

// Parses the command line (argv[0] excluded from nothing: pass main's
// arguments). Reads --config FILE first, then applies flags over it.
// `help_text` is filled (and the result is an error of kind kOk-less
// kFailedPrecondition "help") when --help or --help-config was asked.
struct CommandLine {
  DaemonConfig config;
  bool show_help = false;
  std::string help_text;
};
Result<CommandLine> parse_command_line(int argc, const char* const* argv);

// Loads YAML text (a configuration file's content) over `base`.
Result<DaemonConfig> parse_config_text(const std::string& text, const std::string& source, DaemonConfig base = {});

// A token kept in a file, without its trailing whitespace.
Result<std::string> read_token_file(const std::string& path);

// The text of every YAML key with its default and help (--help-config).
std::string config_reference();

// The I/O threads to run: `configured`, or for 0 (auto) one fewer than the
// cores this process may run on (its CPU affinity), at least 1, at most 16.
int io_threads_for(int configured);

}  // namespace sched::config
