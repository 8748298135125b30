// k8s-bench: the Kubernetes backend against a real API server with many
// simulated nodes (bench/k8s/run.sh starts one): pods created per second,
// time from a grant (launch()) to the pod's creation request and to its
// Running report, and the requests per second the backend sends at steady
// state and while creating. Prints figures and writes a JSON report; never
// fails on a slow number.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "k8s_backend.hpp"

namespace {

using namespace sched;
using Clock = std::chrono::steady_clock;

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Counter {
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  int exited = 0;
  int failed = 0;
  void add(const backend::ExecutorEvent& ev) {
    std::lock_guard lock(mu);
    if (ev.kind == backend::ExecutorEventKind::kRunning) ++running;
    if (ev.kind == backend::ExecutorEventKind::kExited) ++exited;
    if (ev.kind == backend::ExecutorEventKind::kLaunchFailed) ++failed;
    cv.notify_all();
  }
  bool wait(const std::function<bool()>& pred, std::chrono::seconds limit) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, pred);
  }
};

backend::LaunchRequest one_cpu_executor(const std::string& id, const std::string& host) {
  backend::LaunchRequest r;
  r.executor_id = id;
  r.session_id = "bench";
  r.consumer = "/bench";
  r.host = host;
  r.slots = 1;
  r.resources = core::Resources::cpu_mem(1000, 1024);
  r.command = {"/opt/spark/bin/executor"};
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8s-bench: the Kubernetes backend's pod throughput and request rate"};
  std::string kubeconfig, ns = "bench", out = "bench/out/k8s-bench.json";
  int pods = 2000;
  double qps = 50, burst = 100;
  int workers = 4;
  int steady_seconds = 30;
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig of the API server")->required();
  app.add_option("--namespace", ns, "executor namespace (must exist)");
  app.add_option("--pods", pods, "executor pods to create");
  app.add_option("--qps", qps, "the backend's request rate bound");
  app.add_option("--burst", burst, "the backend's burst");
  app.add_option("--workers", workers, "request workers");
  app.add_option("--steady-seconds", steady_seconds, "how long to count requests at steady state");
  app.add_option("--out", out, "JSON report");
  CLI11_PARSE(app, argc, argv);

  backend::k8s::K8sBackendConfig config;
  config.kubeconfig = kubeconfig;
  config.ns = ns;
  config.image = "registry.invalid/spark-executor:bench";
  config.qps = qps;
  config.burst = burst;
  config.request_workers = workers;
  auto made = backend::K8sBackend::create(config, "bench");
  if (!made) {
    std::cerr << "k8s-bench: " << made.status().message() << "\n";
    return 1;
  }
  auto& be = **made;
  const auto t_hosts = Clock::now();
  auto hosts = be.hosts();
  if (!hosts) {
    std::cerr << "k8s-bench: " << hosts.status().message() << "\n";
    return 1;
  }
  const double list_s = seconds_since(t_hosts);
  Counter events;
  if (auto s = be.start([&](backend::ExecutorEvent ev) { events.add(ev); }); !s.is_ok()) {
    std::cerr << "k8s-bench: " << s.message() << "\n";
    return 1;
  }
  std::atomic<int> host_events{0};
  std::vector<double> single_running;
  be.watch_hosts([&](backend::HostEvent) { ++host_events; });
  (void)be.reconcile({});
  std::cout << "hosts: " << hosts->size() << " nodes listed and watched in " << list_s << " s\n";

  auto host_of = [&](int i) { return (*hosts)[static_cast<std::size_t>(i) % hosts->size()].name; };

  // Idle: what does a backend with nothing to do cost the API server?
  auto idle0 = be.stats().client.total();
  std::this_thread::sleep_for(std::chrono::seconds(steady_seconds));
  const double idle_rps = static_cast<double>(be.stats().client.total() - idle0) / steady_seconds;

  // Burst of grants: `pods` executors of 1 cpu over the nodes.
  const auto before = be.stats().client.total();
  const auto t0 = Clock::now();
  for (int i = 0; i < pods; ++i) {
    if (auto s = be.launch(one_cpu_executor("bench-" + std::to_string(i), host_of(i))); !s.is_ok())
      std::cerr << "launch: " << s.message() << "\n";
  }
  const bool all_running =
      events.wait([&] { return events.running + events.failed >= pods; }, std::chrono::seconds(600));
  const double create_s = seconds_since(t0);
  const auto st = be.stats();
  const double create_rps = static_cast<double>(st.client.total() - before) / create_s;

  // Steady state with every pod running.
  auto steady0 = be.stats().client.total();
  std::this_thread::sleep_for(std::chrono::seconds(steady_seconds));
  const auto steady_stats = be.stats();
  const double steady_rps = static_cast<double>(steady_stats.client.total() - steady0) / steady_seconds;

  // Single grants, 200 ms apart: the grant-to-request time without a queue
  // in front (the burst above measures the rate bound's queue).
  std::vector<double> single;
  for (int i = 0; i < 20; ++i) {
    (void)be.launch(one_cpu_executor("single-" + std::to_string(i), host_of(i)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  events.wait([&] { return events.running + events.failed >= pods + 20; }, std::chrono::seconds(60));
  {
    const auto s = be.stats().grant_to_request_ms;
    single.assign(s.end() - std::min<std::ptrdiff_t>(20, static_cast<std::ptrdiff_t>(s.size())), s.end());
    const auto r = be.stats().grant_to_running_ms;
    const std::vector<double> run(r.end() - std::min<std::ptrdiff_t>(20, static_cast<std::ptrdiff_t>(r.size())),
                                  r.end());
    std::cout << "single grants: to request p50 " << pct(single, 0.5) << " ms, to Running p50 " << pct(run, 0.5)
              << " ms\n";
    single_running = run;
  }
  for (int i = 0; i < 20; ++i) (void)be.stop("single-" + std::to_string(i), std::chrono::milliseconds(0));

  // And all of them stopped.
  const auto t_del = Clock::now();
  for (int i = 0; i < pods; ++i) (void)be.stop("bench-" + std::to_string(i), std::chrono::milliseconds(0));
  events.wait([&] { return events.exited >= events.running; }, std::chrono::seconds(600));
  const double delete_s = seconds_since(t_del);
  const auto end = be.stats();
  be.shutdown();

  nlohmann::json report = {
      {"nodes", hosts->size()},
      {"pods", pods},
      {"qps_bound", qps},
      {"burst", burst},
      {"workers", workers},
      {"all_running", all_running},
      {"launch_failed", events.failed},
      {"list_and_watch_nodes_s", list_s},
      // Creates sent over the time the last one left, and pods created over
      // the time until the last one ran (kwok and etcd share the 2 cores).
      {"create_requests_per_s", pods / std::max(1e-9, pct(st.grant_to_request_ms, 1.0) / 1000.0)},
      {"pods_created_per_s", st.pods_created / create_s},
      {"pods_running_after_s", create_s},
      {"grant_to_create_request_ms",
       {{"p50", pct(st.grant_to_request_ms, 0.5)},
        {"p99", pct(st.grant_to_request_ms, 0.99)},
        {"max", pct(st.grant_to_request_ms, 1.0)}}},
      {"grant_to_running_ms", {{"p50", pct(st.grant_to_running_ms, 0.5)}, {"p99", pct(st.grant_to_running_ms, 0.99)}}},
      {"single_grant_to_create_request_ms", {{"p50", pct(single, 0.5)}, {"max", pct(single, 1.0)}}},
      {"single_grant_to_running_ms", {{"p50", pct(single_running, 0.5)}, {"max", pct(single_running, 1.0)}}},
      {"requests_per_s_idle", idle_rps},
      {"requests_per_s_while_creating", create_rps},
      {"requests_per_s_steady", steady_rps},
      {"pods_deleted_per_s", static_cast<double>(end.pods_deleted) / delete_s},
      {"requests", end.client.requests},
      {"retries", end.client.retries},
      {"throttled_by_bucket", end.client.throttled},
      {"server_429", end.client.server_throttled},
      {"watch_relists", end.watch_relists},
      {"host_events", host_events.load()},
  };
  std::cout << report.dump(2) << "\n";
  std::ofstream(out) << report.dump(2) << "\n";
  return 0;
}
