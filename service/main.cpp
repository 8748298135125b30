// sessiond: the daemon's entry point. Wires configuration, state, backend,
// engine, the Thrift API and the HTTP endpoint, then serves until SIGTERM.
#include <yaml-cpp/yaml.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "api/auth.hpp"
#include "api/service_handlers.hpp"
#include "api/thrift_server.hpp"
#include "backend/executor_backend.hpp"
#include "billing/file_sink.hpp"
#include "billing/kafka_sink.hpp"
#include "common/event_log.hpp"
#include "config/daemon_config.hpp"
#include "daemon/engine.hpp"
#include "k8s_backend.hpp"
#include "local_backend.hpp"
#include "metrics/daemon_metrics.hpp"
#include "metrics/http_endpoint.hpp"
#include "store/state_store.hpp"

namespace {

using namespace sched;

// A name for this daemon's state that marks its executors; kept in the store
// so a restarted daemon recognises them.
Result<std::string> instance_id(store::StateStore& store) {
  auto stored = store.get("m/instance");
  if (!stored) return stored.status();
  if (stored->has_value()) return **stored;
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "sd-%08x%08x", rd(), rd());
  store::WriteSet ws;
  ws.put("m/instance", buf);
  SCHED_RETURN_IF_ERROR(store.write_now(ws));
  return std::string(buf);
}

int fail(const Status& s) {
  log_event(LogLevel::kError, "startup_failed", {{"error", s.message()}});
  std::cerr << "sessiond: " << s.message() << "\n";
  return 1;
}

int run(const config::DaemonConfig& cfg) {
  configure_event_log(cfg.log_level, cfg.log_format);
  metrics::DaemonMetrics metrics;
  auto store =
      store::StateStore::open(cfg.data_dir, cfg.sync_writes, [&metrics](std::chrono::nanoseconds d, std::size_t) {
        metrics.observe_store_write(std::chrono::duration<double>(d).count());
      });
  if (!store) return fail(store.status());
  auto instance = instance_id(**store);
  if (!instance) return fail(instance.status());

  std::vector<config::TokenSpec> tokens = cfg.tokens;
  if (tokens.empty()) {
    auto admin = api::load_or_create_admin_token(cfg.admin_token_file);
    if (!admin) return fail(admin.status());
    tokens.push_back(config::TokenSpec{*admin, "admin", true, {}});
    log_event(LogLevel::kInfo, "admin_token", {{"file", cfg.admin_token_file}});
  }
  auto auth = std::make_shared<const api::TokenAuthenticator>(std::move(tokens));

  for (const Status& reg : {backend::register_local_backend(), backend::register_k8s_backend()}) {
    if (!reg.is_ok()) return fail(reg);
  }
  // The hint lets Asio skip cross-thread wake-ups when one thread runs the loop.
  const int io_threads = config::io_threads_for(cfg.io_threads);
  boost::asio::io_context io(io_threads);
  backend::BackendContext bctx;
  bctx.io = &io;
  bctx.data_dir = cfg.data_dir;
  bctx.instance_id = *instance;
  auto section = cfg.backend_sections.find(cfg.backend);
  if (section != cfg.backend_sections.end()) bctx.config = &section->second;
  bctx.config_source = cfg.config_file.empty() ? "<flags>" : cfg.config_file;
  auto backend = backend::create_backend(cfg.backend, bctx);
  if (!backend) return fail(backend.status());

  daemon::Engine engine(io, cfg, **store, **backend, metrics);
  const Status recovered = engine.recover();
  if (!recovered.is_ok()) return fail(recovered);

  // Billing exports read the ledger on their own threads.
  std::unique_ptr<billing::KafkaSink> kafka;
  if (!cfg.billing.kafka_brokers.empty()) {
    auto k = billing::KafkaSink::create(
        billing::KafkaSinkOptions{cfg.billing.kafka_brokers, cfg.billing.kafka_topic, cfg.billing.kafka_properties},
        engine.ledger(), **store);
    if (!k) return fail(k.status());
    kafka = std::move(*k);
  }
  std::unique_ptr<billing::FileSink> files;
  if (!cfg.billing.file_dir.empty()) {
    auto f = billing::FileSink::create(
        billing::FileSinkOptions{cfg.billing.file_dir, cfg.billing.file_interval_ms, cfg.billing.file_format},
        engine.ledger(), **store);
    if (!f) return fail(f.status());
    files = std::move(*f);
  }
  if (kafka) {
    engine.on_ledger_durable([k = kafka.get()](std::int64_t) { k->poke(); });
    kafka->start();
  }
  if (files) files->start();

  api::ServerOptions opts;
  opts.listen = cfg.listen;
  opts.max_frame_bytes = cfg.max_frame_bytes;
  opts.max_connections = cfg.max_connections;
  opts.idle_timeout_ms = cfg.idle_connection_timeout_ms;
  opts.tls = cfg.tls;
  api::ThriftServer server(io, opts, api::make_services(engine, auth), metrics);
  const Status listening = server.start();
  if (!listening.is_ok()) return fail(listening);

  metrics::HttpEndpoint http(
      io, cfg.metrics_listen,
      [&engine, &metrics, &kafka, &files, &backend](std::function<void(std::string)> done) {
        boost::asio::post(engine.strand(), [&engine, &metrics, &kafka, &files, &backend, done = std::move(done)] {
          engine.refresh_metrics();
          std::map<std::string, std::int64_t> cursors;
          if (kafka) cursors["kafka"] = kafka->stats().cursor.load();
          if (files) cursors["files"] = files->stats().cursor.load();
          metrics.set_billing(engine.ledger().durable_id(), cursors);
          metrics.set_backend((*backend)->name(), (*backend)->counters());
          done(metrics.serialize());
        });
      },
      [&engine] { return engine.ready(); });
  const Status http_up = http.start();
  if (!http_up.is_ok()) return fail(http_up);

  const auto api_host = cfg.listen.substr(0, cfg.listen.rfind(':'));
  const auto metrics_host = cfg.metrics_listen.substr(0, cfg.metrics_listen.rfind(':'));
  log_event(LogLevel::kInfo, "listening",
            {{"api", api_host + ":" + std::to_string(server.port())},
             {"metrics", metrics_host + ":" + std::to_string(http.port())},
             {"data_dir", cfg.data_dir},
             {"backend", cfg.backend},
             {"io_threads", std::to_string(io_threads)},
             {"tls", cfg.tls.enabled() ? "on" : "off"}});

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log_event(LogLevel::kInfo, "shutting_down", {{"signal", std::to_string(sig)}});
    server.stop();
    http.stop();
    engine.stop();
    (*backend)->shutdown();
    // Let the last write and replies go out, then stop the loop.
    auto timer = std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(300));
    timer->async_wait([&io, timer](const boost::system::error_code&) { io.stop(); });
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  if (kafka) kafka->stop();
  if (files) files->stop();
  (*store)->close();
  log_event(LogLevel::kInfo, "stopped", {});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto cl = sched::config::parse_command_line(argc, argv);
  if (!cl) {
    std::cerr << "sessiond: " << cl.status().message() << "\n";
    return 2;
  }
  if (cl->show_help) {
    std::cout << cl->help_text;
    return 0;
  }
  return run(cl->config);
}
