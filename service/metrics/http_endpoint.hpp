// The operators' HTTP endpoint (Boost.Beast): /metrics for Prometheus,
// /healthz (the process serves) and /readyz (state recovered, accepting work).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/status.hpp"

namespace sched::metrics {

class HttpEndpoint {
 public:
  // Produces the exposition text asynchronously (the engine refreshes its
  // gauges on its own strand first) and hands it to the callback.
  using MetricsProvider = std::function<void(std::function<void(std::string)>)>;

  HttpEndpoint(boost::asio::io_context& io, std::string listen, MetricsProvider metrics, std::function<bool()> ready);
  Status start();
  std::uint16_t port() const { return port_; }
  void stop();

 private:
  void accept();

  boost::asio::io_context& io_;
  std::string listen_;
  std::shared_ptr<MetricsProvider> metrics_;
  std::shared_ptr<std::function<bool()>> ready_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
};

}  // namespace sched::metrics
