// LocalBackend: launching, watching (pidfd + Asio), stopping and re-adopting
// executors that are processes on this machine.
#include "local_backend.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <unordered_map>

#include "process.hpp"
#include "warm_pool.hpp"

namespace sched::backend {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// One process the backend watches: an executor, or an orphan being killed.
struct Proc {
  enum class State : std::uint8_t {
    kLaunching,  // id reserved, spawn under way on the caller's thread
    kWatched,    // running (or exited and not yet noticed)
    kDone,       // exit reported, or the backend shut down
  };
  State state = State::kLaunching;
  std::string executor_id;
  std::string session_id;
  std::string host;
  pid_t pid = 0;
  std::uint64_t starttime = 0;
  bool orphan = false;
  // stop() during kLaunching: applied once the pid is known.
  std::optional<std::chrono::milliseconds> pending_stop;
  std::optional<Clock::time_point> kill_at;  // SIGTERM sent; SIGKILL due then
  std::unique_ptr<asio::posix::stream_descriptor> pidfd;
  std::unique_ptr<asio::steady_timer> kill_timer;
};
using ProcPtr = std::shared_ptr<Proc>;

// Fits in a path component and an environment value.
bool safe_executor_id(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.size() > 200) return false;
  for (const char c : id) {
    if (c == '/' || c == '\0' || c == '\n') return false;
  }
  return true;
}

// No exception leaves an Asio handler: what escapes is logged and dropped.
template <typename F>
void guarded(F&& body) noexcept {
  try {
    body();
  } catch (const std::exception& e) {
    spdlog::error("local backend: handler failed: {}", e.what());
  } catch (...) {
    spdlog::error("local backend: handler failed");
  }
}

std::string describe_exit(int code) {
  if (code >= 0) return "exited with status " + std::to_string(code);
  if (code == local::kUnknownExitCode) return "exited";
  const int sig = -code;
  const char* name = sigabbrev_np(sig);
  return "killed by signal " + std::to_string(sig) + (name != nullptr ? std::string(" (SIG") + name + ")" : "");
}

}  // namespace

class LocalBackend::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(asio::io_context& io, std::string data_dir, std::string instance_id, LocalBackendConfig config)
      : io_(io),
        data_dir_(std::move(data_dir)),
        instance_id_(std::move(instance_id)),
        config_(std::move(config)),
        base_env_(local::current_environment()) {
    if (config_.warm_pool.size > 0) {
      auto env = base_env_;
      env["SESSIOND_INSTANCE"] = instance_id_;
      env["SESSIOND_WARM"] = "1";
      pool_ = local::WarmPool::create(io_, (fs::path(data_dir_) / "warm").string(), std::move(env), config_.warm_pool);
    }
    if (config_.class_data.enabled) {
      auto cd = config_.class_data;
      if (cd.dir.empty()) cd.dir = local::default_class_data_dir(base_env_, data_dir_);
      class_data_ = local::ClassDataCache::create(io_, std::move(cd), base_env_);
    }
  }

  std::map<std::string, std::uint64_t> counters() const {
    auto out = pool_ ? pool_->counters() : std::map<std::string, std::uint64_t>{};
    if (class_data_) out.merge(class_data_->counters());
    return out;
  }

  const std::vector<core::HostSpec>& hosts() const { return config_.hosts; }

  Status start(EventSink sink) {
    std::lock_guard lock(mu_);
    if (closed_) return Status::failed_precondition("local backend: start() after shutdown()");
    if (started_) return Status::failed_precondition("local backend: start() called twice");
    if (!sink) return Status::invalid_argument("local backend: start() needs an event sink");
    {
      std::lock_guard sink_lock(sink_mu_);
      sink_ = std::move(sink);
    }
    started_ = true;
    return Status::ok();
  }

  Status launch(const LaunchRequest& req) {
    SCHED_RETURN_IF_ERROR(validate(req));
    ProcPtr proc = std::make_shared<Proc>();
    proc->executor_id = req.executor_id;
    proc->session_id = req.session_id;
    proc->host = req.host.empty() ? config_.hosts.front().name : req.host;
    {
      std::lock_guard lock(mu_);
      if (!started_) return Status::failed_precondition("local backend: launch() before start()");
      if (closed_) return Status::failed_precondition("local backend: launch() after shutdown()");
      if (!procs_.emplace(req.executor_id, proc).second) {
        return Status::already_exists("executor '" + req.executor_id + "' is already running");
      }
    }

    // The slow part (directories, spawn) runs unlocked: watchers keep going.
    std::optional<std::string> failure;
    int pidfd = -1;
    pid_t pid = 0;
    std::uint64_t starttime = 0;
    std::optional<local::WarmProcess> warm;
    if (pool_ && !req.warm_command.empty() && req.warm_args_from < req.command.size())
      warm = pool_->take(req.warm_command, req.working_dir);
    if (warm && hand_off(req, proc->host, *warm)) {
      pid = warm->pid;
      pidfd = warm->pidfd;
      starttime = warm->starttime;
    } else if (auto spawned = spawn(req, proc->host); !spawned) {
      failure = spawned.status().message();
    } else {
      pid = *spawned;
      auto fd = local::open_pidfd(pid);
      auto st = local::read_proc_stat(pid);
      if (!fd || !st) {
        // Unwatchable means unstoppable later: take it down now.
        local::signal_group(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        if (fd) ::close(*fd);
        failure = fd ? "cannot read /proc/" + std::to_string(pid) + "/stat" : fd.status().message();
      } else {
        pidfd = *fd;
        starttime = st->starttime;
      }
    }

    std::lock_guard lock(mu_);
    proc->pid = pid;
    proc->starttime = starttime;
    if (closed_) {
      // Shut down meanwhile: like every executor, this one keeps running unwatched.
      if (pidfd >= 0) ::close(pidfd);
      return Status::ok();
    }
    if (!failure) {
      proc->pidfd = std::make_unique<asio::posix::stream_descriptor>(io_);
      boost::system::error_code ec;
      proc->pidfd->assign(pidfd, ec);
      if (ec) {
        ::close(pidfd);
        local::signal_group(proc->pid, SIGKILL);
        ::waitpid(proc->pid, nullptr, 0);
        failure = "cannot watch pid " + std::to_string(proc->pid) + ": " + ec.message();
      }
    }
    if (failure) {
      proc->state = Proc::State::kDone;
      procs_.erase(req.executor_id);
      spdlog::warn("local backend: executor {} of session {} failed to launch: {}", req.executor_id, req.session_id,
                   *failure);
      ExecutorEvent ev{ExecutorEventKind::kLaunchFailed, req.executor_id, "", 0, *failure};
      asio::post(io_, [self = shared_from_this(), ev = std::move(ev)]() mutable { self->emit(std::move(ev)); });
      return Status::ok();
    }
    proc->state = Proc::State::kWatched;
    spdlog::info("local backend: executor {} of session {} started as pid {} on host {}", req.executor_id,
                 req.session_id, proc->pid, proc->host);
    if (proc->pending_stop) signal_stop(proc, *proc->pending_stop);
    // kRunning and then the watch, from one handler: kExited cannot overtake kRunning.
    asio::post(io_, [self = shared_from_this(), proc] { guarded([&] { self->on_started(proc); }); });
    return Status::ok();
  }

  Status stop(const std::string& executor_id, std::chrono::milliseconds grace) {
    std::lock_guard lock(mu_);
    if (closed_) return Status::failed_precondition("local backend: stop() after shutdown()");
    auto it = procs_.find(executor_id);
    if (it == procs_.end()) {
      spdlog::debug("local backend: stop of executor {}: not running, nothing to do", executor_id);
      return Status::ok();
    }
    const ProcPtr& p = it->second;
    if (p->state == Proc::State::kLaunching) {
      p->pending_stop = p->pending_stop ? std::min(*p->pending_stop, grace) : grace;
      return Status::ok();
    }
    signal_stop(p, grace);
    return Status::ok();
  }

  Result<ReconcileResult> reconcile(const std::vector<KnownExecutor>& known) {
    {
      std::lock_guard lock(mu_);
      if (!started_) return Status::failed_precondition("local backend: reconcile() before start()");
      if (closed_) return Status::failed_precondition("local backend: reconcile() after shutdown()");
    }
    const auto marked = local::scan_marked_processes(instance_id_);
    std::unordered_map<std::string, const local::MarkedProcess*> marked_by_id;
    for (const auto& m : marked) marked_by_id.emplace(m.executor_id, &m);

    ReconcileResult result;
    std::set<std::string> known_ids;
    std::set<pid_t> adopted_pids;  // an executor from the warm pool carries no executor mark
    for (const auto& k : known) {
      known_ids.insert(k.executor_id);
      std::optional<local::ProcessId> id = local::parse_backend_id(k.backend_id);
      std::string session;
      if (auto m = marked_by_id.find(k.executor_id); m != marked_by_id.end()) {
        session = m->second->session_id;
        // Launched, but its kRunning never reached the store: the mark finds it.
        if (k.backend_id.empty()) id = local::ProcessId{m->second->pid, m->second->starttime};
      }
      if (!id) id = handed_off_process(k.executor_id);
      if (id && adopt(k, *id, session)) {
        adopted_pids.insert(id->pid);
        result.adopted.push_back(k.executor_id);
      } else {
        result.gone.push_back(k.executor_id);
        spdlog::info("local backend: executor {} (backend id '{}') is gone", k.executor_id, k.backend_id);
      }
    }
    for (const auto& m : marked) {
      if (known_ids.count(m.executor_id) != 0 || adopted_pids.count(m.pid) != 0) continue;
      if (kill_orphan(m)) ++result.orphans_stopped;
    }
    spdlog::info("local backend: reconciled: {} adopted, {} gone, {} orphans stopped", result.adopted.size(),
                 result.gone.size(), result.orphans_stopped);
    return result;
  }

  void shutdown() {
    std::vector<ProcPtr> procs;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
      if (pool_) pool_->shutdown();
      if (class_data_) class_data_->shutdown();
      for (auto& [id, p] : procs_) procs.push_back(p);
      for (auto& [pid, p] : orphans_) procs.push_back(p);
      procs_.clear();
      orphans_.clear();
      for (auto& p : procs) forget(*p);
    }
    // Waits out an emit() in flight, so that none follows this return.
    std::lock_guard sink_lock(sink_mu_);
    spdlog::info("local backend: shut down; {} processes left running unwatched", procs.size());
  }

 private:
  Status validate(const LaunchRequest& req) const {
    if (!safe_executor_id(req.executor_id)) {
      return Status::invalid_argument("executor id '" + req.executor_id +
                                      "' is not usable as a directory name (empty, '.', '..', '/', too long)");
    }
    if (req.command.empty() || req.command[0].empty()) {
      return Status::invalid_argument("executor '" + req.executor_id + "' has no command");
    }
    if (!req.host.empty()) {
      bool found = false;
      for (const auto& h : config_.hosts) found = found || h.name == req.host;
      if (!found)
        return Status::invalid_argument("executor '" + req.executor_id + "': unknown host '" + req.host + "'");
    }
    for (const auto& [k, v] : req.env) {
      if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos ||
          v.find('\0') != std::string::npos) {
        return Status::invalid_argument("executor '" + req.executor_id + "': bad environment variable '" + k + "'");
      }
    }
    return Status::ok();
  }

  // Directories, log file, environment, then the process. The error is the
  // kLaunchFailed detail.
  Result<pid_t> spawn(const LaunchRequest& req, const std::string& host) const {
    const fs::path exec_dir = fs::path(data_dir_) / "executors" / req.executor_id;
    const fs::path work_dir = req.working_dir.empty() ? exec_dir : fs::path(req.working_dir);
    std::error_code ec;
    for (const fs::path& dir : {exec_dir, work_dir}) {
      fs::create_directories(dir, ec);
      if (ec) return Status::unavailable("cannot create directory '" + dir.string() + "': " + ec.message());
    }
    auto log_fd = local::open_output_file((exec_dir / "executor.log").string());
    if (!log_fd) return log_fd.status();

    local::SpawnSpec spec;
    // A cold JVM: with a class-data archive it maps its classes instead of loading them.
    spec.argv = class_data_ ? class_data_->apply(req.command) : req.command;
    spec.env = base_env_;
    for (auto& [k, v] : executor_env(req, host)) spec.env[k] = std::move(v);
    spec.working_dir = work_dir.string();
    spec.output_fd = *log_fd;
    auto pid = local::spawn_in_new_session(spec);
    ::close(*log_fd);
    return pid;
  }

  // What an executor's environment adds to the daemon's: the request's,
  // then the marks, which come last: a request cannot forge another daemon's.
  std::map<std::string, std::string> executor_env(const LaunchRequest& req, const std::string& host) const {
    std::map<std::string, std::string> env = req.env;
    env["SESSIOND_INSTANCE"] = instance_id_;
    env["SESSIOND_EXECUTOR_ID"] = req.executor_id;
    env["SESSIOND_SESSION_ID"] = req.session_id;
    env["SESSIOND_HOST"] = host;
    env["SESSIOND_SLOTS"] = std::to_string(req.slots);
    return env;
  }

  // Turns a process of the warm pool into the executor `req`: its directory
  // (log, and working directory unless the request gives one) becomes the
  // executor's, the file `process` there names it for reconcile() (its
  // /proc environ predates the hand-off and carries no executor mark), then
  // it gets the hand-off. False: it did not take it; it is stopped and the
  // caller starts the executor cold.
  bool hand_off(const LaunchRequest& req, const std::string& host, local::WarmProcess& w) const {
    const fs::path exec_dir = fs::path(data_dir_) / "executors" / req.executor_id;
    std::error_code ec;
    fs::create_directories(exec_dir.parent_path(), ec);
    std::string why_not;  // the move's failure, if any
    if (ec) {
      why_not = "cannot create '" + exec_dir.parent_path().string() + "': " + ec.message();
    } else if (req.working_dir.empty()) {
      // The JVM resolves relative paths to absolute ones with the working
      // directory it started in (user.dir, fixed at start): Spark adds jars it
      // fetched into "." to its class loader by such a path. A link at the old
      // place keeps those paths good.
      why_not =
          local::move_leaving_link(w.dir, exec_dir.string(), (fs::path("..") / "executors" / req.executor_id).string());
    } else if (fs::rename(w.dir, exec_dir, ec); ec) {
      why_not = "cannot move '" + w.dir + "' to '" + exec_dir.string() + "': " + ec.message();
    }
    Status st = !why_not.empty() ? Status::unavailable(why_not)
                                 : write_process_file(exec_dir, local::format_backend_id(w.pid, w.starttime));
    if (st.is_ok()) {
      const std::vector<std::string> args(req.command.begin() + static_cast<std::ptrdiff_t>(req.warm_args_from),
                                          req.command.end());
      st = local::send_handoff(w.channel, executor_env(req, host), args);
    } else {
      ::close(w.channel);
    }
    w.channel = -1;
    if (!st.is_ok()) {
      local::signal_group(w.pid, SIGKILL);
      ::waitpid(w.pid, nullptr, 0);
      ::close(w.pidfd);
      w.pidfd = -1;
      // Its log stays (in the executor's directory if the move was made): it says why.
      spdlog::warn("local backend: executor {}: warm pid {} did not take the hand-off ({}); starting it cold",
                   req.executor_id, w.pid, st.message());
      return false;
    }
    spdlog::info("local backend: executor {} of session {}: handed to warm pid {} (started {} ms before)",
                 req.executor_id, req.session_id, w.pid, w.age_ms);
    return true;
  }

  static Status write_process_file(const fs::path& dir, const std::string& backend_id) {
    std::ofstream out(dir / "process", std::ios::trunc);
    out << backend_id << "\n";
    out.close();
    if (!out) return Status::unavailable("cannot write '" + (dir / "process").string() + "'");
    return Status::ok();
  }

  // The backend id a hand-off left in the executor's directory, if any.
  std::optional<local::ProcessId> handed_off_process(const std::string& executor_id) const {
    std::ifstream in(fs::path(data_dir_) / "executors" / executor_id / "process");
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return local::parse_backend_id(line);
  }

  // REQUIRES: mu_ held; proc is kWatched.
  void signal_stop(const ProcPtr& proc, std::chrono::milliseconds grace) {
    Proc& p = *proc;
    const auto deadline = Clock::now() + std::max(grace, std::chrono::milliseconds(0));
    if (p.kill_at && *p.kill_at <= deadline) return;  // already due sooner
    const bool first = !p.kill_at;
    p.kill_at = deadline;
    if (first) {
      send(p, SIGTERM);
      spdlog::info("local backend: {} {} (session {}, pid {}): SIGTERM, SIGKILL in {} ms",
                   p.orphan ? "orphan" : "executor", p.executor_id, p.session_id, p.pid, grace.count());
    }
    if (grace.count() <= 0) {
      send(p, SIGKILL);
      return;
    }
    if (!p.kill_timer) p.kill_timer = std::make_unique<asio::steady_timer>(io_);
    p.kill_timer->expires_at(deadline);
    p.kill_timer->async_wait([self = shared_from_this(), proc](const boost::system::error_code& ec) {
      if (!ec) guarded([&] { self->on_grace_over(proc); });
    });
  }

  // REQUIRES: mu_ held.
  void send(const Proc& p, int sig) {
    // Once the leader has terminated its exit handler sweeps the group; an
    // adopted leader may already be reaped, and its group id reused.
    if (p.pidfd && p.pidfd->is_open() && local::pidfd_terminated(p.pidfd->native_handle())) return;
    local::signal_group(p.pid, sig);
  }

  void on_grace_over(const ProcPtr& proc) {
    std::lock_guard lock(mu_);
    if (closed_ || proc->state != Proc::State::kWatched) return;
    spdlog::warn("local backend: {} {} (session {}, pid {}) outlived its grace: SIGKILL to its group",
                 proc->orphan ? "orphan" : "executor", proc->executor_id, proc->session_id, proc->pid);
    send(*proc, SIGKILL);
  }

  void on_started(const ProcPtr& proc) {
    {
      std::lock_guard lock(mu_);
      if (closed_ || proc->state != Proc::State::kWatched) return;
    }
    emit(ExecutorEvent{ExecutorEventKind::kRunning, proc->executor_id,
                       local::format_backend_id(proc->pid, proc->starttime), 0, ""});
    std::lock_guard lock(mu_);
    if (closed_ || proc->state != Proc::State::kWatched) return;
    watch(proc);
  }

  // REQUIRES: mu_ held.
  void watch(const ProcPtr& proc) {
    proc->pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                            [self = shared_from_this(), proc](const boost::system::error_code& ec) {
                              if (ec != asio::error::operation_aborted) guarded([&] { self->on_terminated(proc, ec); });
                            });
  }

  void on_terminated(const ProcPtr& proc, const boost::system::error_code& ec) {
    std::optional<ExecutorEvent> ev;
    {
      std::lock_guard lock(mu_);
      if (closed_ || proc->state != Proc::State::kWatched) return;
      int code = local::kUnknownExitCode;
      std::string detail;
      if (ec) {
        detail = "lost track of pid " + std::to_string(proc->pid) + ": " + ec.message();
      } else {
        const local::ExitStatus st = local::reap_exited(proc->pidfd->native_handle(), proc->pid);
        if (st.kind == local::ExitStatus::Kind::kNotYet) {
          watch(proc);
          return;
        }
        code = st.code;
        detail = st.kind == local::ExitStatus::Kind::kReaped
                     ? describe_exit(code)
                     : "exited; exit status unknown (adopted after a restart, not this daemon's child)";
      }
      const bool stopped = proc->kill_at.has_value();
      forget(*proc);
      if (proc->orphan) {
        orphans_.erase(proc->pid);
        spdlog::info("local backend: orphan {} (session {}, pid {}) is gone", proc->executor_id, proc->session_id,
                     proc->pid);
        return;
      }
      procs_.erase(proc->executor_id);
      if (stopped) detail += " after stop";
      spdlog::info("local backend: executor {} of session {} (pid {}) {}", proc->executor_id, proc->session_id,
                   proc->pid, detail);
      ev = ExecutorEvent{ExecutorEventKind::kExited, proc->executor_id,
                         local::format_backend_id(proc->pid, proc->starttime), code, detail};
    }
    emit(std::move(*ev));
  }

  // REQUIRES: mu_ held. Stops watching p; the process is left alone.
  static void forget(Proc& p) {
    p.state = Proc::State::kDone;
    if (p.kill_timer) p.kill_timer->cancel();
    if (p.pidfd) {
      boost::system::error_code ignored;
      p.pidfd->close(ignored);
    }
  }

  // Watches a known executor again, when `id` still names a live process.
  bool adopt(const KnownExecutor& k, const local::ProcessId& id, const std::string& session) {
    auto fd = local::open_pidfd(id.pid);
    if (!fd) return false;
    // Checked after the pidfd is open: it pins the process we verify here.
    auto st = local::read_proc_stat(id.pid);
    if (!st || st->starttime != id.starttime || st->state == 'Z' || st->state == 'X') {
      ::close(*fd);
      return false;
    }
    auto proc = std::make_shared<Proc>();
    proc->executor_id = k.executor_id;
    proc->session_id = session;
    proc->host = k.host;
    proc->pid = id.pid;
    proc->starttime = id.starttime;
    proc->state = Proc::State::kWatched;
    std::lock_guard lock(mu_);
    if (closed_ || procs_.count(k.executor_id) != 0) {
      ::close(*fd);
      return !closed_;  // already watched: a second reconcile() of the same executor
    }
    if (!assign_pidfd(*proc, *fd)) return false;
    procs_.emplace(k.executor_id, proc);
    watch(proc);
    spdlog::info("local backend: executor {} of session {} adopted (pid {})", k.executor_id, session, id.pid);
    return true;
  }

  bool kill_orphan(const local::MarkedProcess& m) {
    auto fd = local::open_pidfd(m.pid);
    if (!fd) return false;
    auto st = local::read_proc_stat(m.pid);
    if (!st || st->starttime != m.starttime) {
      ::close(*fd);
      return false;
    }
    auto proc = std::make_shared<Proc>();
    // A process of an earlier daemon's warm pool has no executor id yet.
    proc->executor_id = m.executor_id.empty() ? "(warm pool)" : m.executor_id;
    proc->session_id = m.session_id;
    proc->pid = m.pid;
    proc->starttime = m.starttime;
    proc->orphan = true;
    proc->state = Proc::State::kWatched;
    std::lock_guard lock(mu_);
    if (closed_ || orphans_.count(m.pid) != 0) {
      ::close(*fd);
      return false;
    }
    if (!assign_pidfd(*proc, *fd)) {
      local::signal_group(m.pid, SIGKILL);
      return true;
    }
    orphans_.emplace(m.pid, proc);
    signal_stop(proc, config_.orphan_grace);
    watch(proc);
    return true;
  }

  // REQUIRES: mu_ held. Takes `fd` in every case.
  bool assign_pidfd(Proc& p, int fd) {
    p.pidfd = std::make_unique<asio::posix::stream_descriptor>(io_);
    boost::system::error_code ec;
    p.pidfd->assign(fd, ec);
    if (ec) {
      ::close(fd);
      spdlog::error("local backend: cannot watch pid {}: {}", p.pid, ec.message());
      return false;
    }
    return true;
  }

  void emit(ExecutorEvent ev) {
    std::lock_guard lock(sink_mu_);
    if (closed_ || !sink_) return;
    try {
      sink_(std::move(ev));
    } catch (const std::exception& e) {
      spdlog::error("local backend: the event sink threw: {}", e.what());
    } catch (...) {
      spdlog::error("local backend: the event sink threw");
    }
  }

  asio::io_context& io_;
  const std::string data_dir_;
  const std::string instance_id_;
  const LocalBackendConfig config_;
  const std::map<std::string, std::string> base_env_;
  std::shared_ptr<local::WarmPool> pool_;              // null: no warm pool configured
  std::shared_ptr<local::ClassDataCache> class_data_;  // null: class_data off

  std::mutex mu_;  // guards what follows and every Asio object in a Proc
  bool started_ = false;
  std::atomic<bool> closed_{false};
  std::map<std::string, ProcPtr> procs_;  // executors by id
  std::map<pid_t, ProcPtr> orphans_;      // being killed after reconcile()

  // Held while the sink runs; recursive so that a sink calling shutdown()
  // on its own thread does not deadlock.
  std::recursive_mutex sink_mu_;
  EventSink sink_;
};

Result<std::unique_ptr<LocalBackend>> LocalBackend::create(const BackendContext& context) {
  if (context.io == nullptr) return Status::invalid_argument("local backend: no io_context");
  if (context.data_dir.empty()) return Status::invalid_argument("local backend: no data_dir");
  if (context.instance_id.empty()) {
    return Status::invalid_argument("local backend: no instance_id (it marks this daemon's executors)");
  }
  const std::string source = context.config_source.empty() ? "configuration" : context.config_source;
  auto config = read_local_backend_config(context.config, source);
  if (!config) return config.status();
  // Without pidfds there is no watching without a thread per process.
  auto probe = local::open_pidfd(::getpid());
  if (!probe) return Status::unavailable("local backend: " + probe.status().message());
  ::close(*probe);
  auto core = std::make_shared<Core>(*context.io, context.data_dir, context.instance_id, std::move(*config));
  return std::unique_ptr<LocalBackend>(new LocalBackend(std::move(core)));
}

LocalBackend::LocalBackend(std::shared_ptr<Core> core) : core_(std::move(core)) {}
LocalBackend::~LocalBackend() {
  guarded([&] { core_->shutdown(); });
}

namespace {
// Only allocation can throw in there; it still must not cross the interface.
template <typename F>
auto no_throw(const char* what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Status::internal(std::string("local backend: ") + what + ": " + e.what());
  }
}
}  // namespace

Result<std::vector<core::HostSpec>> LocalBackend::hosts() {
  return no_throw("hosts", [&]() -> Result<std::vector<core::HostSpec>> { return core_->hosts(); });
}
Status LocalBackend::start(EventSink sink) {
  return no_throw("start", [&] { return core_->start(std::move(sink)); });
}
Result<ReconcileResult> LocalBackend::reconcile(const std::vector<KnownExecutor>& known) {
  return no_throw("reconcile", [&] { return core_->reconcile(known); });
}
Status LocalBackend::launch(const LaunchRequest& request) {
  return no_throw("launch", [&] { return core_->launch(request); });
}
Status LocalBackend::stop(const std::string& executor_id, std::chrono::milliseconds grace) {
  return no_throw("stop", [&] { return core_->stop(executor_id, grace); });
}
std::map<std::string, std::uint64_t> LocalBackend::counters() const {
  try {
    return core_->counters();
  } catch (...) {
    return {};
  }
}
void LocalBackend::shutdown() {
  guarded([&] { core_->shutdown(); });
}

Status register_local_backend() {
  static const Status registered =
      register_backend("local", [](const BackendContext& context) -> Result<std::unique_ptr<ExecutorBackend>> {
        auto backend = LocalBackend::create(context);
        if (!backend) return backend.status();
        return std::unique_ptr<ExecutorBackend>(std::move(backend).value());
      });
  return registered;
}

}  // namespace sched::backend
