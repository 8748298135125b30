// The Kubernetes backend: one pod per executor, created through the API
// server as a well-behaved controller (list+watch, paced requests, backoff),
// with nodes (or a namespace quota) as the hosts sessiond places slots on.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backend/executor_backend.hpp"
#include "k8s_config.hpp"
#include "kube_client.hpp"

namespace sched::backend {

namespace k8s {
// What the backend has done, for its benchmark and the daemon's metrics.
struct BackendStats {
  ClientStats client;
  std::uint64_t pods_created = 0;
  std::uint64_t pods_deleted = 0;
  std::uint64_t create_failures = 0;
  std::uint64_t orphans_deleted = 0;
  std::uint64_t pods_resized = 0;     // in-place resizes the API server took
  std::uint64_t resize_failures = 0;  // refused (not counting a server without pods/resize)
  std::uint64_t watch_relists = 0;
  std::uint64_t watch_resumes = 0;
  // launch() to the create request leaving, per pod (the last 100,000).
  std::vector<double> grant_to_request_ms;
  // launch() to the pod reported Running.
  std::vector<double> grant_to_running_ms;
};
}  // namespace k8s

// Thread-safe. Watches run on threads of their own (a watch blocks for
// minutes), requests on a small pool of workers; the daemon's strand is
// never blocked. Pods carry the label session-scheduler.io/instance=<id>,
// by which a restarted daemon finds (and adopts or deletes) them.
class K8sBackend final : public ExecutorBackend {
 public:
  static Result<std::unique_ptr<K8sBackend>> create(const BackendContext& context);
  // With the configuration already read (tests, the benchmark).
  static Result<std::unique_ptr<K8sBackend>> create(k8s::K8sBackendConfig config, const std::string& instance_id);

  ~K8sBackend() override;
  K8sBackend(const K8sBackend&) = delete;
  K8sBackend& operator=(const K8sBackend&) = delete;

  std::string_view name() const override { return "k8s"; }
  // Nodes mode: lists nodes (and other pods) and starts watching them.
  Result<std::vector<core::HostSpec>> hosts() override;
  Status start(EventSink sink) override;
  void watch_hosts(HostSink sink) override;
  Result<ReconcileResult> reconcile(const std::vector<KnownExecutor>& known) override;
  Status launch(const LaunchRequest& request) override;
  // PATCHes the pod's pods/resize subresource (in-place pod resize) so its
  // cpu and memory requests follow its slots.
  Status resize(const std::string& executor_id, const core::Resources& resources) override;
  Status stop(const std::string& executor_id, std::chrono::milliseconds grace) override;
  void shutdown() override;

  k8s::BackendStats stats() const;
  std::map<std::string, std::uint64_t> counters() const override;

  class Core;

 private:
  explicit K8sBackend(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

// Registers "k8s" with the backend registry.
Status register_k8s_backend();

}  // namespace sched::backend
