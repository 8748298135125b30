// Writes the request fuzzer's seed corpus: one valid frame body per Sessions
// and Admin method, encoded by the generated client as a real client sends it.
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TMultiplexedProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "idl/Admin.h"
#include "idl/Sessions.h"

namespace {

using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::protocol::TMultiplexedProtocol;
using apache::thrift::transport::TMemoryBuffer;
namespace wire = sched::api;

const std::string kToken = "fuzz-token-0123456789abcdef";

// Encodes one call of `Client` on service `service` and writes the bytes.
template <typename Client>
bool write_seed(const std::filesystem::path& dir, const std::string& file, const std::string& service,
                const std::function<void(Client&)>& send) {
  auto buf = std::make_shared<TMemoryBuffer>();
  auto proto = std::make_shared<TMultiplexedProtocol>(std::make_shared<TBinaryProtocol>(buf), service);
  Client client(proto);
  send(client);
  std::ofstream out(dir / file, std::ios::binary);
  out << buf->getBufferAsString();
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz-request-seeds DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);

  wire::SessionSpec spec;
  spec.consumer = "/bank/risk/alice";
  spec.user = "alice";
  spec.application = "notebook";
  spec.sla = wire::SlaClass::INTERACTIVE;
  spec.slot_shape.cpu_millis = 1000;
  spec.slot_shape.memory_mib = 4096;
  spec.slot_shape.extras = {{"fpga", 1}};
  spec.min_slots = 1;
  spec.max_slots = 64;
  spec.initial_demand = 8;
  spec.launch.command = {"/bin/executor", "--id", "{executor_id}"};
  spec.launch.env = {{"SPARK_HOME", "/opt/spark"}};
  spec.__set_session_id("app-20260101-0001");
  wire::Demand demand;
  demand.pending_tasks = 40;
  demand.running_tasks = 8;
  demand.__set_slots(12);

  using S = wire::SessionsClient;
  using A = wire::AdminClient;
  bool ok = true;
  ok &= write_seed<S>(dir, "register_session.bin", "Sessions", [&](S& c) { c.send_register_session(kToken, spec); });
  ok &= write_seed<S>(dir, "update_demand.bin", "Sessions",
                      [&](S& c) { c.send_update_demand(kToken, "app-20260101-0001", demand); });
  ok &= write_seed<S>(dir, "heartbeat.bin", "Sessions",
                      [&](S& c) { c.send_heartbeat(kToken, "app-20260101-0001", 7, 5000); });
  ok &= write_seed<S>(dir, "acknowledge.bin", "Sessions", [&](S& c) {
    c.send_acknowledge(kToken, "app-20260101-0001", {"e-1", "e-2"});
  });
  ok &= write_seed<S>(dir, "release.bin", "Sessions",
                      [&](S& c) { c.send_release(kToken, "app-20260101-0001", "e-1", 2); });
  ok &= write_seed<S>(dir, "unregister_session.bin", "Sessions",
                      [&](S& c) { c.send_unregister_session(kToken, "app-20260101-0001"); });
  ok &= write_seed<A>(dir, "status.bin", "Admin", [&](A& c) { c.send_status(kToken); });
  ok &= write_seed<A>(dir, "get_tree.bin", "Admin", [&](A& c) { c.send_get_tree(kToken); });
  ok &= write_seed<A>(dir, "set_tree.bin", "Admin",
                      [&](A& c) { c.send_set_tree(kToken, "consumers:\n  - {name: a, share: 1, owned: 4}\n", true); });
  ok &= write_seed<A>(dir, "list_sessions.bin", "Admin", [&](A& c) { c.send_list_sessions(kToken, "/bank"); });
  ok &= write_seed<A>(dir, "drain_host.bin", "Admin", [&](A& c) { c.send_drain_host(kToken, "host-1", true); });
  ok &= write_seed<A>(dir, "usage.bin", "Admin", [&](A& c) { c.send_usage(kToken, "/"); });
  // Not multiplexed: the router's "name your service" path.
  {
    auto buf = std::make_shared<TMemoryBuffer>();
    S client(std::make_shared<TBinaryProtocol>(buf));
    client.send_heartbeat(kToken, "s", 0, 0);
    std::ofstream out(dir / "bare_heartbeat.bin", std::ios::binary);
    out << buf->getBufferAsString();
    ok &= static_cast<bool>(out);
  }
  if (!ok) {
    std::cerr << "fuzz-request-seeds: cannot write to " << dir << "\n";
    return 1;
  }
  return 0;
}
