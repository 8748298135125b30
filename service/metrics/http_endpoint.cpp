// One small Beast server: GET only, keep-alive, three paths.
#include "metrics/http_endpoint.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/thrift_server.hpp"

namespace sched::metrics {
namespace {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<HttpEndpoint::MetricsProvider> metrics,
              std::shared_ptr<std::function<bool()>> ready)
      : stream_(std::move(socket)), metrics_(std::move(metrics)), ready_(std::move(ready)) {}

  void start() { read(); }

 private:
  void read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    auto self = shared_from_this();
    http::async_read(stream_, buffer_, req_, [self](boost::beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->route();
    });
  }

  void route() {
    const std::string target(req_.target());
    const std::string path = target.substr(0, target.find('?'));
    if (req_.method() != http::verb::get && req_.method() != http::verb::head) {
      return respond(http::status::method_not_allowed, "text/plain", "only GET\n");
    }
    if (path == "/healthz") return respond(http::status::ok, "text/plain", "ok\n");
    if (path == "/readyz") {
      if ((*ready_)()) return respond(http::status::ok, "text/plain", "ready\n");
      return respond(http::status::service_unavailable, "text/plain", "recovering\n");
    }
    if (path == "/metrics") {
      auto self = shared_from_this();
      auto executor = stream_.get_executor();
      (*metrics_)([self, executor](std::string text) {
        boost::asio::post(executor, [self, text = std::move(text)]() mutable {
          self->respond(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", std::move(text));
        });
      });
      return;
    }
    respond(http::status::not_found, "text/plain", "not found: try /metrics, /healthz or /readyz\n");
  }

  void respond(http::status status, const char* type, std::string body) {
    auto res = std::make_shared<http::response<http::string_body>>(status, req_.version());
    res->set(http::field::server, "sessiond");
    res->set(http::field::content_type, type);
    res->keep_alive(req_.keep_alive());
    res->body() = std::move(body);
    res->prepare_payload();
    auto self = shared_from_this();
    http::async_write(stream_, *res, [self, res](boost::beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) return self->close();
      self->read();
    });
  }

  void close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  std::shared_ptr<HttpEndpoint::MetricsProvider> metrics_;
  std::shared_ptr<std::function<bool()>> ready_;
};

}  // namespace

HttpEndpoint::HttpEndpoint(boost::asio::io_context& io, std::string listen, MetricsProvider metrics,
                           std::function<bool()> ready)
    : io_(io),
      listen_(std::move(listen)),
      metrics_(std::make_shared<MetricsProvider>(std::move(metrics))),
      ready_(std::make_shared<std::function<bool()>>(std::move(ready))),
      acceptor_(io) {}

Status HttpEndpoint::start() {
  auto ep = api::parse_endpoint(listen_);
  if (!ep) return ep.status().with_context("metrics_listen");
  SCHED_RETURN_IF_ERROR(api::listen_on(acceptor_, *ep, listen_ + " (metrics)"));
  port_ = acceptor_.local_endpoint().port();
  accept();
  return Status::ok();
}

void HttpEndpoint::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void HttpEndpoint::accept() {
  acceptor_.async_accept(boost::asio::make_strand(io_), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (!ec) std::make_shared<HttpSession>(std::move(socket), metrics_, ready_)->start();
    accept();
  });
}

}  // namespace sched::metrics
