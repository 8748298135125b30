// WarmPool: spawning, watching, refilling and letting go of processes
// started ahead of need, and the hand-off that turns one into an executor.
#include "warm_pool.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>

#include "process.hpp"

namespace sched::backend::local {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// A command that failed this often in a row (exited before any hand-off)
// is not started again: its log says why.
constexpr int kMaxFailuresInARow = 3;

std::int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Writes all of `data`; a peer that is gone is an error, never a SIGPIPE.
Status write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::unavailable(std::string("hand-off not delivered: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return Status::ok();
}

}  // namespace

Status send_handoff(int channel, const std::map<std::string, std::string>& env, const std::vector<std::string>& args) {
  std::string msg = "SESSIOND-WARM-1";
  msg.push_back('\0');
  auto field = [&msg](const std::string& f) {
    msg += f;
    msg.push_back('\0');
  };
  field(std::to_string(env.size()));
  for (const auto& [k, v] : env) {
    msg += k;
    msg.push_back('=');
    field(v);
  }
  field(std::to_string(args.size()));
  for (const auto& a : args) field(a);
  Status st = write_all(channel, msg);
  ::close(channel);
  return st;
}

// One process of the pool, waiting.
struct Waiting {
  pid_t pid = 0;
  std::uint64_t starttime = 0;
  int channel = -1;
  std::string dir;
  Clock::time_point started;
  std::unique_ptr<asio::posix::stream_descriptor> pidfd;
};
using WaitingPtr = std::shared_ptr<Waiting>;

// The processes of one (warm command, working directory).
struct Command {
  std::vector<std::string> argv;
  std::string working_dir;
  std::deque<WaitingPtr> ready;
  Clock::time_point last_used;
  int failures_in_a_row = 0;
  bool disabled = false;
  std::unique_ptr<asio::steady_timer> refill;
};

class WarmPool::Impl {
 public:
  Impl(asio::io_context& io, std::string root, std::map<std::string, std::string> env, WarmPoolConfig config)
      : io_(io), root_(std::move(root)), env_(std::move(env)), config_(config), idle_timer_(io) {}

  std::weak_ptr<WarmPool> owner;

  std::optional<WarmProcess> take(const std::vector<std::string>& argv, const std::string& working_dir) {
    std::lock_guard lock(mu_);
    if (closed_ || config_.size <= 0) return std::nullopt;
    const std::string key = key_of(argv, working_dir);
    auto it = commands_.find(key);
    if (it == commands_.end()) {
      make_room();
      auto c = std::make_unique<Command>();
      c->argv = argv;
      c->working_dir = working_dir;
      it = commands_.emplace(key, std::move(c)).first;
      arm_idle_check();
    }
    Command& c = *it->second;
    c.last_used = Clock::now();
    std::optional<WarmProcess> out;
    while (!c.ready.empty() && !out) {
      WaitingPtr w = c.ready.front();
      c.ready.pop_front();
      if (pidfd_terminated(w->pidfd->native_handle())) continue;  // its watcher reaps it
      WarmProcess p;
      p.pid = w->pid;
      p.starttime = w->starttime;
      p.pidfd = w->pidfd->release();  // cancels the watch: the caller watches it now
      p.channel = w->channel;
      p.dir = w->dir;
      p.age_ms = ms_since(w->started);
      w->channel = -1;
      out = p;
    }
    ++(out ? taken_ : missed_);
    // Even after a miss the replacement waits: the executor that just started
    // cold needs the CPU more.
    if (!c.disabled) schedule_refill(key, c);
    return out;
  }

  std::map<std::string, std::uint64_t> counters() const {
    std::lock_guard lock(mu_);
    return {{"warm_started", started_},
            {"warm_taken", taken_},
            {"warm_missed", missed_},
            {"warm_exited", exited_},
            {"warm_let_go", let_go_}};
  }

  void shutdown() {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    idle_timer_.cancel();
    for (auto& [key, c] : commands_) let_go(*c);
    commands_.clear();
  }

 private:
  static std::string key_of(const std::vector<std::string>& argv, const std::string& working_dir) {
    std::string key = working_dir;
    for (const auto& a : argv) {
      key.push_back('\0');
      key += a;
    }
    return key;
  }

  // REQUIRES: mu_ held.
  void make_room() {
    while (static_cast<int>(commands_.size()) >= std::max(1, config_.commands)) {
      auto oldest = commands_.begin();
      for (auto it = commands_.begin(); it != commands_.end(); ++it) {
        if (it->second->last_used < oldest->second->last_used) oldest = it;
      }
      spdlog::info("local backend: warm pool: letting go of the least recently used command ({} processes)",
                   oldest->second->ready.size());
      let_go(*oldest->second);
      commands_.erase(oldest);
    }
  }

  // REQUIRES: mu_ held. Closing stdin is the signal to exit; SIGTERM covers a
  // process still busy warming up.
  void let_go(Command& c) {
    if (c.refill) c.refill->cancel();
    for (auto& w : c.ready) {
      if (w->channel >= 0) ::close(w->channel);
      w->channel = -1;
      signal_group(w->pid, SIGTERM);
      ++let_go_;
    }
    c.ready.clear();  // their watchers reap them
  }

  // REQUIRES: mu_ held.
  void schedule_refill(const std::string& key, Command& c) {
    const auto delay = config_.refill_delay;
    if (!c.refill) c.refill = std::make_unique<asio::steady_timer>(io_);
    // An earlier refill already due stays due: a burst of launches refills once.
    if (c.refill->expiry() > Clock::now() && c.refill->expiry() <= Clock::now() + delay) return;
    c.refill->expires_after(delay);
    c.refill->async_wait([self = owner, key](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto pool = self.lock()) pool->impl_->refill(key);
    });
  }

  void refill(const std::string& key) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    auto it = commands_.find(key);
    if (it == commands_.end()) return;
    Command& c = *it->second;
    while (!c.disabled && static_cast<int>(c.ready.size()) < config_.size) {
      auto w = spawn(c);
      if (!w) {
        spdlog::warn("local backend: warm pool: cannot start {}: {}", c.argv.front(), w.status().message());
        note_failure(c);
        break;
      }
      c.ready.push_back(*w);
    }
  }

  // REQUIRES: mu_ held.
  void note_failure(Command& c) {
    if (++c.failures_in_a_row < kMaxFailuresInARow || c.disabled) return;
    c.disabled = true;
    spdlog::error(
        "local backend: warm pool: {} warm processes of {} failed in a row; executors of this command start cold "
        "from now on (see the executor.log files under {})",
        c.failures_in_a_row, c.argv.front(), root_);
  }

  // REQUIRES: mu_ held.
  Result<WaitingPtr> spawn(Command& c) {
    const std::string name = "w" + std::to_string(++seq_) + "-" + std::to_string(::getpid());
    const fs::path dir = fs::path(root_) / name;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::unavailable("cannot create directory '" + dir.string() + "': " + ec.message());
    if (!c.working_dir.empty()) {
      fs::create_directories(c.working_dir, ec);
      if (ec) return Status::unavailable("cannot create directory '" + c.working_dir + "': " + ec.message());
    }
    auto log = open_output_file((dir / "executor.log").string());
    if (!log) return log.status();
    int fds[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      ::close(*log);
      return Status::unavailable(std::string("socketpair: ") + std::strerror(errno));
    }
    SpawnSpec spec;
    spec.argv = c.argv;
    spec.env = env_;
    spec.working_dir = c.working_dir.empty() ? dir.string() : c.working_dir;
    spec.output_fd = *log;
    spec.input_fd = fds[1];
    auto pid = spawn_in_new_session(spec);
    ::close(*log);
    ::close(fds[1]);
    if (!pid) {
      ::close(fds[0]);
      return pid.status();
    }
    auto fd = open_pidfd(*pid);
    auto st = read_proc_stat(*pid);
    if (!fd || !st) {
      signal_group(*pid, SIGKILL);
      ::waitpid(*pid, nullptr, 0);
      if (fd) ::close(*fd);
      ::close(fds[0]);
      return Status::unavailable("cannot watch the warm process " + std::to_string(*pid));
    }
    auto w = std::make_shared<Waiting>();
    w->pid = *pid;
    w->starttime = st->starttime;
    w->channel = fds[0];
    w->dir = dir.string();
    w->started = Clock::now();
    w->pidfd = std::make_unique<asio::posix::stream_descriptor>(io_);
    boost::system::error_code aec;
    w->pidfd->assign(*fd, aec);
    if (aec) {
      ::close(*fd);
      signal_group(*pid, SIGKILL);
      ::waitpid(*pid, nullptr, 0);
      ::close(fds[0]);
      return Status::unavailable("cannot watch the warm process: " + aec.message());
    }
    ++started_;
    spdlog::info("local backend: warm pool: started pid {} ({})", w->pid, dir.string());
    watch(w, key_of(c.argv, c.working_dir));
    return w;
  }

  // REQUIRES: mu_ held.
  void watch(const WaitingPtr& w, const std::string& key) {
    w->pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                         [self = owner, w, key](const boost::system::error_code& ec) {
                           if (ec == asio::error::operation_aborted) return;  // taken: no longer ours
                           if (auto pool = self.lock()) pool->impl_->on_exit(w, key);
                         });
  }

  // A waiting process ended: let go of (its stdin closed), or failed.
  void on_exit(const WaitingPtr& w, const std::string& key) {
    std::lock_guard lock(mu_);
    const ExitStatus st = reap_exited(w->pidfd->native_handle(), w->pid);
    if (st.kind == ExitStatus::Kind::kNotYet) {
      watch(w, key);
      return;
    }
    boost::system::error_code ignored;
    w->pidfd->close(ignored);
    const bool let_go = w->channel < 0;
    if (w->channel >= 0) ::close(w->channel);
    w->channel = -1;
    std::error_code ec;
    if (let_go || closed_) {
      fs::remove_all(w->dir, ec);
      return;
    }
    // Died on its own while waiting: keep its log, start another later.
    ++exited_;
    spdlog::warn("local backend: warm pool: pid {} exited before any hand-off (status {}); its log: {}/executor.log",
                 w->pid, st.code, w->dir);
    auto it = commands_.find(key);
    if (it == commands_.end()) return;
    Command& c = *it->second;
    for (auto r = c.ready.begin(); r != c.ready.end(); ++r) {
      if (*r == w) {
        c.ready.erase(r);
        break;
      }
    }
    note_failure(c);
    if (!c.disabled) schedule_refill(key, c);
  }

  // REQUIRES: mu_ held.
  void arm_idle_check() {
    if (idle_armed_) return;
    idle_armed_ = true;
    idle_timer_.expires_after(std::max(std::chrono::milliseconds(1000), config_.idle / 4));
    idle_timer_.async_wait([self = owner](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto pool = self.lock()) pool->impl_->check_idle();
    });
  }

  void check_idle() {
    std::lock_guard lock(mu_);
    idle_armed_ = false;
    if (closed_) return;
    for (auto it = commands_.begin(); it != commands_.end();) {
      if (Clock::now() - it->second->last_used >= config_.idle) {
        spdlog::info("local backend: warm pool: a command unused for {} ms: letting go of its {} processes",
                     config_.idle.count(), it->second->ready.size());
        let_go(*it->second);
        it = commands_.erase(it);
      } else {
        ++it;
      }
    }
    if (!commands_.empty()) arm_idle_check();
  }

  asio::io_context& io_;
  const std::string root_;
  const std::map<std::string, std::string> env_;
  const WarmPoolConfig config_;

  mutable std::mutex mu_;  // guards what follows and the Asio objects of the pool
  bool closed_ = false;
  bool idle_armed_ = false;
  std::uint64_t seq_ = 0;
  std::map<std::string, std::unique_ptr<Command>> commands_;
  asio::steady_timer idle_timer_;
  std::uint64_t started_ = 0, taken_ = 0, missed_ = 0, exited_ = 0, let_go_ = 0;
};

std::shared_ptr<WarmPool> WarmPool::create(asio::io_context& io, std::string root,
                                           std::map<std::string, std::string> env, WarmPoolConfig config) {
  // What an earlier daemon left: directories of processes never handed off
  // (stopped by reconcile()) go; links that keep handed-off executors' paths
  // good stay while their executor's directory does.
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ignored;
    if (!it->is_symlink(ignored) || !fs::exists(it->path(), ignored)) fs::remove_all(it->path(), ignored);
  }
  auto impl = std::make_unique<Impl>(io, std::move(root), std::move(env), config);
  Impl* raw = impl.get();
  std::shared_ptr<WarmPool> pool(new WarmPool(std::move(impl)));
  raw->owner = pool;
  return pool;
}

WarmPool::WarmPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WarmPool::~WarmPool() {
  try {
    impl_->shutdown();
  } catch (...) {
    // Only allocation can throw in there; a destructor must not.
  }
}

std::optional<WarmProcess> WarmPool::take(const std::vector<std::string>& command, const std::string& working_dir) {
  return impl_->take(command, working_dir);
}
std::map<std::string, std::uint64_t> WarmPool::counters() const {
  return impl_->counters();
}
void WarmPool::shutdown() {
  impl_->shutdown();
}

}  // namespace sched::backend::local
