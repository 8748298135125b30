// The one interface every resource backend (local processes, Kubernetes
// pods, Mesos) implements: where executors can run, and starting, watching,
// stopping and re-adopting them. The daemon decides; a backend only carries
// decisions out and reports what happened.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "core/host_pool.hpp"
#include "core/resources.hpp"

namespace boost::asio {
class io_context;
}
namespace YAML {
class Node;
}

namespace sched::backend {

// One executor to start. `command`, `env` and `working_dir` have their
// placeholders ({executor_id}, {slots}, ...) already replaced.
struct LaunchRequest {
  std::string executor_id;
  std::string session_id;
  std::string consumer;
  std::string host;
  std::int64_t slots = 0;
  core::Resources resources;  // slots x the session's shape
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::string working_dir;
  std::string image;                                   // container backends; empty: their default
  std::map<std::string, std::string> backend_options;  // as the session gave them
  // A warm start (LaunchSpec.warm_command), taken literally: a process it
  // started may stand in for `command` once handed command[warm_args_from:]
  // and `env`. Backends without a warm pool ignore it.
  std::vector<std::string> warm_command;
  std::size_t warm_args_from = 0;
};

enum class ExecutorEventKind : std::uint8_t {
  kRunning,       // it started (for local processes: spawned)
  kLaunchFailed,  // it never ran; `detail` says why
  kExited,        // it ran and is gone; exit_code, detail
};

struct ExecutorEvent {
  ExecutorEventKind kind = ExecutorEventKind::kRunning;
  std::string executor_id;
  std::string backend_id;  // the backend's handle (pid, pod name), for the store
  int exit_code = 0;       // kExited: the exit status, or -N for signal N; -1000 unknown
  std::string detail;
};

// An executor the daemon's store knows about, for reconcile().
struct KnownExecutor {
  std::string executor_id;
  std::string host;
  std::string backend_id;     // as reported in its kRunning event; may be empty
  core::Resources resources;  // what its slots take now (resize() may not have reached the backend)
};

// A change in where executors can run, from a backend that watches its
// capacity: Kubernetes nodes come and go, get cordoned, and other workloads'
// pods take room on them.
struct HostEvent {
  enum class Kind : std::uint8_t {
    kUpsert,   // the host exists with this capacity (new, or changed)
    kRemoved,  // the host is gone; its executors are lost
  };
  Kind kind = Kind::kUpsert;
  core::HostSpec host;    // kRemoved: only the name
  bool cordoned = false;  // kUpsert: takes no new slots; its slots are revoked with grace
  std::string detail;     // why, for the log ("node cordoned", "NotReady")
};

struct ReconcileResult {
  std::vector<std::string> adopted;  // known and still running: watched again
  std::vector<std::string> gone;     // known but not running any more
  int orphans_stopped = 0;           // running, ours, unknown to the store: stopped
};

class ExecutorBackend {
 public:
  // Called with every event, from any thread; the daemon moves it onto its
  // own strand. Must not block.
  using EventSink = std::function<void(ExecutorEvent)>;
  // Called with host changes, from any thread; must not block.
  using HostSink = std::function<void(HostEvent)>;

  virtual ~ExecutorBackend() = default;

  virtual std::string_view name() const = 0;

  // The hosts executors can run on, with the capacity each offers.
  virtual Result<std::vector<core::HostSpec>> hosts() = 0;

  // Starts watching; events go to `sink` from now on. Called once, before
  // reconcile() and launch().
  virtual Status start(EventSink sink) = 0;

  // Reports host changes from now on. Backends whose hosts never change
  // (local processes) ignore it. Called once, after start().
  virtual void watch_hosts(HostSink /*sink*/) {}

  // After a restart: adopts the executors in `known` that still run, reports
  // the ones gone, and stops executors that carry this daemon's instance
  // mark but are not in `known` (launched just before a crash, never
  // recorded as wanted). Called once, after start(), before any launch().
  virtual Result<ReconcileResult> reconcile(const std::vector<KnownExecutor>& known) = 0;

  // Begins starting one executor; its outcome arrives as an event (kRunning
  // or kLaunchFailed). An error here means nothing was started.
  virtual Status launch(const LaunchRequest& request) = 0;

  // The executor's slots changed while it runs (slots moved between sessions
  // on its host without a process starting or stopping): make what it is
  // charged with on the host follow, so the host's own admission sees the
  // same room the scheduler does. Called on the daemon's strand in the order
  // of the moves, so it must not block: the last size asked is the one to
  // reach. Best effort: a failure is logged and counted, never undoes the
  // move. Backends whose executors take no fixed reservation (local
  // processes) ignore it.
  virtual Status resize(const std::string& /*executor_id*/, const core::Resources& /*resources*/) {
    return Status::ok();
  }

  // Whether an executor may be launched with no slots yet, ahead of slots
  // still being revoked from others on its host (sessions.start_ahead): its
  // process then runs beside theirs for up to their grace period. True where
  // that costs only a brief overcommit (local processes); false where an
  // executor's launch reserves room the host does not have yet.
  virtual bool starts_ahead_of_slots() const { return false; }

  // Stops an executor: politely now (SIGTERM, pod deletion with grace),
  // forcibly after `grace`. Its kExited event follows. Stopping an executor
  // that is already gone is not an error.
  virtual Status stop(const std::string& executor_id, std::chrono::milliseconds grace) = 0;

  // Running totals of what the backend did ("request_create", "retry",
  // "pod_created", ...), for /metrics. Thread-safe; cheap.
  virtual std::map<std::string, std::uint64_t> counters() const { return {}; }

  // Stops watching and forgets timers. Executors keep running: a daemon that
  // shuts down (or dies) does not take its executors with it.
  virtual void shutdown() = 0;
};

// What a backend factory is given.
struct BackendContext {
  boost::asio::io_context* io = nullptr;  // for timers and watching; runs on the daemon's I/O threads
  std::string data_dir;                   // the daemon's state directory
  std::string instance_id;                // marks this daemon's executors (stable across restarts)
  const YAML::Node* config = nullptr;     // the backend's own section of the configuration; may be null
  std::string config_source;              // file name, for error messages
};

using BackendFactory = std::function<Result<std::unique_ptr<ExecutorBackend>>(const BackendContext&)>;

// Backends by name ("local", "k8s", "mesos"). Each backend's library
// registers itself with register_backend() from a function the daemon calls
// at start-up (no static-initialisation tricks).
Status register_backend(const std::string& name, BackendFactory factory);
Result<std::unique_ptr<ExecutorBackend>> create_backend(const std::string& name, const BackendContext& context);
std::vector<std::string> backend_names();

}  // namespace sched::backend
