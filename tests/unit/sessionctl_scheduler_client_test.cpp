// Tests SchedulerClient against an in-process Thrift server speaking the same
// wire format as sessiond (framed, binary, multiplexed), so the client's
// error mapping, long-poll timeouts and reconnects are checked without the
// daemon.
#include <gtest/gtest.h>
#include <thrift/processor/TMultiplexedProcessor.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TServerSocket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "client/cpp/error_mapping.hpp"
#include "client/cpp/scheduler_client.hpp"
#include "idl/Admin.h"
#include "idl/Sessions.h"

namespace sched::client {
namespace {

namespace tt = apache::thrift::transport;

constexpr const char* kGoodToken = "good";

api::SchedulerError error(api::ErrorCode::type code, std::string message) {
  api::SchedulerError e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

// Answers like sessiond would, with a few levers for the tests.
class FakeScheduler : public api::SessionsNull, public api::AdminNull {
 public:
  std::atomic<int> calls{0};

  void register_session(api::Registration& out, const std::string& token, const api::SessionSpec& spec) override {
    check(token);
    if (spec.consumer.empty()) throw error(api::ErrorCode::INVALID_ARGUMENT, "consumer: empty");
    out.session_id = spec.__isset.session_id ? spec.session_id : "s-1";
    out.lease_ttl_ms = 30000;
    out.heartbeat_interval_ms = 5000;
    out.max_wait_ms = 10000;
  }
  void update_demand(const std::string& token, const std::string& session_id, const api::Demand& demand) override {
    check(token);
    if (session_id != "s-1") throw error(api::ErrorCode::NOT_FOUND, "no session " + session_id);
    last_demand = demand;
  }
  // Holds the call for wait_ms, as a long poll with no news does.
  void heartbeat(api::Directives& out, const std::string& token, const std::string& session_id,
                 const int64_t known_version, const int32_t wait_ms) override {
    check(token);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    out.version = known_version + 1;
    out.granted_slots = 4;
  }
  void acknowledge(const std::string& token, const std::string&, const std::vector<std::string>& ids) override {
    check(token);
    acknowledged = ids;
  }
  void release(const std::string& token, const std::string&, const std::string& executor_id, const int64_t) override {
    check(token);
    if (executor_id == "gone") throw error(api::ErrorCode::FAILED_PRECONDITION, "executor gone has exited");
  }
  void unregister_session(const std::string& token, const std::string&) override { check(token); }

  void status(api::ClusterStatus& out, const std::string& token) override {
    check(token);
    out.version = "fake";
    out.principal = "admin";
  }
  // A handler bug: the server turns it into a TApplicationException.
  void get_tree(api::ConsumerTree&, const std::string& token) override {
    check(token);
    throw std::runtime_error("handler bug");
  }
  void set_tree(api::ConsumerTree& out, const std::string& token, const std::string& yaml,
                const bool dry_run) override {
    check(token);
    if (token != kGoodToken) throw error(api::ErrorCode::PERMISSION_DENIED, "admin only");
    out.yaml = yaml;
    out.version = dry_run ? 1 : 2;
  }
  void list_sessions(std::vector<api::SessionInfo>& out, const std::string& token, const std::string& prefix) override {
    check(token);
    api::SessionInfo s;
    s.session_id = "s-1";
    s.consumer = prefix + "/x";
    out = {s};
  }
  void drain_host(api::Host& out, const std::string& token, const std::string& host, const bool drain) override {
    check(token);
    if (host != "node-1") throw error(api::ErrorCode::NOT_FOUND, "no host " + host);
    out.name = host;
    out.draining = drain;
  }
  // "slow" answers after 2.5 s, well past the tests' reply timeout.
  void usage(std::vector<api::ConsumerUsage>& out, const std::string& token, const std::string& prefix) override {
    check(token);
    if (prefix == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    api::ConsumerUsage u;
    u.path = prefix;
    out = {u};
  }

  api::Demand last_demand;
  std::vector<std::string> acknowledged;

 private:
  void check(const std::string& token) {
    ++calls;
    if (token != kGoodToken && token != "tenant") throw error(api::ErrorCode::UNAUTHENTICATED, "unknown token");
  }
};

class ReadySignal : public apache::thrift::server::TServerEventHandler {
 public:
  void preServe() override {
    std::lock_guard<std::mutex> lock(mu);
    ready = true;
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
};

// A server on a free loopback port for the length of one test.
class FakeServer {
 public:
  FakeServer() {
    handler_ = std::make_shared<FakeScheduler>();
    auto mux = std::make_shared<apache::thrift::TMultiplexedProcessor>();
    mux->registerProcessor("Sessions", std::make_shared<api::SessionsProcessor>(handler_));
    mux->registerProcessor("Admin", std::make_shared<api::AdminProcessor>(handler_));
    socket_ = std::make_shared<tt::TServerSocket>("127.0.0.1", 0);
    server_ = std::make_unique<apache::thrift::server::TThreadedServer>(
        mux, socket_, std::make_shared<tt::TFramedTransportFactory>(),
        std::make_shared<apache::thrift::protocol::TBinaryProtocolFactory>());
    ready_ = std::make_shared<ReadySignal>();
    server_->setServerEventHandler(ready_);
    thread_ = std::thread([this] { server_->serve(); });
    std::unique_lock<std::mutex> lock(ready_->mu);
    ready_->cv.wait(lock, [&] { return ready_->ready; });
  }
  ~FakeServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return socket_->getPort(); }
  FakeScheduler& handler() { return *handler_; }

 private:
  std::shared_ptr<FakeScheduler> handler_;
  std::shared_ptr<tt::TServerSocket> socket_;
  std::unique_ptr<apache::thrift::server::TThreadedServer> server_;
  std::shared_ptr<ReadySignal> ready_;
  std::thread thread_;
};

ClientOptions options_for(int port, std::string token = kGoodToken) {
  ClientOptions o;
  o.port = port;
  o.token = std::move(token);
  // Not tighter: a loaded CI machine once took over 300 ms to answer a
  // fresh call while a build ran on both cores.
  o.recv_timeout_ms = 800;
  o.long_poll_margin_ms = 1000;
  return o;
}

std::unique_ptr<SchedulerClient> must_connect(const ClientOptions& o) {
  auto c = SchedulerClient::connect(o);
  EXPECT_TRUE(c.is_ok()) << c.status().to_string();
  return c.is_ok() ? std::move(c).value() : nullptr;
}

TEST(SchedulerClientErrorMappingTest, EveryApiCodeHasAStatusCode) {
  EXPECT_EQ(status_code_of(api::ErrorCode::INVALID_ARGUMENT), StatusCode::kInvalidArgument);
  EXPECT_EQ(status_code_of(api::ErrorCode::UNAUTHENTICATED), StatusCode::kUnauthenticated);
  EXPECT_EQ(status_code_of(api::ErrorCode::PERMISSION_DENIED), StatusCode::kPermissionDenied);
  EXPECT_EQ(status_code_of(api::ErrorCode::NOT_FOUND), StatusCode::kNotFound);
  EXPECT_EQ(status_code_of(api::ErrorCode::ALREADY_EXISTS), StatusCode::kAlreadyExists);
  EXPECT_EQ(status_code_of(api::ErrorCode::FAILED_PRECONDITION), StatusCode::kFailedPrecondition);
  EXPECT_EQ(status_code_of(api::ErrorCode::UNAVAILABLE), StatusCode::kUnavailable);
  EXPECT_EQ(status_code_of(api::ErrorCode::INTERNAL), StatusCode::kInternal);
  EXPECT_EQ(status_code_of(static_cast<api::ErrorCode::type>(99)), StatusCode::kInternal);
  EXPECT_EQ(status_of(error(api::ErrorCode::NOT_FOUND, "")).message(), "server error 4");
}

TEST(SchedulerClientTest, NothingListeningIsUnavailableNamingTheServer) {
  int port = 0;
  {
    FakeServer probe;  // a port that was free a moment ago and is closed now
    port = probe.port();
  }
  auto c = SchedulerClient::connect(options_for(port));
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos) << c.status().message();
}

TEST(SchedulerClientTest, BadOptionsAreInvalidArgument) {
  ClientOptions o;
  o.port = 0;
  EXPECT_EQ(SchedulerClient::connect(o).status().code(), StatusCode::kInvalidArgument);
  o = ClientOptions{};
  o.tls.enabled = true;
  o.tls.cert_file = "client.pem";
  EXPECT_EQ(SchedulerClient::connect(o).status().code(), StatusCode::kInvalidArgument);
  o.tls.cert_file = "";
  o.tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(SchedulerClient::connect(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(SchedulerClientTest, EverySessionsCallReachesItsService) {
  FakeServer server;
  auto c = must_connect(options_for(server.port()));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->server(), "127.0.0.1:" + std::to_string(server.port()));

  api::SessionSpec spec;
  spec.consumer = "/A";
  spec.__set_session_id("app-7");
  auto reg = c->register_session(spec);
  ASSERT_TRUE(reg.is_ok()) << reg.status().to_string();
  EXPECT_EQ(reg->session_id, "app-7");
  EXPECT_EQ(reg->max_wait_ms, 10000);

  api::Demand d;
  d.pending_tasks = 3;
  d.__set_slots(5);
  ASSERT_TRUE(c->update_demand("s-1", d).is_ok());
  EXPECT_EQ(server.handler().last_demand.slots, 5);
  EXPECT_TRUE(server.handler().last_demand.__isset.slots);

  ASSERT_TRUE(c->acknowledge("s-1", {"e1", "e2"}).is_ok());
  EXPECT_EQ(server.handler().acknowledged, (std::vector<std::string>{"e1", "e2"}));
  ASSERT_TRUE(c->release("s-1", "e1", 0).is_ok());
  ASSERT_TRUE(c->unregister_session("s-1").is_ok());

  auto hb = c->heartbeat("s-1", 41, 0);
  ASSERT_TRUE(hb.is_ok()) << hb.status().to_string();
  EXPECT_EQ(hb->version, 42);
}

TEST(SchedulerClientTest, EveryAdminCallReachesItsService) {
  FakeServer server;
  auto c = must_connect(options_for(server.port()));
  ASSERT_NE(c, nullptr);
  auto st = c->status();
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  EXPECT_EQ(st->principal, "admin");
  auto set = c->set_tree("consumers: []", true);
  ASSERT_TRUE(set.is_ok());
  EXPECT_EQ(set->yaml, "consumers: []");
  EXPECT_EQ(set->version, 1);
  auto sessions = c->list_sessions("/B");
  ASSERT_TRUE(sessions.is_ok());
  ASSERT_EQ(sessions->size(), 1u);
  EXPECT_EQ((*sessions)[0].consumer, "/B/x");
  auto host = c->drain_host("node-1", true);
  ASSERT_TRUE(host.is_ok());
  EXPECT_TRUE(host->draining);
  auto usage = c->usage("/A");
  ASSERT_TRUE(usage.is_ok());
  EXPECT_EQ((*usage)[0].path, "/A");
}

TEST(SchedulerClientTest, ServerErrorsKeepTheirCodeAndTheConnection) {
  FakeServer server;
  auto c = must_connect(options_for(server.port()));
  ASSERT_NE(c, nullptr);

  api::SessionSpec empty;
  auto reg = c->register_session(empty);
  EXPECT_EQ(reg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.status().message(), "consumer: empty");
  EXPECT_EQ(c->update_demand("nope", {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(c->release("s-1", "gone", 1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(c->drain_host("node-9", true).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(c->connected());

  auto tenant = must_connect(options_for(server.port(), "tenant"));
  EXPECT_EQ(tenant->set_tree("x", false).status().code(), StatusCode::kPermissionDenied);
  auto stranger = must_connect(options_for(server.port(), "stranger"));
  EXPECT_EQ(stranger->status().status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(stranger->connected());
}

TEST(SchedulerClientTest, HandlerFailureIsInternalAndTheNextCallWorks) {
  FakeServer server;
  auto c = must_connect(options_for(server.port()));
  ASSERT_NE(c, nullptr);
  auto tree = c->get_tree();
  EXPECT_EQ(tree.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(c->status().is_ok());
}

TEST(SchedulerClientTest, HeartbeatWaitsLongerThanTheReplyTimeout) {
  FakeServer server;
  auto c = must_connect(options_for(server.port()));  // replies within 800 ms, margin 1 s
  ASSERT_NE(c, nullptr);
  auto hb = c->heartbeat("s-1", 1, 1500);
  ASSERT_TRUE(hb.is_ok()) << hb.status().to_string();
  EXPECT_EQ(hb->version, 2);
  // The long poll's timeout does not stick to the next call.
  auto slow = c->usage("slow");
  EXPECT_EQ(slow.status().code(), StatusCode::kUnavailable);
}

TEST(SchedulerClientTest, TimeoutClosesAndTheNextCallRedials) {
  FakeServer server;
  auto c = must_connect(options_for(server.port()));
  ASSERT_NE(c, nullptr);
  auto slow = c->usage("slow");
  ASSERT_EQ(slow.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(slow.status().message().find(c->server()), std::string::npos) << slow.status().message();
  EXPECT_FALSE(c->connected());
  // The late reply of the timed-out call must not be read as this one's.
  auto fresh = c->usage("/A");
  ASSERT_TRUE(fresh.is_ok()) << fresh.status().to_string();
  EXPECT_EQ((*fresh)[0].path, "/A");
  EXPECT_TRUE(c->connected());
}

TEST(SchedulerClientTest, ServerGoneIsUnavailable) {
  std::unique_ptr<SchedulerClient> c;
  {
    FakeServer server;
    c = must_connect(options_for(server.port()));
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->status().is_ok());
    c->close();  // the threaded server waits for its connections to end
  }
  auto st = c->status();
  EXPECT_EQ(st.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(c->connected());
}

}  // namespace
}  // namespace sched::client
