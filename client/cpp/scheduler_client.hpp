// SchedulerClient: every Sessions and Admin call of sessiond, with errors as
// Status values instead of Thrift exceptions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/cpp/client_options.hpp"
#include "common/status.hpp"
#include "idl/session_scheduler_types.h"

namespace sched::client {

// One TCP (or TLS) connection carrying both services. Calls are serialized
// on that connection, so a heartbeat that long-polls blocks the other calls
// of the same client until it returns: give a long-polling thread a client
// of its own.
//
// Errors: the server's SchedulerError keeps its code (see error_mapping.hpp);
// a broken or timed-out connection is kUnavailable naming the server, and
// closes the connection (a reply may be half read). The next call dials
// again, so a client outlives a daemon restart. No exception leaves a method.
class SchedulerClient {
 public:
  // Dials the server. Fails with kUnavailable when nothing answers, and
  // kInvalidArgument when the TLS files cannot be loaded. With TLS the
  // handshake happens on the first call, so certificate errors show there.
  [[nodiscard]] static Result<std::unique_ptr<SchedulerClient>> connect(const ClientOptions& options);

  ~SchedulerClient();
  SchedulerClient(const SchedulerClient&) = delete;
  SchedulerClient& operator=(const SchedulerClient&) = delete;

  // "host:port", as errors name it.
  const std::string& server() const { return server_; }
  const ClientOptions& options() const { return options_; }
  // False after a transport error until the next call dials again: how a
  // caller tells "could not reach the server" from the server's UNAVAILABLE.
  bool connected() const;
  // Idempotent. A later call dials again.
  void close();

  // --- Sessions ---------------------------------------------------------
  [[nodiscard]] Result<api::Registration> register_session(const api::SessionSpec& spec);
  [[nodiscard]] Status update_demand(const std::string& session_id, const api::Demand& demand);
  // Waits up to wait_ms (the server caps it) for a version above
  // known_version; the reply is awaited for wait_ms + long_poll_margin_ms.
  [[nodiscard]] Result<api::Directives> heartbeat(const std::string& session_id, std::int64_t known_version,
                                                  std::int32_t wait_ms);
  [[nodiscard]] Status acknowledge(const std::string& session_id, const std::vector<std::string>& executor_ids);
  // slots <= 0 gives back the whole executor.
  [[nodiscard]] Status release(const std::string& session_id, const std::string& executor_id, std::int64_t slots);
  [[nodiscard]] Status unregister_session(const std::string& session_id);

  // --- Admin ------------------------------------------------------------
  [[nodiscard]] Result<api::ClusterStatus> status();
  [[nodiscard]] Result<api::ConsumerTree> get_tree();
  [[nodiscard]] Result<api::ConsumerTree> set_tree(const std::string& yaml, bool dry_run);
  [[nodiscard]] Result<std::vector<api::SessionInfo>> list_sessions(const std::string& consumer_prefix);
  [[nodiscard]] Result<api::Host> drain_host(const std::string& host, bool drain);
  [[nodiscard]] Result<std::vector<api::ConsumerUsage>> usage(const std::string& consumer_prefix);
  [[nodiscard]] Result<api::UsagePage> export_usage(const api::UsageQuery& query);
  [[nodiscard]] Result<api::Bill> billing_report(const std::string& tenant, const std::string& month);

 private:
  struct Connection;

  explicit SchedulerClient(ClientOptions options);
  // REQUIRES: mu_ held.
  Status open_locked();
  void close_locked();
  // Runs `fn` on an open connection with the given reply timeout and turns
  // every exception into a Status.
  Status call(const char* method, int recv_timeout_ms, const std::function<void(Connection&)>& fn);

  const ClientOptions options_;
  const std::string server_;
  mutable std::mutex mu_;
  std::unique_ptr<Connection> conn_;  // null while closed
};

}  // namespace sched::client
