// rpc-bench: sessiond's API under load from a second process (demand updates,
// heartbeats, long polls from many connections) and its crash recovery (kill
// -9 with 10,000 sessions, time to ready, allocations compared). Figures only:
// it never fails on a slow number, only when it cannot measure.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thrift/Thrift.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/cpp/scheduler_client.hpp"

namespace {

using sched::Result;
using sched::Status;
using sched::client::ClientOptions;
using sched::client::SchedulerClient;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
namespace wire = sched::api;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Latencies of one method, in microseconds, and its errors.
struct MethodStats {
  std::vector<std::int64_t> micros;
  std::int64_t errors = 0;
  std::string first_error;

  void add(Clock::time_point start, const Status& st) {
    micros.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
    if (!st.is_ok()) {
      if (errors++ == 0) first_error = st.to_string();
    }
  }
  void merge(MethodStats&& o) {
    micros.insert(micros.end(), o.micros.begin(), o.micros.end());
    if (errors == 0 && o.errors > 0) first_error = o.first_error;
    errors += o.errors;
  }
};

using StatsByMethod = std::map<std::string, MethodStats>;

void merge_into(StatsByMethod& into, StatsByMethod&& from) {
  for (auto& [m, s] : from) into[m].merge(std::move(s));
}

double percentile_ms(std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(i, sorted.size() - 1)]) / 1000.0;
}

// Throughput over `seconds` and the latency percentiles, per method.
json summarize(StatsByMethod& stats, double seconds) {
  json out = json::object();
  for (auto& [m, s] : stats) {
    std::sort(s.micros.begin(), s.micros.end());
    json j;
    j["calls"] = s.micros.size();
    j["errors"] = s.errors;
    if (!s.first_error.empty()) j["first_error"] = s.first_error;
    j["calls_per_s"] = seconds > 0 ? static_cast<double>(s.micros.size()) / seconds : 0.0;
    j["p50_ms"] = percentile_ms(s.micros, 0.50);
    j["p90_ms"] = percentile_ms(s.micros, 0.90);
    j["p99_ms"] = percentile_ms(s.micros, 0.99);
    j["max_ms"] = s.micros.empty() ? 0.0 : static_cast<double>(s.micros.back()) / 1000.0;
    out[m] = j;
  }
  return out;
}

void print_table(const json& methods) {
  std::printf("  %-22s %10s %8s %12s %9s %9s %9s %9s\n", "method", "calls", "errors", "calls/s", "p50 ms", "p90 ms",
              "p99 ms", "max ms");
  for (const auto& [m, j] : methods.items()) {
    std::printf("  %-22s %10lld %8lld %12.0f %9.3f %9.3f %9.3f %9.3f\n", m.c_str(),
                static_cast<long long>(j["calls"].get<std::int64_t>()),
                static_cast<long long>(j["errors"].get<std::int64_t>()), j["calls_per_s"].get<double>(),
                j["p50_ms"].get<double>(), j["p90_ms"].get<double>(), j["p99_ms"].get<double>(),
                j["max_ms"].get<double>());
  }
}

Result<std::unique_ptr<SchedulerClient>> dial(const ClientOptions& base) {
  return SchedulerClient::connect(base);
}

std::string session_id(const std::string& prefix, int i) {
  return prefix + "-" + std::to_string(i);
}

// Registers sessions [begin, end) of `ids` on one connection.
Status register_range(SchedulerClient& c, const std::vector<std::string>& ids, std::size_t begin, std::size_t end,
                      const std::string& consumer, std::int64_t initial_demand, MethodStats* stats) {
  for (std::size_t i = begin; i < end; ++i) {
    wire::SessionSpec spec;
    spec.consumer = consumer;
    spec.user = "bench";
    spec.application = "rpc-bench";
    spec.sla = wire::SlaClass::BATCH;
    spec.initial_demand = initial_demand;
    spec.__set_session_id(ids[i]);  // no launch command: slots only, no processes
    const auto t0 = Clock::now();
    auto r = c.register_session(spec);
    stats->add(t0, r.status());
    if (!r) return r.status().with_context("register " + ids[i]);
  }
  return Status::ok();
}

// Runs fn(thread index, connection) on `threads` threads, each with its own
// connection; the first error wins.
Status parallel(const ClientOptions& opts, int threads, const std::function<Status(int, SchedulerClient&)>& fn) {
  std::mutex mu;
  Status first;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto c = dial(opts);
      Status st = c ? fn(t, **c) : c.status();
      std::lock_guard<std::mutex> lock(mu);
      if (!st.is_ok() && first.is_ok()) first = st;
    });
  }
  for (auto& th : pool) th.join();
  return first;
}

Status unregister_all(const ClientOptions& opts, int threads, const std::vector<std::string>& ids,
                      StatsByMethod* stats) {
  std::vector<StatsByMethod> per(static_cast<std::size_t>(threads));
  const Status st = parallel(opts, threads, [&](int t, SchedulerClient& c) {
    for (std::size_t i = static_cast<std::size_t>(t); i < ids.size(); i += static_cast<std::size_t>(threads)) {
      const auto t0 = Clock::now();
      const Status s = c.unregister_session(ids[i]);
      per[static_cast<std::size_t>(t)]["unregister_session"].add(t0, s);
    }
    return Status::ok();
  });
  for (auto& p : per) merge_into(*stats, std::move(p));
  return st;
}

// --- load mode ----------------------------------------------------------------

struct LoadOptions {
  int sessions = 1000;
  int connections = 8;
  int long_poll_connections = 2;
  int long_poll_wait_ms = 1000;
  double duration_s = 10;
  double heartbeat_share = 0.2;  // of the calls on the driving connections
  std::string consumer = "/default";
};

int run_load(const ClientOptions& opts, const LoadOptions& lo, const std::string& json_path) {
  const std::string prefix = "bench-" + std::to_string(::getpid());
  std::vector<std::string> ids;
  for (int i = 0; i < lo.sessions; ++i) ids.push_back(session_id(prefix, i));

  std::printf("rpc-bench load: %d sessions on %s, %d connections + %d long-poll connections, %.0fs\n", lo.sessions,
              lo.consumer.c_str(), lo.connections, lo.long_poll_connections, lo.duration_s);
  StatsByMethod setup;
  {
    std::vector<MethodStats> per(static_cast<std::size_t>(lo.connections));
    const auto t0 = Clock::now();
    const Status st = parallel(opts, lo.connections, [&](int t, SchedulerClient& c) {
      const std::size_t n = ids.size(), k = static_cast<std::size_t>(lo.connections);
      return register_range(c, ids, n * static_cast<std::size_t>(t) / k, n * static_cast<std::size_t>(t + 1) / k,
                            lo.consumer, 1, &per[static_cast<std::size_t>(t)]);
    });
    for (auto& p : per) setup["register_session"].merge(std::move(p));
    if (!st.is_ok()) {
      std::cerr << "rpc-bench: " << st.to_string() << "\n";
      StatsByMethod cleanup;
      unregister_all(opts, lo.connections, ids, &cleanup).ignore_error();
      return 1;
    }
    std::printf("  registered %d sessions in %.0f ms\n", lo.sessions, ms_since(t0));
  }

  // Driving connections: each serves the sessions i with i % C == t, in turn.
  std::atomic<bool> stop{false};
  std::vector<StatsByMethod> per(static_cast<std::size_t>(lo.connections + lo.long_poll_connections));
  std::vector<std::thread> pool;
  std::atomic<int> dial_failures{0};
  const int hb_every = lo.heartbeat_share > 0 ? std::max(1, static_cast<int>(1.0 / lo.heartbeat_share + 0.5)) : 0;
  for (int t = 0; t < lo.connections; ++t) {
    pool.emplace_back([&, t] {
      auto c = dial(opts);
      if (!c) {
        ++dial_failures;
        return;
      }
      auto& mine = per[static_cast<std::size_t>(t)];
      auto& upd = mine["update_demand"];
      auto& hb = mine["heartbeat"];
      upd.micros.reserve(1 << 20);
      std::int64_t op = 0;
      std::size_t i = static_cast<std::size_t>(t);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string& id = ids[i];
        if (hb_every > 0 && op % hb_every == hb_every - 1) {
          const auto t0 = Clock::now();
          auto d = (*c)->heartbeat(id, 0, 0);
          hb.add(t0, d.status());
        } else {
          // A demand that changes every call: each one is real work for the
          // scheduler, not a no-op the engine can skip.
          wire::Demand demand;
          demand.__set_slots(1 + (op / static_cast<std::int64_t>(ids.size())) % 3);
          const auto t0 = Clock::now();
          const Status s = (*c)->update_demand(id, demand);
          upd.add(t0, s);
        }
        ++op;
        i += static_cast<std::size_t>(lo.connections);
        if (i >= ids.size()) i = static_cast<std::size_t>(t);
      }
    });
  }
  // Long polls: a driver waiting for news; they return when a demand change
  // moves the session's grant, or after the wait.
  for (int t = 0; t < lo.long_poll_connections; ++t) {
    pool.emplace_back([&, t] {
      auto c = dial(opts);
      if (!c) {
        ++dial_failures;
        return;
      }
      auto& lp = per[static_cast<std::size_t>(lo.connections + t)]["heartbeat_long_poll"];
      std::map<std::string, std::int64_t> known;
      std::size_t i = static_cast<std::size_t>(t) * 7919 % ids.size();
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string& id = ids[i];
        const auto t0 = Clock::now();
        auto d = (*c)->heartbeat(id, known[id], lo.long_poll_wait_ms);
        lp.add(t0, d.status());
        if (d) known[id] = d->version;
        i = (i + 13) % ids.size();
      }
    });
  }
  const auto started = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(lo.duration_s));
  stop = true;
  for (auto& th : pool) th.join();
  // Long polls may overrun the window by up to one wait; the window is what
  // the driving connections saw.
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();

  StatsByMethod run;
  for (auto& p : per) merge_into(run, std::move(p));
  StatsByMethod teardown;
  const auto u0 = Clock::now();
  const Status unreg = unregister_all(opts, lo.connections, ids, &teardown);
  const double unreg_ms = ms_since(u0);

  json out;
  out["mode"] = "load";
  out["sessions"] = lo.sessions;
  out["consumer"] = lo.consumer;
  out["connections"] = lo.connections;
  out["long_poll_connections"] = lo.long_poll_connections;
  out["long_poll_wait_ms"] = lo.long_poll_wait_ms;
  out["heartbeat_share"] = lo.heartbeat_share;
  out["duration_s"] = elapsed;
  out["dial_failures"] = dial_failures.load();
  out["setup"] = summarize(setup, 0);
  out["methods"] = summarize(run, elapsed);
  out["teardown"] = summarize(teardown, unreg_ms / 1000.0);
  out["teardown_ms"] = unreg_ms;
  out["unregister_ok"] = unreg.is_ok();
  std::int64_t total = 0;
  for (const auto& [m, j] : out["methods"].items()) total += j["calls"].get<std::int64_t>();
  out["total_calls_per_s"] = elapsed > 0 ? static_cast<double>(total) / elapsed : 0.0;

  std::printf("  %.1fs, %.0f calls/s in all\n", elapsed, out["total_calls_per_s"].get<double>());
  print_table(out["methods"]);
  std::printf("  unregistered %d sessions in %.0f ms%s\n", lo.sessions, unreg_ms,
              unreg.is_ok() ? "" : (" (" + unreg.to_string() + ")").c_str());
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return dial_failures.load() > 0 ? 1 : 0;
}

// --- recovery mode --------------------------------------------------------------

// The status code of GET path on 127.0.0.1:port, or -1 when nothing answers.
int http_status(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int code = -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {};
      const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
      // "HTTP/1.1 200 OK"
      if (n >= 12) code = std::atoi(buf + 9);
    }
  }
  ::close(fd);
  return code;
}

struct Daemon {
  pid_t pid = -1;
};

// Starts sessiond with its output appended to `log`. The clock starts just
// before fork: "from exec".
Result<Daemon> spawn(const std::string& sessiond, const std::string& config, const std::string& log) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::unavailable("cannot open " + log);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return Status::unavailable("fork failed");
  }
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const char* argv[] = {sessiond.c_str(), "--config", config.c_str(), nullptr};
    ::execv(sessiond.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(fd);
  return Daemon{pid};
}

bool alive(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == 0;
}

struct ReadyTimes {
  double readyz_ms = -1;
  double status_ms = -1;
};

// Polls /readyz and Admin.status side by side until both answer.
ReadyTimes wait_ready(const ClientOptions& opts, int metrics_port, pid_t pid, Clock::time_point t0, double timeout_s) {
  ReadyTimes r;
  const auto deadline = t0 + std::chrono::duration<double>(timeout_s);
  std::thread http([&] {
    while (Clock::now() < deadline) {
      if (http_status(metrics_port, "/readyz") == 200) {
        r.readyz_ms = ms_since(t0);
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  ClientOptions quick = opts;
  quick.connect_timeout_ms = 200;
  while (Clock::now() < deadline && alive(pid)) {
    auto c = SchedulerClient::connect(quick);
    if (c) {
      auto st = (*c)->status();
      if (st) {
        r.status_ms = ms_since(t0);
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  http.join();
  return r;
}

struct Allocation {
  std::size_t sessions = 0;
  std::int64_t granted = 0;
  std::size_t executors = 0;
  std::map<std::string, std::int64_t> by_session;
};

Result<Allocation> allocation(SchedulerClient& c, const std::string& prefix) {
  auto list = c.list_sessions("/");
  if (!list) return list.status();
  Allocation a;
  for (const auto& s : *list) {
    if (s.session_id.rfind(prefix, 0) != 0) continue;
    ++a.sessions;
    a.granted += s.granted_slots;
    a.executors += s.executors.size();
    a.by_session[s.session_id] = s.granted_slots;
  }
  return a;
}

struct RecoveryOptions {
  std::string sessiond;
  std::string config;
  std::string log = "sessiond.log";
  int metrics_port = 0;
  int sessions = 10'000;
  std::int64_t slots_per_session = 4;
  std::int64_t capacity_slots = 0;  // 0: wait only for the grant total to settle
  int connections = 8;
  double settle_timeout_s = 120;
};

int run_recovery(const ClientOptions& opts, const RecoveryOptions& ro, const std::string& json_path) {
  json out;
  out["mode"] = "recovery";
  out["sessions"] = ro.sessions;
  out["slots_per_session"] = ro.slots_per_session;
  auto fail = [&](const std::string& why, pid_t pid) {
    std::cerr << "rpc-bench recovery: " << why << "\n";
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    return 1;
  };

  auto first = spawn(ro.sessiond, ro.config, ro.log);
  if (!first) return fail(first.status().to_string(), -1);
  const auto t_first = Clock::now();
  const ReadyTimes cold = wait_ready(opts, ro.metrics_port, first->pid, t_first, 30);
  if (cold.status_ms < 0) return fail("sessiond did not come up (see " + ro.log + ")", first->pid);
  out["cold_start"] = {{"readyz_ms", cold.readyz_ms}, {"status_ms", cold.status_ms}};
  std::printf("rpc-bench recovery: cold start ready in %.1f ms (status %.1f ms)\n", cold.readyz_ms, cold.status_ms);

  const std::string prefix = "rec-" + std::to_string(::getpid());
  std::vector<std::string> ids;
  for (int i = 0; i < ro.sessions; ++i) ids.push_back(session_id(prefix, i));
  std::vector<MethodStats> per(static_cast<std::size_t>(ro.connections));
  const auto r0 = Clock::now();
  Status st = parallel(opts, ro.connections, [&](int t, SchedulerClient& c) {
    const std::size_t n = ids.size(), k = static_cast<std::size_t>(ro.connections);
    return register_range(c, ids, n * static_cast<std::size_t>(t) / k, n * static_cast<std::size_t>(t + 1) / k,
                          "/default", ro.slots_per_session, &per[static_cast<std::size_t>(t)]);
  });
  if (!st.is_ok()) return fail(st.to_string(), first->pid);
  const double register_ms = ms_since(r0);
  StatsByMethod reg;
  for (auto& p : per) reg["register_session"].merge(std::move(p));
  out["register"] = summarize(reg, register_ms / 1000.0);
  out["register_ms"] = register_ms;
  std::printf("  registered %d sessions (%lld slots each) in %.0f ms\n", ro.sessions,
              static_cast<long long>(ro.slots_per_session), register_ms);

  // Wait until the grant total stops moving (or reaches what fits).
  auto admin = dial(opts);
  if (!admin) return fail(admin.status().to_string(), first->pid);
  const std::int64_t wanted = static_cast<std::int64_t>(ro.sessions) * ro.slots_per_session;
  const std::int64_t expected = ro.capacity_slots > 0 ? std::min(wanted, ro.capacity_slots) : wanted;
  Allocation before;
  int stable = 0;
  const auto s0 = Clock::now();
  std::int64_t last = -1;
  while (ms_since(s0) < ro.settle_timeout_s * 1000) {
    auto a = allocation(**admin, prefix);
    if (!a) return fail(a.status().to_string(), first->pid);
    before = std::move(*a);
    stable = before.granted == last ? stable + 1 : 0;
    last = before.granted;
    if (before.granted >= expected || stable >= 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const double settle_ms = ms_since(s0);
  // Grants are written in the next group commit; give it a moment so the
  // comparison is about recovery, not about the last batch in flight.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  {
    auto a = allocation(**admin, prefix);
    if (!a) return fail(a.status().to_string(), first->pid);
    before = std::move(*a);
  }
  (*admin)->close();
  out["before"] = {{"sessions", before.sessions},
                   {"granted_slots", before.granted},
                   {"executors", before.executors},
                   {"settle_ms", settle_ms}};
  std::printf("  allocated %lld slots on %zu executors (settled in %.0f ms)\n", static_cast<long long>(before.granted),
              before.executors, settle_ms);

  ::kill(first->pid, SIGKILL);
  ::waitpid(first->pid, nullptr, 0);

  auto second = spawn(ro.sessiond, ro.config, ro.log);
  const auto t_exec = Clock::now();
  if (!second) return fail(second.status().to_string(), -1);
  const ReadyTimes warm = wait_ready(opts, ro.metrics_port, second->pid, t_exec, 120);
  if (warm.status_ms < 0) return fail("sessiond did not come back after kill -9 (see " + ro.log + ")", second->pid);
  std::printf("  after kill -9: /readyz 200 in %.1f ms, first Admin.status in %.1f ms\n", warm.readyz_ms,
              warm.status_ms);

  admin = dial(opts);
  if (!admin) return fail(admin.status().to_string(), second->pid);
  auto after = allocation(**admin, prefix);
  if (!after) return fail(after.status().to_string(), second->pid);
  std::size_t differing = 0;
  for (const auto& [id, g] : before.by_session) {
    auto it = after->by_session.find(id);
    if (it == after->by_session.end() || it->second != g) ++differing;
  }
  out["restart"] = {{"readyz_ms", warm.readyz_ms}, {"status_ms", warm.status_ms}};
  out["after"] = {{"sessions", after->sessions},
                  {"granted_slots", after->granted},
                  {"executors", after->executors},
                  {"sessions_with_other_grant", differing}};
  const bool same = after->sessions == before.sessions && after->granted == before.granted && differing == 0;
  out["allocations_preserved"] = same;
  std::printf("  after restart: %zu sessions listed (before %zu), %lld slots granted (before %lld), %zu differ: %s\n",
              after->sessions, before.sessions, static_cast<long long>(after->granted),
              static_cast<long long>(before.granted), differing, same ? "same" : "DIFFERENT");
  (*admin)->close();

  StatsByMethod teardown;
  const auto u0 = Clock::now();
  const Status unreg = unregister_all(opts, ro.connections, ids, &teardown);
  out["teardown_ms"] = ms_since(u0);
  out["unregister_ok"] = unreg.is_ok();
  ::kill(second->pid, SIGTERM);
  int status = 0;
  ::waitpid(second->pid, &status, 0);
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rpc-bench: sessiond's API under load, and its recovery after kill -9"};
  app.require_subcommand(1);
  ClientOptions opts;
  opts.recv_timeout_ms = 60'000;
  std::string json_path;
  app.add_option("--host", opts.host, "sessiond's address")->capture_default_str();
  app.add_option("--port", opts.port, "sessiond's API port")->capture_default_str();
  app.add_option("--token", opts.token, "an admin token")->required();
  app.add_option("--json", json_path, "write the figures here as JSON");

  LoadOptions lo;
  auto* load = app.add_subcommand("load", "demand updates, heartbeats and long polls against a running sessiond");
  load->add_option("--sessions", lo.sessions, "sessions registered for the run")->capture_default_str();
  load->add_option("--connections", lo.connections, "driving connections (one thread each)")->capture_default_str();
  load->add_option("--long-poll-connections", lo.long_poll_connections, "connections doing long polls")
      ->capture_default_str();
  load->add_option("--long-poll-ms", lo.long_poll_wait_ms, "wait_ms of the long polls")->capture_default_str();
  load->add_option("--duration", lo.duration_s, "seconds of load")->capture_default_str();
  load->add_option("--heartbeat-share", lo.heartbeat_share, "share of heartbeats (wait_ms=0) among driving calls")
      ->capture_default_str();
  load->add_option("--consumer", lo.consumer, "the sessions' consumer (a leaf)")->capture_default_str();

  RecoveryOptions ro;
  auto* rec = app.add_subcommand("recovery", "start sessiond, fill it, kill -9, restart, compare");
  rec->add_option("--sessiond", ro.sessiond, "the sessiond binary")->required();
  rec->add_option("--config", ro.config, "its configuration file (ports must match --port/--metrics-port)")->required();
  rec->add_option("--metrics-port", ro.metrics_port, "its HTTP port (/readyz)")->required();
  rec->add_option("--log", ro.log, "sessiond's output goes here")->capture_default_str();
  rec->add_option("--sessions", ro.sessions, "sessions registered before the kill")->capture_default_str();
  rec->add_option("--slots", ro.slots_per_session, "initial demand of each session, in slots")->capture_default_str();
  rec->add_option("--capacity-slots", ro.capacity_slots, "slots the backend has (0: unknown)")->capture_default_str();
  rec->add_option("--connections", ro.connections, "connections registering")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  // Thrift prints every refused connect; the readiness poll makes thousands.
  apache::thrift::GlobalOutput.setOutputFunction([](const char*) {});
  if (load->parsed()) return run_load(opts, lo, json_path);
  return run_recovery(opts, ro, json_path);
}
