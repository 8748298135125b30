// Connections of the Thrift endpoint: read a frame, route it to its service,
// write the reply when the (possibly much later) callback comes.
#include "api/thrift_server.hpp"

#include <thrift/TApplicationException.h>

#include <algorithm>
#include <array>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <string_view>
#include <variant>
#include <vector>

#include "api/frame_router.hpp"
#include "common/event_log.hpp"

namespace sched::api {

using apache::thrift::TApplicationException;
using boost::asio::ip::tcp;

struct ThriftServer::Shared {
  boost::asio::io_context* io = nullptr;
  ServiceMap services;
  metrics::DaemonMetrics* metrics = nullptr;
  std::int64_t max_frame_bytes = 0;
  std::int64_t idle_timeout_ms = 0;
  int max_connections = 0;
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
};

namespace {

template <typename Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(Stream stream, std::shared_ptr<ThriftServer::Shared> shared)
      : stream_(std::move(stream)),
        shared_(std::move(shared)),
        strand_(boost::asio::make_strand(*shared_->io)),
        idle_(strand_) {}

  ~Connection() { --shared_->connections; }

  void start() {
    arm_idle(std::chrono::milliseconds(shared_->idle_timeout_ms));
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      read_frame();
    } else {
      auto self = this->shared_from_this();
      waiting_since_ = std::chrono::steady_clock::now();
      waiting_ = true;
      stream_.async_handshake(boost::asio::ssl::stream_base::server,
                              boost::asio::bind_executor(strand_, [self](const boost::system::error_code& ec) {
                                if (ec) {
                                  log_event(LogLevel::kDebug, "tls_handshake_failed", {{"error", ec.message()}});
                                  return self->close();
                                }
                                self->read_frame();
                              }));
    }
  }

 private:
  // Big enough for the usual call whole; a larger frame grows it for itself.
  static constexpr std::size_t kReadChunk = 4096;

  tcp::socket& lowest() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      return stream_;
    } else {
      return stream_.next_layer();
    }
  }

  // One timer for the connection's life, checked when it fires rather than
  // re-armed per call: a re-arm costs a timer-queue update and a cancelled
  // wait's completion on every request.
  void arm_idle(std::chrono::steady_clock::duration after) {
    idle_.expires_after(after);
    // Weak: the timer alone must not keep a finished connection alive.
    std::weak_ptr<Connection> weak = this->shared_from_this();
    idle_.async_wait(boost::asio::bind_executor(strand_, [weak](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      const auto limit = std::chrono::milliseconds(self->shared_->idle_timeout_ms);
      if (!self->waiting_) return self->arm_idle(limit);  // a call in progress (a long poll may park for long)
      const auto silent = std::chrono::steady_clock::now() - self->waiting_since_;
      if (silent >= limit) return self->close();
      self->arm_idle(limit - silent);
    }));
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    idle_.cancel();
    boost::system::error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close(ignored);
  }

  // Reads until a whole frame is buffered, then handles it. Header and body
  // usually arrive in one read; frames already buffered (pipelined or oneway
  // calls) are handled without reading.
  void read_frame() {
    if (closed_ || shared_->stopping) return close();
    if (!waiting_) {
      waiting_ = true;
      waiting_since_ = std::chrono::steady_clock::now();
    }
    if (take_frame()) return;
    if (in_.size() - in_len_ < kReadChunk / 4) in_.resize(std::max(in_.size() * 2, kReadChunk));
    auto self = this->shared_from_this();
    stream_.async_read_some(
        boost::asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
        boost::asio::bind_executor(strand_, [self](const boost::system::error_code& ec, std::size_t n) {
          if (ec) return self->close();
          self->in_len_ += n;
          self->read_frame();
        }));
  }

  // True when it handled a frame (or rejected one); false when more bytes
  // are needed.
  bool take_frame() {
    if (in_len_ < 4) return false;
    const std::uint32_t raw = (std::uint32_t{in_[0]} << 24) | (std::uint32_t{in_[1]} << 16) |
                              (std::uint32_t{in_[2]} << 8) | std::uint32_t{in_[3]};
    const auto size = static_cast<std::int32_t>(raw);
    if (size <= 0 || size > shared_->max_frame_bytes) {
      waiting_ = false;
      // The frame is not read: the connection cannot be resynchronised, so
      // the error is the last thing said on it.
      const std::string why = size <= 0 ? "invalid frame size " + std::to_string(size)
                                        : "frame of " + std::to_string(size) + " bytes exceeds the limit of " +
                                              std::to_string(shared_->max_frame_bytes) + " bytes (api.max_frame_bytes)";
      log_event(LogLevel::kWarn, "frame_rejected", {{"error", why}});
      reply_and_close(error_frame(TApplicationException::PROTOCOL_ERROR, why, "", 0));
      return true;
    }
    const std::size_t need = 4 + static_cast<std::size_t>(size);
    if (in_len_ < need) {
      if (in_.size() < need) in_.resize(need);
      return false;
    }
    waiting_ = false;
    started_ = std::chrono::steady_clock::now();
    const FrameLimits limits{static_cast<std::int32_t>(shared_->max_frame_bytes), kMaxContainerElements};
    // The route reads the frame in place: it is dispatched (its arguments
    // read) before the buffer moves on.
    on_frame(route_frame(std::string_view(reinterpret_cast<const char*>(in_.data()) + 4, need - 4), shared_->services,
                         limits));
    std::memmove(in_.data(), in_.data() + need, in_len_ - need);
    in_len_ -= need;
    // A large frame does not keep its buffer for the connection's life.
    if (in_.size() > 16 * kReadChunk && in_len_ <= kReadChunk) {
      in_.resize(kReadChunk);
      in_.shrink_to_fit();
    }
    return true;
  }

  void on_frame(FrameRoute route) {
    if (auto* rejected = std::get_if<RejectedFrame>(&route)) {
      if (!rejected->log_error.empty()) {
        log_event(LogLevel::kWarn, "request_malformed", {{"error", rejected->log_error}});
      }
      method_ = rejected->method;
      if (rejected->close) return reply_and_close(std::move(rejected->reply));
      return reply_then_read(std::move(rejected->reply), false);
    }
    const RoutedCall& call = std::get<RoutedCall>(route);
    method_ = call.name;
    auto self = this->shared_from_this();
    const Status dispatched = dispatch_call(
        call, [self, name = call.name, seqid = call.seqid, oneway = call.oneway](bool ok, std::string reply) {
          boost::asio::post(self->strand_, [self, reply = std::move(reply), ok, name, seqid, oneway]() mutable {
            if (!ok && reply.empty()) {
              // The arguments did not decode.
              return self->reply_and_close(error_frame(TApplicationException::PROTOCOL_ERROR,
                                                       "malformed arguments for '" + name + "'", name, seqid));
            }
            if (oneway) return self->read_frame();
            self->reply_then_read(std::move(reply), !ok);
          });
        });
    if (!dispatched.is_ok()) {
      log_event(LogLevel::kWarn, "request_malformed", {{"method", call.name}, {"error", dispatched.message()}});
      return reply_and_close(error_frame(TApplicationException::PROTOCOL_ERROR,
                                         "malformed request: " + dispatched.message(), call.name, call.seqid));
    }
  }

  // One reply is in flight at a time (the next frame is read only once it
  // is written), so its header and body live in the connection.
  void write_frame(std::string payload, std::function<void()> then) {
    const auto n = static_cast<std::uint32_t>(payload.size());
    out_header_ = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                   static_cast<char>(n)};
    out_ = std::move(payload);
    const std::array<boost::asio::const_buffer, 2> frame{boost::asio::buffer(out_header_), boost::asio::buffer(out_)};
    auto self = this->shared_from_this();
    boost::asio::async_write(stream_, frame,
                             boost::asio::bind_executor(strand_, [self, then = std::move(then)](
                                                                     const boost::system::error_code& ec, std::size_t) {
                               if (ec) return self->close();
                               then();
                             }));
  }

  void record(bool ok) {
    if (method_.empty()) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    shared_->metrics->observe_rpc(method_, s, ok);
    method_.clear();
  }

  void reply_then_read(std::string payload, bool error) {
    record(!error);
    auto self = this->shared_from_this();
    write_frame(std::move(payload), [self] { self->read_frame(); });
  }

  void reply_and_close(std::string payload) {
    record(false);
    auto self = this->shared_from_this();
    write_frame(std::move(payload), [self] { self->close(); });
  }

  Stream stream_;
  std::shared_ptr<ThriftServer::Shared> shared_;
  // The io_context's own executor type: no type-erased executor copies on
  // every handler.
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer idle_;
  std::vector<std::uint8_t> in_;  // bytes read, in_len_ of them used
  std::array<char, 4> out_header_{};
  std::string out_;  // the reply being written
  std::size_t in_len_ = 0;
  bool waiting_ = false;  // for a request (the idle timeout runs)
  std::chrono::steady_clock::time_point waiting_since_;
  std::string method_;
  std::chrono::steady_clock::time_point started_;
  bool closed_ = false;
};

}  // namespace

Result<tcp::endpoint> parse_endpoint(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return Status::invalid_argument("expected HOST:PORT, got '" + address + "'");
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(host, ec);
  if (ec) return Status::invalid_argument("'" + host + "' is not an IP address (use a numeric address)");
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
    return Status::invalid_argument("bad port '" + port + "' in '" + address + "'");
  }
  return tcp::endpoint(ip, static_cast<std::uint16_t>(p));
}

Status listen_on(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, const std::string& what) {
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::unavailable("cannot listen on " + what + ": " + ec.message());
  return Status::ok();
}

ThriftServer::ThriftServer(boost::asio::io_context& io, ServerOptions options, ServiceMap services,
                           metrics::DaemonMetrics& metrics)
    : io_(io), options_(std::move(options)), shared_(std::make_shared<Shared>()), acceptor_(io) {
  shared_->io = &io_;
  shared_->services = std::move(services);
  shared_->metrics = &metrics;
  shared_->max_frame_bytes = options_.max_frame_bytes;
  shared_->idle_timeout_ms = options_.idle_timeout_ms;
  shared_->max_connections = options_.max_connections;
}

ThriftServer::~ThriftServer() = default;

Status ThriftServer::start() {
  auto ep = parse_endpoint(options_.listen);
  if (!ep) return ep.status();
  if (options_.tls.enabled()) {
    tls_ = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    boost::system::error_code ec;
    tls_->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                      boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                      boost::asio::ssl::context::no_tlsv1_1);
    tls_->use_certificate_chain_file(options_.tls.cert_file, ec);
    if (ec) return Status::invalid_argument("api.tls.cert '" + options_.tls.cert_file + "': " + ec.message());
    tls_->use_private_key_file(options_.tls.key_file, boost::asio::ssl::context::pem, ec);
    if (ec) return Status::invalid_argument("api.tls.key '" + options_.tls.key_file + "': " + ec.message());
    if (!options_.tls.client_ca_file.empty()) {
      tls_->load_verify_file(options_.tls.client_ca_file, ec);
      if (ec)
        return Status::invalid_argument("api.tls.client_ca '" + options_.tls.client_ca_file + "': " + ec.message());
      tls_->set_verify_mode(boost::asio::ssl::verify_peer | boost::asio::ssl::verify_fail_if_no_peer_cert);
    }
  }
  SCHED_RETURN_IF_ERROR(listen_on(acceptor_, *ep, options_.listen));
  port_ = acceptor_.local_endpoint().port();
  accept();
  return Status::ok();
}

void ThriftServer::stop() {
  shared_->stopping = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void ThriftServer::accept() {
  // The socket gets the plain io_context executor: each connection makes its
  // own strand on it (a strand here too would put every handler through two).
  acceptor_.async_accept(io_, [this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec == boost::asio::error::operation_aborted || shared_->stopping) return;
      accept();
      return;
    }
    if (shared_->connections.load() >= shared_->max_connections) {
      log_event(LogLevel::kWarn, "connection_refused", {{"reason", "api.max_connections reached"}});
      boost::system::error_code ignored;
      socket.close(ignored);
      accept();
      return;
    }
    ++shared_->connections;
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls_) {
      std::make_shared<Connection<boost::asio::ssl::stream<tcp::socket>>>(
          boost::asio::ssl::stream<tcp::socket>(std::move(socket), *tls_), shared_)
          ->start();
    } else {
      std::make_shared<Connection<tcp::socket>>(std::move(socket), shared_)->start();
    }
    accept();
  });
}

}  // namespace sched::api
