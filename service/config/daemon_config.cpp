// The option table of sessiond and the loaders built from it: the YAML file
// and the flags go through the same readers, so a bad value reads the same
// whichever way it came ("config.yaml:7: sessions.lease_ttl: ..." or
// "--lease-ttl: ...").
#include "config/daemon_config.hpp"

#include <sched.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "config/tree_yaml.hpp"
#include "config/yaml_fields.hpp"
#include "core/quantity.hpp"

namespace sched::config {
namespace {

using Apply = std::function<Status(DaemonConfig&, const FieldPath&, const YAML::Node&)>;

struct Option {
  OptionInfo info;
  Apply apply;
  bool whole_node = false;  // takes a map or list (not reached by recursion)
};

Apply set_string(std::string DaemonConfig::*field, std::initializer_list<const char*> allowed = {}) {
  std::vector<std::string> ok(allowed.begin(), allowed.end());
  return [field, ok](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
    auto s = read_string(f, n);
    if (!s) return s.status();
    if (!ok.empty() && std::find(ok.begin(), ok.end(), *s) == ok.end()) {
      std::string list;
      for (const auto& a : ok) list += (list.empty() ? "" : ", ") + a;
      return f.error(n, "expected one of " + list + ", got '" + *s + "'");
    }
    c.*field = *s;
    return Status::ok();
  };
}

Apply set_duration(core::TimeMs DaemonConfig::*field, core::TimeMs min_ms) {
  return [field, min_ms](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
    auto d = read_duration(f, n);
    if (!d) return d.status();
    if (*d < min_ms) return f.error(n, "must be at least " + core::format_duration_ms(min_ms));
    c.*field = *d;
    return Status::ok();
  };
}

template <typename Int>
Apply set_count(Int DaemonConfig::*field, std::int64_t min, std::int64_t max) {
  return [field, min, max](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
    auto v = read_count(f, n);
    if (!v) return v.status();
    if (*v < min || *v > max) {
      return f.error(n, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    c.*field = static_cast<Int>(*v);
    return Status::ok();
  };
}

Apply set_bool(bool DaemonConfig::*field) {
  return [field](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
    auto b = read_bool(f, n);
    if (!b) return b.status();
    c.*field = *b;
    return Status::ok();
  };
}

// "host:port" with a numeric port.
Apply set_address(std::string DaemonConfig::*field) {
  return [field](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
    auto s = read_string(f, n);
    if (!s) return s.status();
    const auto colon = s->rfind(':');
    if (colon == std::string::npos || colon == 0) return f.error(n, "expected HOST:PORT, got '" + *s + "'");
    const std::string port = s->substr(colon + 1);
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
      return f.error(n, "port must be a number from 0 to 65535, got '" + port + "'");
    }
    c.*field = *s;
    return Status::ok();
  };
}

Status read_tokens(DaemonConfig& c, const FieldPath& f, const YAML::Node& n) {
  if (!n.IsSequence()) return f.error(n, "expected a list of {token|token_file, principal, admin, consumers}");
  std::vector<TokenSpec> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const FieldPath tf = f[i];
    const YAML::Node t = n[i];
    SCHED_RETURN_IF_ERROR(check_keys(tf, t, {"token", "token_file", "principal", "admin", "consumers"}));
    TokenSpec spec;
    if (t["token"] && t["token_file"]) return tf.error(t, "give 'token' or 'token_file', not both");
    if (t["token"]) {
      auto s = read_string(tf / "token", t["token"]);
      if (!s) return s.status();
      spec.token = *s;
    } else if (t["token_file"]) {
      auto path = read_string(tf / "token_file", t["token_file"]);
      if (!path) return path.status();
      auto token = read_token_file(*path);
      if (!token) return (tf / "token_file").error(t["token_file"], token.status().message());
      spec.token = *token;
    } else {
      return tf.error(t, "missing 'token' or 'token_file'");
    }
    if (spec.token.size() < 16) return tf.error(t, "a token must be at least 16 characters");
    if (!seen.insert(spec.token).second) return tf.error(t, "the same token is listed twice");
    if (!t["principal"]) return tf.error(t, "missing 'principal'");
    auto p = read_string(tf / "principal", t["principal"]);
    if (!p) return p.status();
    spec.principal = *p;
    if (t["admin"]) {
      auto a = read_bool(tf / "admin", t["admin"]);
      if (!a) return a.status();
      spec.admin = *a;
    }
    if (t["consumers"]) {
      const YAML::Node cs = t["consumers"];
      if (!cs.IsSequence()) return (tf / "consumers").error(cs, "expected a list of consumer paths");
      for (std::size_t k = 0; k < cs.size(); ++k) {
        auto path = read_string((tf / "consumers")[k], cs[k]);
        if (!path) return path.status();
        if (path->empty() || path->front() != '/') {
          return (tf / "consumers")[k].error(cs[k], "a consumer path starts with '/', got '" + *path + "'");
        }
        spec.consumers.push_back(*path);
      }
    }
    if (!spec.admin && spec.consumers.empty()) {
      return tf.error(t, "a tenant token needs 'consumers' (the subtrees it acts in), or admin: true");
    }
    out.push_back(std::move(spec));
  }
  c.tokens = std::move(out);
  return Status::ok();
}

Status read_tls(DaemonConfig& c, const FieldPath& f, const YAML::Node& n) {
  SCHED_RETURN_IF_ERROR(check_keys(f, n, {"cert", "key", "client_ca"}));
  for (auto [key, field] : {std::pair{"cert", &TlsConfig::cert_file}, std::pair{"key", &TlsConfig::key_file},
                            std::pair{"client_ca", &TlsConfig::client_ca_file}}) {
    if (!n[key]) continue;
    auto s = read_string(f / key, n[key]);
    if (!s) return s.status();
    c.tls.*field = *s;
  }
  return Status::ok();
}

// {cpu_hour, memory_gib_hour, gpu_hour}: prices, none negative.
Status read_prices(const FieldPath& f, const YAML::Node& n, billing::RateCard::ClassPrices& out) {
  if (!n.IsMap()) return f.error(n, "expected {cpu_hour, memory_gib_hour, gpu_hour}, got " + scalar_text(n));
  SCHED_RETURN_IF_ERROR(check_keys(f, n, {"cpu_hour", "memory_gib_hour", "gpu_hour"}));
  for (auto [key, field] : {std::pair{"cpu_hour", &billing::RateCard::ClassPrices::cpu_hour},
                            std::pair{"memory_gib_hour", &billing::RateCard::ClassPrices::memory_gib_hour},
                            std::pair{"gpu_hour", &billing::RateCard::ClassPrices::gpu_hour}}) {
    if (!n[key]) continue;
    auto v = read_number(f / key, n[key]);
    if (!v) return v.status();
    if (*v < 0 || !std::isfinite(*v)) return (f / key).error(n[key], "a price must be a number of at least 0");
    out.*field = *v;
  }
  return Status::ok();
}

Status read_rates(DaemonConfig& c, const FieldPath& f, const YAML::Node& n) {
  if (!n.IsMap()) return f.error(n, "expected a map of SLA class (or default) to prices, got " + scalar_text(n));
  SCHED_RETURN_IF_ERROR(check_keys(f, n, {"default", "interactive", "streaming", "batch"}));
  billing::RateCard card = c.billing.rates;
  if (n["default"]) {
    billing::RateCard::ClassPrices d;
    SCHED_RETURN_IF_ERROR(read_prices(f / "default", n["default"], d));
    card.fallback = billing::Prices{d.cpu_hour.value_or(card.fallback.cpu_hour),
                                    d.memory_gib_hour.value_or(card.fallback.memory_gib_hour),
                                    d.gpu_hour.value_or(card.fallback.gpu_hour)};
  }
  for (std::size_t k = 0; k < core::kSlaClassCount; ++k) {
    const std::string name(core::sla_name(static_cast<core::SlaClass>(k)));
    if (n[name]) SCHED_RETURN_IF_ERROR(read_prices(f / name, n[name], card.classes[k]));
  }
  c.billing.rates = card;
  return Status::ok();
}

const std::vector<Option>& options() {
  static const std::vector<Option> table = [] {
    std::vector<Option> t;
    auto add = [&t](std::string key, std::string flag, std::string def, std::string help, Apply apply,
                    bool whole = false) {
      t.push_back(Option{OptionInfo{std::move(key), std::move(flag), std::move(def), std::move(help)}, std::move(apply),
                         whole});
    };
    add("data_dir", "--data-dir", "./data", "Directory of the RocksDB state (created if missing).",
        set_string(&DaemonConfig::data_dir));
    add("listen", "--listen", "127.0.0.1:7420", "HOST:PORT of the Thrift API (port 0: any free port).",
        set_address(&DaemonConfig::listen));
    add("metrics_listen", "--metrics-listen", "127.0.0.1:7421", "HOST:PORT of /metrics, /healthz and /readyz.",
        set_address(&DaemonConfig::metrics_listen));
    add("log.level", "--log-level", "info", "trace, debug, info, warn or error.",
        set_string(&DaemonConfig::log_level, {"trace", "debug", "info", "warn", "error"}));
    add("log.format", "--log-format", "text", "text (key=value) or json, one line per event.",
        set_string(&DaemonConfig::log_format, {"text", "json"}));
    add("api.io_threads", "--io-threads", "auto",
        "Threads serving connections, disk completions and the backend (1-64). auto: one fewer than the cores "
        "sessiond may run on, at least 1, at most 16 (the engine and the store's writer want a core of their own).",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          if (n.IsScalar() && n.Scalar() == "auto") {
            c.io_threads = 0;
            return Status::ok();
          }
          auto v = read_count(f, n);
          if (!v || *v < 1 || *v > 64) return f.error(n, "expected auto or a count from 1 to 64");
          c.io_threads = static_cast<int>(*v);
          return Status::ok();
        });
    add("api.max_frame_bytes", "--max-frame-bytes", "16777216",
        "Largest request frame accepted; a bigger one gets an error and the connection is closed.",
        set_count(&DaemonConfig::max_frame_bytes, 1024, std::int64_t{1} << 30));
    add("api.max_connections", "", "4096", "Connections served at once; more are refused.",
        set_count(&DaemonConfig::max_connections, 1, 1'000'000));
    add("api.idle_connection_timeout", "", "5m", "A connection silent this long is closed.",
        set_duration(&DaemonConfig::idle_connection_timeout_ms, 1000));
    add("api.tls", "", "off", "{cert, key, client_ca}: PEM files; TLS is on when cert is set.", read_tls, true);
    add("api.tls.cert", "--tls-cert", "", "PEM certificate chain; turns TLS on.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto s = read_string(f, n);
          if (!s) return s.status();
          c.tls.cert_file = *s;
          return Status::ok();
        });
    add("api.tls.key", "--tls-key", "", "PEM private key of the certificate.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto s = read_string(f, n);
          if (!s) return s.status();
          c.tls.key_file = *s;
          return Status::ok();
        });
    add("sessions.lease_ttl", "--lease-ttl", "30s",
        "A session that does not heartbeat for this long loses its executors (also the re-attach time after a "
        "restart).",
        set_duration(&DaemonConfig::lease_ttl_ms, 1000));
    add("sessions.heartbeat_interval", "", "3s", "The heartbeat interval suggested to drivers.",
        set_duration(&DaemonConfig::heartbeat_interval_ms, 100));
    add("sessions.max_wait", "", "10s", "The longest a heartbeat long-poll waits for news.",
        set_duration(&DaemonConfig::max_wait_ms, 100));
    add("sessions.kill_timeout", "--kill-timeout", "10s",
        "After a revocation's deadline (or a release), how long an executor gets to exit before it is killed.",
        set_duration(&DaemonConfig::kill_timeout_ms, 0));
    add("sessions.exited_retention", "", "60s", "How long an exited executor stays in its session's directives.",
        set_duration(&DaemonConfig::exited_retention_ms, 0));
    add("sessions.start_ahead", "", "true",
        "Start a session's executor while the slots it is to get are still being revoked from others, on backends "
        "that can (local): its start overlaps their grace period instead of following it. It holds no slot until "
        "they come, and stops if they go elsewhere.",
        set_bool(&DaemonConfig::start_ahead));
    add("sessions.max_executor_failures", "", "5",
        "Executors of one session that may fail to start or die early before it gets no more.",
        set_count(&DaemonConfig::max_executor_failures, 1, 1'000'000));
    add(
        "scheduler.slot", "", "{cpu: 1, memory: 1Gi}", "One slot: the unit plans and demands are written in.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto v = read_vector(f, n);
          if (!v) return v.status();
          if (v->is_zero()) return f.error(n, "slot must not be empty");
          c.scheduler.slot = *v;
          return Status::ok();
        },
        true);
    add("scheduler.policy", "--policy", "hybrid", "Share policy: hybrid (ownership + share ratio) or drf.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto s = read_string(f, n);
          if (!s) return s.status();
          if (*s != "hybrid" && *s != "drf") return f.error(n, "expected hybrid or drf, got '" + *s + "'");
          c.scheduler.share_policy = *s;
          return Status::ok();
        });
    add(
        "scheduler.rebalance", "", "false",
        "Also preempt toward the share ratio, not only for ownership: true, or {threshold: 0.8, delay: 30s} to "
        "rebalance a group only once a consumer in it has held less than threshold x its share-ratio split for "
        "the delay (true: threshold 1, delay 0, every pass).",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto r = read_rebalance(f, n);
          if (!r) return r.status();
          c.scheduler.rebalance = *r;
          return Status::ok();
        },
        true);
    add("scheduler.placement", "--placement", "pack", "pack (fewer hosts, more slot sharing) or spread.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto s = read_string(f, n);
          if (!s) return s.status();
          auto p = core::parse_placement_policy(*s);
          if (!p) return f.error(n, p.status().message());
          c.scheduler.placement = *p;
          return Status::ok();
        });
    add(
        "scheduler.grace", "--grace", "30s",
        "Grace period of revocations: a duration, or {default: 30s, batch: 10s, interactive: 1m, streaming: 2m}.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto g = read_grace(f, n);
          if (!g) return g.status();
          for (std::size_t k = 0; k < core::kSlaClassCount; ++k) {
            if (auto d = g->for_class(static_cast<core::SlaClass>(k))) c.scheduler.sla.grace_ms[k] = *d;
          }
          return Status::ok();
        },
        true);
    add("scheduler.idle_timeout", "--idle-timeout", "5m", "An interactive session idle this long shrinks to its floor.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto d = read_duration(f, n);
          if (!d) return d.status();
          c.scheduler.sla.interactive_idle_timeout_ms = *d;
          return Status::ok();
        });
    add("scheduler.utc_offset_minutes", "", "0", "Local time of time-window plans = UTC + this.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto v = read_int(f, n);
          if (!v) return v.status();
          if (*v < -14 * 60 || *v > 14 * 60) return f.error(n, "must be between -840 and 840");
          c.scheduler.utc_offset_min = *v;
          return Status::ok();
        });
    add("scheduler.full_pass_interval", "", "10s", "While sessions wait, recompute everything this often.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto d = read_duration(f, n);
          if (!d) return d.status();
          c.scheduler.full_pass_interval_ms = *d;
          return Status::ok();
        });
    add("scheduler.resplit_tolerance", "", "0.005",
        "A consumer whose share moved by less than this fraction of it is not re-split among its children until "
        "the next full pass (fewer passes over big trees; 0: follow every move of half an executor).",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto v = read_number(f, n);
          if (!v) return v.status();
          constexpr double kMax = core::SchedulerConfig::kMaxResplitTolerance;
          if (*v < 0 || *v > kMax) {
            std::ostringstream msg;
            msg << "must be between 0 and " << kMax;
            return f.error(n, msg.str());
          }
          c.scheduler.resplit_tolerance = *v;
          return Status::ok();
        });
    add("scheduler.pass_interval", "", "2ms",
        "Events arriving within this time share one scheduling pass (coalescing under load).",
        set_duration(&DaemonConfig::pass_interval_ms, 0));
    add("store.sync", "", "true",
        "fsync each write batch before acknowledging (off only for benchmarks: a crash may lose acknowledged "
        "work).",
        set_bool(&DaemonConfig::sync_writes));
    add("auth.tokens", "", "[]",
        "Tokens: [{token | token_file, principal, admin: bool, consumers: [subtree paths]}]. With none, an "
        "admin token is generated into auth.admin_token_file.",
        read_tokens, true);
    add("auth.admin_token_file", "--admin-token-file", "<data_dir>/admin.token",
        "Where the generated admin token is written when no tokens are configured.",
        set_string(&DaemonConfig::admin_token_file));
    add("backend.type", "--backend", "local", "The resource backend: local (processes on this machine) or k8s (pods).",
        set_string(&DaemonConfig::backend));
    add(
        "backend.local", "", "{}", "The local backend's settings (see plugins/local-backend/README.md).",
        [](DaemonConfig& c, const FieldPath&, const YAML::Node& n) -> Status {
          c.backend_sections["local"] = YAML::Clone(n);
          return Status::ok();
        },
        true);
    add(
        "backend.k8s", "", "{}", "The Kubernetes backend's settings (see plugins/k8s-backend/README.md).",
        [](DaemonConfig& c, const FieldPath&, const YAML::Node& n) -> Status {
          c.backend_sections["k8s"] = YAML::Clone(n);
          return Status::ok();
        },
        true);
    add(
        "backend.mesos", "", "{}", "The Mesos backend's settings.",
        [](DaemonConfig& c, const FieldPath&, const YAML::Node& n) -> Status {
          c.backend_sections["mesos"] = YAML::Clone(n);
          return Status::ok();
        },
        true);
    add("billing.currency", "", "USD", "Currency of the rate card's prices (shown on bills).",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto s = read_string(f, n);
          if (!s) return s.status();
          if (s->empty()) return f.error(n, "must not be empty");
          c.billing.rates.currency = *s;
          return Status::ok();
        });
    add("billing.rates", "", "{default: {cpu_hour: 0, memory_gib_hour: 0, gpu_hour: 0}}",
        "Prices per hour: {default|interactive|streaming|batch: {cpu_hour, memory_gib_hour, gpu_hour}}; a class's "
        "missing price is default's.",
        read_rates, true);
    add("billing.kafka.brokers", "--billing-kafka", "",
        "Kafka bootstrap servers (host:port,...) to export usage records to; empty: no Kafka export.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto s = read_string(f, n);
          if (!s) return s.status();
          c.billing.kafka_brokers = *s;
          return Status::ok();
        });
    add("billing.kafka.topic", "", "session-usage", "Topic of the usage records (keyed by tenant).",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto s = read_string(f, n);
          if (!s) return s.status();
          if (s->empty()) return f.error(n, "must not be empty");
          c.billing.kafka_topic = *s;
          return Status::ok();
        });
    add(
        "billing.kafka.properties", "", "{}",
        "Extra librdkafka settings ({security.protocol: SSL, ...}); idempotence and acks=all stay on.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          if (!n.IsMap()) return f.error(n, "expected a map of librdkafka settings, got " + scalar_text(n));
          for (const auto& kv : n) {
            auto k = read_key(f, kv.first);
            if (!k) return k.status();
            auto v = read_string(f / *k, kv.second);
            if (!v) return v.status();
            c.billing.kafka_properties[*k] = *v;
          }
          return Status::ok();
        },
        true);
    add("billing.files.dir", "--billing-dir", "",
        "Directory the periodic file sink writes usage export files to; empty: no file export.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto s = read_string(f, n);
          if (!s) return s.status();
          c.billing.file_dir = *s;
          return Status::ok();
        });
    add("billing.files.interval", "", "1m", "How often the file sink writes the records since its last file.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto d = read_duration(f, n);
          if (!d) return d.status();
          if (*d < 100) return f.error(n, "must be at least 100ms");
          c.billing.file_interval_ms = *d;
          return Status::ok();
        });
    add("billing.files.format", "", "jsonl", "jsonl or csv (a file per kind of record).",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto s = read_string(f, n);
          if (!s) return s.status();
          if (*s != "jsonl" && *s != "csv") return f.error(n, "expected jsonl or csv, got '" + *s + "'");
          c.billing.file_format = *s;
          return Status::ok();
        });
    add(
        "consumers", "", "[{name: default}]",
        "The consumer tree (as in session-sim scenarios); it may also be set over the admin API.",
        [](DaemonConfig& c, const FieldPath& f, const YAML::Node& n) -> Status {
          auto tree = read_tree(f, n);
          if (!tree) return tree.status();
          c.tree = std::move(*tree);
          YAML::Emitter out;
          YAML::Node wrapper;
          wrapper["consumers"] = n;
          out << wrapper;
          c.tree_yaml = std::string(out.c_str()) + "\n";
          return Status::ok();
        },
        true);
    return t;
  }();
  return table;
}

const Option* find_option(const std::string& key) {
  for (const auto& o : options())
    if (o.info.key == key) return &o;
  return nullptr;
}

// The keys directly under `prefix` ("" for the top), for messages.
std::vector<std::string> children_of(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& o : options()) {
    const std::string& k = o.info.key;
    if (!prefix.empty() && k.rfind(prefix + ".", 0) != 0) continue;
    std::string rest = prefix.empty() ? k : k.substr(prefix.size() + 1);
    rest = rest.substr(0, rest.find('.'));
    if (std::find(out.begin(), out.end(), rest) == out.end()) out.push_back(rest);
  }
  return out;
}

Status apply_map(DaemonConfig& c, const FieldPath& f, const std::string& prefix, const YAML::Node& n) {
  if (!n.IsMap()) return f.error(n, "expected a map, got " + scalar_text(n));
  for (const auto& kv : n) {
    auto k = read_key(f, kv.first);
    if (!k) return k.status();
    const std::string& key = *k;
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const FieldPath kf = f / key;
    if (const Option* o = find_option(path)) {
      if (!o->whole_node && !kv.second.IsScalar()) {
        // A map under a scalar option that also has sub-options (api.tls).
        return kf.error(kv.second, "expected a value, got " + scalar_text(kv.second));
      }
      SCHED_RETURN_IF_ERROR(o->apply(c, kf, kv.second));
      continue;
    }
    if (!children_of(path).empty()) {
      SCHED_RETURN_IF_ERROR(apply_map(c, kf, path, kv.second));
      continue;
    }
    std::string list;
    for (const auto& k : children_of(prefix)) list += (list.empty() ? "" : ", ") + k;
    return kf.error(kv.first, "unknown field (expected one of: " + list + ")");
  }
  return Status::ok();
}

void set_default_tree(DaemonConfig& c) {
  if (!c.tree.consumers.empty()) return;
  c.tree_yaml = "consumers:\n  - name: default\n";
  auto tree = parse_tree_text(c.tree_yaml, "<default tree>");
  c.tree = *tree;
}

}  // namespace

Result<std::string> read_token_file(const std::string& path) {
  auto text = read_text_file(path, "token file");
  if (!text) return text.status();
  std::string token = std::move(*text);
  // Editors and `echo` add a newline; it is not part of the token.
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

const std::vector<OptionInfo>& option_table() {
  static const std::vector<OptionInfo> infos = [] {
    std::vector<OptionInfo> v;
    for (const auto& o : options()) v.push_back(o.info);
    return v;
  }();
  return infos;
}

Result<DaemonConfig> parse_config_text(const std::string& text, const std::string& source, DaemonConfig base) {
  auto root = load_yaml(text, source);
  if (!root) return root.status();
  const FieldPath f{&source, ""};
  if (root->IsDefined() && !root->IsNull()) SCHED_RETURN_IF_ERROR(apply_map(base, f, "", *root));
  set_default_tree(base);
  return base;
}

int io_threads_for(int configured) {
  if (configured > 0) return configured;
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                                : static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores - 1, 1, 16);
}

std::string config_reference() {
  std::ostringstream out;
  out << "sessiond configuration file (YAML). Keys, defaults and meaning:\n\n";
  for (const auto& o : options()) {
    out << "  " << o.info.key << " (default " << o.info.default_text << ")";
    if (!o.info.flag.empty()) out << "  [flag " << o.info.flag << "]";
    out << "\n      " << o.info.help << "\n";
  }
  return out.str();
}

Result<CommandLine> parse_command_line(int argc, const char* const* argv) {
  CLI::App app{
      "sessiond: the multi-tenant Spark session scheduler daemon.\n"
      "With no configuration it runs the embedded default: local backend, state under ./data, one\n"
      "consumer /default, loopback ports. Flags override the file; --help-config lists every key."};
  std::string config_file;
  bool help_config = false;
  app.add_option("--config", config_file, "YAML configuration file");
  app.add_flag("--help-config", help_config, "List every configuration key with its default and exit");
  std::map<std::string, std::string> flag_values;
  for (const auto& o : options()) {
    if (o.info.flag.empty()) continue;
    app.add_option(o.info.flag, flag_values[o.info.key], o.info.help)->default_str(o.info.default_text);
  }
  CommandLine cl;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    cl.show_help = true;
    cl.help_text = app.help();
    return cl;
  } catch (const CLI::ParseError& e) {
    return Status::invalid_argument(e.what());
  }
  if (help_config) {
    cl.show_help = true;
    cl.help_text = config_reference();
    return cl;
  }
  DaemonConfig c;
  if (!config_file.empty()) {
    auto text = read_text_file(config_file, "configuration file");
    if (!text) return text.status();
    auto parsed = parse_config_text(*text, config_file, c);
    if (!parsed) return parsed.status();
    c = std::move(*parsed);
    c.config_file = config_file;
  }
  for (const auto& o : options()) {
    if (o.info.flag.empty()) continue;
    auto* opt = app.get_option(o.info.flag);
    if (opt->count() == 0) continue;
    const std::string source = o.info.flag;
    const FieldPath f{&source, ""};
    SCHED_RETURN_IF_ERROR(o.apply(c, f, YAML::Node(flag_values[o.info.key])));
  }
  set_default_tree(c);
  if (c.admin_token_file.empty()) c.admin_token_file = c.data_dir + "/admin.token";
  if (c.tls.enabled() && c.tls.key_file.empty()) {
    return Status::invalid_argument("api.tls: a certificate needs its key (api.tls.key / --tls-key)");
  }
  cl.config = std::move(c);
  return cl;
}

}  // namespace sched::config
