// Linux process primitives of the local backend: posix_spawn into a new
// session, /proc parsing, pidfd_open and waitid(P_PIDFD).
#include "process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace sched::backend::local {
namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

std::optional<std::string> read_small_file(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string out;
  out.resize(limit);
  in.read(out.data(), static_cast<std::streamsize>(limit));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

template <typename T>
bool parse_number(std::string_view s, T* out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Where `name` runs from: the first executable regular file along PATH.
Result<std::string> resolve_command(const std::string& name, const std::map<std::string, std::string>& env) {
  if (name.empty()) return Status::invalid_argument("empty command");
  if (name.find('/') != std::string::npos) return name;  // posix_spawn reports a missing file itself
  auto it = env.find("PATH");
  const std::string search = it != env.end() ? it->second : "/usr/local/bin:/usr/bin:/bin";
  bool denied = false;
  std::size_t start = 0;
  while (start <= search.size()) {
    std::size_t end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      denied = true;
    }
    start = end + 1;
  }
  if (denied) return Status::permission_denied("command '" + name + "' is not executable (PATH=" + search + ")");
  return Status::not_found("command not found: '" + name + "' (PATH=" + search + ")");
}

}  // namespace

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  auto text = read_small_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return std::nullopt;
  // comm (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const std::size_t close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(text->substr(close + 1));
  ProcStat st;
  std::string field;
  // Fields 3 (state) .. 22 (starttime).
  for (int i = 3; i <= 22; ++i) {
    if (!(in >> field)) return std::nullopt;
    if (i == 3) {
      st.state = field.empty() ? '?' : field[0];
    } else if (i == 4) {
      if (!parse_number(field, &st.ppid)) return std::nullopt;
    } else if (i == 5) {
      if (!parse_number(field, &st.pgrp)) return std::nullopt;
    } else if (i == 22) {
      if (!parse_number(field, &st.starttime)) return std::nullopt;
    }
  }
  return st;
}

std::string format_backend_id(pid_t pid, std::uint64_t starttime) {
  return "pid:" + std::to_string(pid) + ":" + std::to_string(starttime);
}

std::optional<ProcessId> parse_backend_id(std::string_view id) {
  constexpr std::string_view kPrefix = "pid:";
  if (id.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  id.remove_prefix(kPrefix.size());
  const std::size_t colon = id.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  ProcessId out;
  if (!parse_number(id.substr(0, colon), &out.pid) || out.pid <= 0) return std::nullopt;
  if (!parse_number(id.substr(colon + 1), &out.starttime)) return std::nullopt;
  return out;
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view kv(*e);
    const std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

Result<int> open_output_file(const std::string& path) {
  const int opened = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (opened < 0) return Status::unavailable("cannot open '" + path + "': " + errno_text(errno));
  const int fd = ::fcntl(opened, F_DUPFD_CLOEXEC, 3);
  const int err = errno;
  ::close(opened);
  if (fd < 0) return Status::unavailable("cannot open '" + path + "': " + errno_text(err));
  return fd;
}

Result<pid_t> spawn_in_new_session(const SpawnSpec& spec) {
  if (spec.argv.empty()) return Status::invalid_argument("empty command");
  auto path = resolve_command(spec.argv[0], spec.env);
  if (!path) return path.status();

  std::vector<std::string> env_text;
  env_text.reserve(spec.env.size());
  for (const auto& [k, v] : spec.env) env_text.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_text) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_text = spec.argv;
  std::vector<char*> argv;
  for (auto& s : argv_text) argv.push_back(s.data());
  argv.push_back(nullptr);

  // posix_spawn rather than fork: glibc's clone(CLONE_VFORK) does not copy a
  // large daemon's page tables, runs nothing unsafe between fork and exec in
  // a threaded process, and returns the exec error (ENOENT, EACCES) itself,
  // which is what a CLOEXEC pipe would otherwise be needed for.
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  if (spec.input_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, spec.input_fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, spec.output_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, spec.output_fd, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, spec.working_dir.c_str());
  // The daemon's own descriptors (RocksDB files, sockets) are none of the executor's business.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  // A daemon typically ignores SIGPIPE and blocks SIGTERM for a signal
  // thread; both survive exec and would make executors deaf to stop().
  sigset_t empty;
  sigset_t all;
  sigemptyset(&empty);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  // A new session (hence group): kill -9 of the daemon and its terminal's
  // signals do not reach executors, and stop() can signal the whole group.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = 0;
  const int rc = posix_spawn(&pid, path->c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc == ENOENT) return Status::not_found("command not found: '" + *path + "'");
  if (rc != 0) return Status::unavailable("cannot start '" + *path + "': " + errno_text(rc));
  return pid;
}

Result<int> open_pidfd(pid_t pid) {
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    const int err = errno;
    if (err == ESRCH) return Status::not_found("no process " + std::to_string(pid));
    return Status::unavailable("pidfd_open(" + std::to_string(pid) + "): " + errno_text(err) +
                               (err == ENOSYS ? " (needs Linux 5.3 or newer)" : ""));
  }
  return static_cast<int>(fd);
}

bool pidfd_terminated(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP)) != 0;
}

ExitStatus reap_exited(int pidfd, pid_t pid) {
  siginfo_t info{};
  int rc = 0;
  do {
    rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return {ExitStatus::Kind::kNotOurs, kUnknownExitCode};
  if (info.si_pid == 0) return {ExitStatus::Kind::kNotYet, kUnknownExitCode};
  ::kill(-pid, SIGKILL);  // leftovers of the group; see the header for why this is safe here
  info = siginfo_t{};
  do {
    rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 || info.si_pid == 0) return {ExitStatus::Kind::kNotOurs, kUnknownExitCode};
  const int code = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
  return {ExitStatus::Kind::kReaped, code};
}

std::vector<MarkedProcess> scan_marked_processes(std::string_view instance_id) {
  std::vector<MarkedProcess> out;
  const std::string mark = "SESSIOND_INSTANCE=" + std::string(instance_id);
  const uid_t uid = ::geteuid();
  const pid_t self = ::getpid();
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  while (const dirent* e = ::readdir(dir)) {
    pid_t pid = 0;
    if (!parse_number(std::string_view(e->d_name), &pid) || pid <= 0 || pid == self) continue;
    const std::string base = "/proc/" + std::to_string(pid);
    struct stat st {};
    if (::stat(base.c_str(), &st) != 0 || st.st_uid != uid) continue;
    auto ps = read_proc_stat(pid);
    // Only group leaders: an executor's own children go down with its group.
    if (!ps || ps->pgrp != pid || ps->state == 'Z' || ps->state == 'X') continue;
    auto env = read_small_file(base + "/environ", 1 << 20);
    if (!env) continue;
    bool marked = false;
    MarkedProcess m{pid, ps->starttime, {}, {}};
    std::size_t start = 0;
    while (start < env->size()) {
      std::size_t end = env->find('\0', start);
      if (end == std::string::npos) end = env->size();
      const std::string_view kv(env->data() + start, end - start);
      if (kv == mark) marked = true;
      constexpr std::string_view kExec = "SESSIOND_EXECUTOR_ID=";
      constexpr std::string_view kSession = "SESSIOND_SESSION_ID=";
      if (kv.substr(0, kExec.size()) == kExec) m.executor_id = std::string(kv.substr(kExec.size()));
      if (kv.substr(0, kSession.size()) == kSession) m.session_id = std::string(kv.substr(kSession.size()));
      start = end + 1;
    }
    if (marked) out.push_back(std::move(m));
  }
  ::closedir(dir);
  return out;
}

void signal_group(pid_t pid, int sig) {
  if (pid > 0) ::kill(-pid, sig);
}

std::string move_leaving_link(const std::string& from, const std::string& to, const std::string& link_target) {
  auto failed = [](const std::string& what) { return what + ": " + std::strerror(errno); };
  // The link goes where the directory is going; the exchange then puts each
  // in the other's place. Until then it names `to` itself, which nobody reads.
  if (::symlink(link_target.c_str(), to.c_str()) != 0) return failed("cannot create '" + to + "'");
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_EXCHANGE) == 0) return {};
  const int exchange_errno = errno;
  ::unlink(to.c_str());
  if (exchange_errno != EINVAL && exchange_errno != ENOSYS) {
    errno = exchange_errno;
    return failed("cannot move '" + from + "' to '" + to + "'");
  }
  if (::rename(from.c_str(), to.c_str()) != 0) return failed("cannot move '" + from + "' to '" + to + "'");
  if (::symlink(link_target.c_str(), from.c_str()) != 0) return failed("cannot link '" + from + "'");
  return {};
}

}  // namespace sched::backend::local
