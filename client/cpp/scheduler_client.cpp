// SchedulerClient over Thrift: one socket, framed binary protocol, the two
// services multiplexed by name.
#include "client/cpp/scheduler_client.hpp"

#include <openssl/ssl.h>
#include <thrift/TApplicationException.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TMultiplexedProtocol.h>
#include <thrift/protocol/TProtocolException.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLSocket.h>
#include <thrift/transport/TSocket.h>
#include <thrift/transport/TTransportException.h>

#include <algorithm>
#include <exception>
#include <limits>

#include "client/cpp/error_mapping.hpp"
#include "idl/Admin.h"
#include "idl/Sessions.h"
#include "idl/session_scheduler_constants.h"

namespace sched::client {

namespace tt = apache::thrift::transport;
namespace tp = apache::thrift::protocol;

namespace {

// Thrift's factory keeps its SSL_CTX to itself; without a CA file we want
// the system's trust store, which only the context can load.
class TrustingSocketFactory : public tt::TSSLSocketFactory {
 public:
  bool use_system_trust_store() { return SSL_CTX_set_default_verify_paths(ctx_->get()) == 1; }
};

}  // namespace

struct SchedulerClient::Connection {
  // Declared first so it is destroyed last: sockets call into OpenSSL until
  // they go, and the factory's destructor may tear OpenSSL down.
  std::shared_ptr<TrustingSocketFactory> ssl_factory;
  std::shared_ptr<tt::TSocket> socket;
  std::shared_ptr<tt::TTransport> transport;
  std::unique_ptr<api::SessionsClient> sessions;
  std::unique_ptr<api::AdminClient> admin;
};

SchedulerClient::SchedulerClient(ClientOptions options)
    : options_(std::move(options)), server_(options_.address().to_string()) {}

SchedulerClient::~SchedulerClient() {
  close();
}

Result<std::unique_ptr<SchedulerClient>> SchedulerClient::connect(const ClientOptions& options) {
  if (options.host.empty()) return Status::invalid_argument("empty server host");
  if (options.port < 1 || options.port > 65535)
    return Status::invalid_argument("server port " + std::to_string(options.port) + " is outside 1..65535");
  if (options.tls.cert_file.empty() != options.tls.key_file.empty())
    return Status::invalid_argument("TLS client certificate and key go together: give both or neither");
  std::unique_ptr<SchedulerClient> client(new SchedulerClient(options));
  {
    std::lock_guard<std::mutex> lock(client->mu_);
    SCHED_RETURN_IF_ERROR(client->open_locked());
  }
  return client;
}

Status SchedulerClient::open_locked() {
  auto conn = std::make_unique<Connection>();
  // Building the TLS context reads files; failures there are the caller's
  // options, not the network.
  try {
    if (options_.tls.enabled) {
      conn->ssl_factory = std::make_shared<TrustingSocketFactory>();
      conn->ssl_factory->authenticate(true);
      if (options_.tls.ca_file.empty()) {
        if (!conn->ssl_factory->use_system_trust_store())
          return Status::invalid_argument("TLS: cannot load the system's trusted certificates");
      } else {
        conn->ssl_factory->loadTrustedCertificates(options_.tls.ca_file.c_str());
      }
      if (!options_.tls.cert_file.empty()) {
        conn->ssl_factory->loadCertificate(options_.tls.cert_file.c_str());
        conn->ssl_factory->loadPrivateKey(options_.tls.key_file.c_str());
      }
      // Without an access manager Thrift checks the chain but not the name.
      if (options_.tls.verify_hostname) conn->ssl_factory->access(std::make_shared<tt::DefaultClientAccessManager>());
      conn->socket = conn->ssl_factory->createSocket(options_.host, options_.port);
    } else {
      conn->socket = std::make_shared<tt::TSocket>(options_.host, options_.port);
    }
  } catch (const std::exception& e) {
    return Status::invalid_argument(std::string("TLS setup: ") + e.what());
  }

  try {
    conn->socket->setConnTimeout(options_.connect_timeout_ms);
    conn->socket->setRecvTimeout(options_.recv_timeout_ms);
    conn->socket->setSendTimeout(options_.send_timeout_ms);
    conn->transport = std::make_shared<tt::TFramedTransport>(conn->socket);
    auto protocol = std::make_shared<tp::TBinaryProtocol>(conn->transport);
    const auto& names = api::g_session_scheduler_constants;
    conn->sessions = std::make_unique<api::SessionsClient>(
        std::make_shared<tp::TMultiplexedProtocol>(protocol, names.SESSIONS_SERVICE));
    conn->admin =
        std::make_unique<api::AdminClient>(std::make_shared<tp::TMultiplexedProtocol>(protocol, names.ADMIN_SERVICE));
    conn->transport->open();
  } catch (const std::exception& e) {
    return Status::unavailable("cannot connect to sessiond at " + server_ + ": " + e.what());
  }
  conn_ = std::move(conn);
  return Status::ok();
}

void SchedulerClient::close_locked() {
  if (!conn_) return;
  try {
    conn_->transport->close();
  } catch (...) {
    // Closing a broken socket may complain; it is closed either way.
  }
  conn_.reset();
}

bool SchedulerClient::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_ != nullptr;
}

void SchedulerClient::close() {
  std::lock_guard<std::mutex> lock(mu_);
  close_locked();
}

Status SchedulerClient::call(const char* method, int recv_timeout_ms, const std::function<void(Connection&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!conn_) SCHED_RETURN_IF_ERROR(open_locked());
  try {
    // Every call sets its own reply timeout, so a long poll's never lingers.
    conn_->socket->setRecvTimeout(recv_timeout_ms);
    fn(*conn_);
    return Status::ok();
  } catch (const api::SchedulerError& e) {
    // A clean error reply: the connection stays usable.
    return status_of(e);
  } catch (const tt::TTransportException& e) {
    close_locked();
    return Status::unavailable(std::string(method) + ": connection to sessiond at " + server_ + " failed: " + e.what());
  } catch (const apache::thrift::TApplicationException& e) {
    // The server could not run the call (unknown method: an older server).
    close_locked();
    return Status::internal(std::string(method) + ": sessiond at " + server_ + " answered: " + e.what());
  } catch (const tp::TProtocolException& e) {
    close_locked();
    return Status::internal(std::string(method) + ": unreadable reply from " + server_ + ": " + e.what());
  } catch (const std::exception& e) {
    close_locked();
    return Status::internal(std::string(method) + ": " + e.what());
  } catch (...) {
    close_locked();
    return Status::internal(std::string(method) + ": unknown error");
  }
}

Result<api::Registration> SchedulerClient::register_session(const api::SessionSpec& spec) {
  api::Registration out;
  SCHED_RETURN_IF_ERROR(call("register_session", options_.recv_timeout_ms,
                             [&](Connection& c) { c.sessions->register_session(out, options_.token, spec); }));
  return out;
}

Status SchedulerClient::update_demand(const std::string& session_id, const api::Demand& demand) {
  return call("update_demand", options_.recv_timeout_ms,
              [&](Connection& c) { c.sessions->update_demand(options_.token, session_id, demand); });
}

Result<api::Directives> SchedulerClient::heartbeat(const std::string& session_id, std::int64_t known_version,
                                                   std::int32_t wait_ms) {
  int timeout = options_.recv_timeout_ms;
  if (timeout > 0 && wait_ms > 0) {
    const std::int64_t needed = static_cast<std::int64_t>(wait_ms) + options_.long_poll_margin_ms;
    timeout = static_cast<int>(
        std::min<std::int64_t>(std::max<std::int64_t>(timeout, needed), std::numeric_limits<int>::max()));
  }
  api::Directives out;
  SCHED_RETURN_IF_ERROR(call("heartbeat", timeout, [&](Connection& c) {
    c.sessions->heartbeat(out, options_.token, session_id, known_version, wait_ms);
  }));
  return out;
}

Status SchedulerClient::acknowledge(const std::string& session_id, const std::vector<std::string>& executor_ids) {
  return call("acknowledge", options_.recv_timeout_ms,
              [&](Connection& c) { c.sessions->acknowledge(options_.token, session_id, executor_ids); });
}

Status SchedulerClient::release(const std::string& session_id, const std::string& executor_id, std::int64_t slots) {
  return call("release", options_.recv_timeout_ms,
              [&](Connection& c) { c.sessions->release(options_.token, session_id, executor_id, slots); });
}

Status SchedulerClient::unregister_session(const std::string& session_id) {
  return call("unregister_session", options_.recv_timeout_ms,
              [&](Connection& c) { c.sessions->unregister_session(options_.token, session_id); });
}

Result<api::ClusterStatus> SchedulerClient::status() {
  api::ClusterStatus out;
  SCHED_RETURN_IF_ERROR(
      call("status", options_.recv_timeout_ms, [&](Connection& c) { c.admin->status(out, options_.token); }));
  return out;
}

Result<api::ConsumerTree> SchedulerClient::get_tree() {
  api::ConsumerTree out;
  SCHED_RETURN_IF_ERROR(
      call("get_tree", options_.recv_timeout_ms, [&](Connection& c) { c.admin->get_tree(out, options_.token); }));
  return out;
}

Result<api::ConsumerTree> SchedulerClient::set_tree(const std::string& yaml, bool dry_run) {
  api::ConsumerTree out;
  SCHED_RETURN_IF_ERROR(call("set_tree", options_.recv_timeout_ms,
                             [&](Connection& c) { c.admin->set_tree(out, options_.token, yaml, dry_run); }));
  return out;
}

Result<std::vector<api::SessionInfo>> SchedulerClient::list_sessions(const std::string& consumer_prefix) {
  std::vector<api::SessionInfo> out;
  SCHED_RETURN_IF_ERROR(call("list_sessions", options_.recv_timeout_ms,
                             [&](Connection& c) { c.admin->list_sessions(out, options_.token, consumer_prefix); }));
  return out;
}

Result<api::Host> SchedulerClient::drain_host(const std::string& host, bool drain) {
  api::Host out;
  SCHED_RETURN_IF_ERROR(call("drain_host", options_.recv_timeout_ms,
                             [&](Connection& c) { c.admin->drain_host(out, options_.token, host, drain); }));
  return out;
}

Result<std::vector<api::ConsumerUsage>> SchedulerClient::usage(const std::string& consumer_prefix) {
  std::vector<api::ConsumerUsage> out;
  SCHED_RETURN_IF_ERROR(call("usage", options_.recv_timeout_ms,
                             [&](Connection& c) { c.admin->usage(out, options_.token, consumer_prefix); }));
  return out;
}

Result<api::UsagePage> SchedulerClient::export_usage(const api::UsageQuery& query) {
  api::UsagePage out;
  SCHED_RETURN_IF_ERROR(call("export_usage", options_.recv_timeout_ms,
                             [&](Connection& c) { c.admin->export_usage(out, options_.token, query); }));
  return out;
}

Result<api::Bill> SchedulerClient::billing_report(const std::string& tenant, const std::string& month) {
  api::Bill out;
  SCHED_RETURN_IF_ERROR(call("billing_report", options_.recv_timeout_ms,
                             [&](Connection& c) { c.admin->billing_report(out, options_.token, tenant, month); }));
  return out;
}

}  // namespace sched::client
