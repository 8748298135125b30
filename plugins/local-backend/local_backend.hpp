// The embedded default backend: executors are processes on this machine,
// each the leader of its own session, watched through pidfds.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backend/executor_backend.hpp"
#include "class_data.hpp"
#include "core/host_pool.hpp"
#include "warm_pool.hpp"

namespace sched::backend {

// The `backend.local` section of the configuration:
//
//   hosts: [{name: h1, cpu: 4, memory: 16Gi}, ...]   # virtual hosts, all on this machine
// or, without hosts, one host:
//   host: NAME              # default: this machine's hostname
//   cpu: 8                  # default: the machine's cores
//   memory: 30Gi            # default: MemTotal minus reserve_memory
//   gpu: 1                  # default: the /dev/nvidiaN devices
//   reserve_memory: 1Gi     # kept for the daemon and the system; default 1Gi
// and in both forms:
//   orphan_grace: 2s        # SIGTERM to SIGKILL for orphans found by reconcile(); default 2s
//   warm_pool: 0            # processes kept started ahead of need per warm command; default 0: none
//   warm_pool_idle: 10m     # a warm command unused this long has its processes let go
//   warm_pool_refill_delay: 3s   # after a hand-off, before its replacement starts
//   warm_pool_commands: 4   # distinct warm commands kept warm at once
//   class_data: true        # class-data archives for java executors started cold; default true
//   class_data_dir: DIR     # where archives are kept; default ~/.cache/session-scheduler/class-data
//   class_data_train: 20s   # how long the first executor of a JVM command records its classes
struct LocalBackendConfig {
  std::vector<core::HostSpec> hosts;
  std::chrono::milliseconds orphan_grace{2000};
  local::WarmPoolConfig warm_pool;
  local::ClassDataConfig class_data;  // dir empty: local::default_class_data_dir
};

// Reads the section (null or absent: all defaults). Errors name the file,
// line and field: "sessiond.yaml:7: backend.local.hosts[0].cpu: ...".
Result<LocalBackendConfig> read_local_backend_config(const YAML::Node* section, const std::string& source);

// Executors as local processes. Every executor is spawned with setsid() so
// it outlives the daemon; it carries SESSIOND_INSTANCE=<instance_id> (and
// SESSIOND_EXECUTOR_ID, SESSIOND_SESSION_ID, SESSIOND_HOST, SESSIOND_SLOTS),
// by which a restarted daemon finds it again. Output goes to
// <data_dir>/executors/<executor_id>/executor.log.
//
// Thread-safe: launch() and stop() may be called from any thread while the
// io_context's threads run the watchers. No method blocks for long; events
// reach the sink from the io_context's threads.
//
// REQUIRES: the backend is destroyed before its io_context (its pidfds and
// timers belong to that io_context).
class LocalBackend final : public ExecutorBackend {
 public:
  // Fails on a missing io_context, data_dir or instance_id, a bad
  // configuration section, or a kernel without pidfd_open.
  static Result<std::unique_ptr<LocalBackend>> create(const BackendContext& context);

  // Shuts down (executors keep running).
  ~LocalBackend() override;
  LocalBackend(const LocalBackend&) = delete;
  LocalBackend& operator=(const LocalBackend&) = delete;

  std::string_view name() const override { return "local"; }
  Result<std::vector<core::HostSpec>> hosts() override;
  Status start(EventSink sink) override;
  // Known executors are found by backend_id ("pid:<pid>:<starttime>"), or,
  // when it is empty, by their SESSIOND_EXECUTOR_ID mark.
  Result<ReconcileResult> reconcile(const std::vector<KnownExecutor>& known) override;
  // The request's host must be one of hosts() (or empty: the first).
  // Invalid requests (empty command, duplicate or path-unsafe executor id)
  // are errors; a command that cannot run is a kLaunchFailed event.
  Status launch(const LaunchRequest& request) override;
  bool starts_ahead_of_slots() const override { return true; }
  // The signals go to the executor's whole process group. A second stop()
  // may shorten the grace, never lengthen it.
  Status stop(const std::string& executor_id, std::chrono::milliseconds grace) override;
  // The warm pool's: warm_started, warm_taken, warm_missed, warm_exited, warm_let_go.
  std::map<std::string, std::uint64_t> counters() const override;
  // No event reaches the sink once this returns.
  void shutdown() override;

 private:
  class Core;
  explicit LocalBackend(std::shared_ptr<Core> core);
  // Shared with the handlers in flight so that none outlives what it touches.
  std::shared_ptr<Core> core_;
};

// Registers the factory under "local" with register_backend(). Calling it
// again is harmless.
Status register_local_backend();

}  // namespace sched::backend
