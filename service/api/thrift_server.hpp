// The Thrift endpoint on Boost.Asio: framed transport, binary protocol,
// services multiplexed by name, optional TLS, a hard frame-size limit, and
// callback-style processors so a parked long poll holds no thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/status.hpp"
#include "config/daemon_config.hpp"
#include "metrics/daemon_metrics.hpp"

namespace apache::thrift::async {
class TAsyncProcessor;
}

namespace sched::api {

struct ServerOptions {
  std::string listen = "127.0.0.1:7420";
  std::int64_t max_frame_bytes = 16 << 20;
  int max_connections = 4096;
  std::int64_t idle_timeout_ms = 300'000;
  config::TlsConfig tls;
};

// Services by their multiplexing name ("Sessions", "Admin").
using ServiceMap = std::map<std::string, std::shared_ptr<apache::thrift::async::TAsyncProcessor>>;

class ThriftServer {
 public:
  ThriftServer(boost::asio::io_context& io, ServerOptions options, ServiceMap services,
               metrics::DaemonMetrics& metrics);
  ~ThriftServer();

  // Binds and starts accepting. Fails (with the address) when it cannot bind
  // or the TLS files cannot be loaded.
  Status start();
  // The bound port (useful with port 0).
  std::uint16_t port() const { return port_; }
  void stop();

  struct Shared;  // what connections share with the server

 private:
  void accept();

  boost::asio::io_context& io_;
  ServerOptions options_;
  std::shared_ptr<Shared> shared_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::uint16_t port_ = 0;
};

// Splits "HOST:PORT" into an endpoint (numeric host or "localhost").
Result<boost::asio::ip::tcp::endpoint> parse_endpoint(const std::string& address);
// Opens, binds and listens; `what` names the address in the error.
Status listen_on(boost::asio::ip::tcp::acceptor& acceptor, const boost::asio::ip::tcp::endpoint& endpoint,
                 const std::string& what);

}  // namespace sched::api
