// Linux process primitives the local backend is built from: spawning into a
// new session, reading /proc, pidfds and reaping. No state, no Asio; internal
// to plugins/local-backend.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace sched::backend::local {

// Exit code for "it is gone, but its status is not ours to read".
inline constexpr int kUnknownExitCode = -1000;

// The fields of /proc/<pid>/stat the backend needs.
struct ProcStat {
  char state = '?';  // R, S, D, Z (zombie), X (dead), ...
  pid_t ppid = 0;
  pid_t pgrp = 0;
  std::uint64_t starttime = 0;  // clock ticks after boot: with the pid, names one process for good
};
std::optional<ProcStat> read_proc_stat(pid_t pid);

// "pid:<pid>:<starttime>", the handle reported as ExecutorEvent::backend_id.
std::string format_backend_id(pid_t pid, std::uint64_t starttime);
struct ProcessId {
  pid_t pid = 0;
  std::uint64_t starttime = 0;
};
std::optional<ProcessId> parse_backend_id(std::string_view backend_id);

// The environment of this process as a map (snapshot; callers keep it).
std::map<std::string, std::string> current_environment();

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in env's PATH unless it holds a '/'
  std::map<std::string, std::string> env;
  std::string working_dir;  // must exist
  int output_fd = -1;       // becomes stdout and stderr
  int input_fd = -1;        // becomes stdin; -1: /dev/null
};
// Opens `path` for appending (created 0644) as a descriptor above 2, so that
// a dup2 onto stdout/stderr in a child really clears its CLOEXEC. Owned.
Result<int> open_output_file(const std::string& path);

// Starts argv[0] as the leader of a new session and process group, with
// default signal dispositions and an empty signal mask whatever the daemon
// uses. The error says why nothing runs ("command not found: ...").
Result<pid_t> spawn_in_new_session(const SpawnSpec& spec);

// An owned pidfd (close it), or why none could be opened.
Result<int> open_pidfd(pid_t pid);
// Whether the process behind `pidfd` has terminated (without waiting).
bool pidfd_terminated(int pidfd);

struct ExitStatus {
  enum class Kind : std::uint8_t {
    kNotYet,   // still running
    kReaped,   // it was our child: `code` is its status, -N for signal N
    kNotOurs,  // someone else's child (adopted after a restart): status unknown
  };
  Kind kind = Kind::kNotYet;
  int code = kUnknownExitCode;
};
// Collects the exit status of the process behind `pidfd` if it is our child.
// Before reaping it kills what is left of its process group: while the
// leader is an unreaped zombie its pid, and so the group id, cannot be
// reused, so the sweep cannot hit a stranger.
ExitStatus reap_exited(int pidfd, pid_t pid);

// A process group leader of our uid carrying SESSIOND_INSTANCE=<instance>.
struct MarkedProcess {
  pid_t pid = 0;
  std::uint64_t starttime = 0;
  std::string executor_id;  // its SESSIOND_EXECUTOR_ID (may be empty)
  std::string session_id;   // its SESSIOND_SESSION_ID, for logs
};
std::vector<MarkedProcess> scan_marked_processes(std::string_view instance_id);

// Sends `sig` to the process group led by `pid`; ESRCH (already gone) is fine.
void signal_group(pid_t pid, int sig);

// Moves the directory `from` to `to` (same file system) and leaves at `from` a
// symbolic link whose content is `link_target`. A process that still names
// the directory by its old path (a launcher script that cd's into $PWD, a
// JVM's user.dir) must never find it missing: where the file system can,
// the move and the link trade places in one step (renameat2 RENAME_EXCHANGE);
// elsewhere there is a moment without either. Empty on success, else why not.
std::string move_leaving_link(const std::string& from, const std::string& to, const std::string& link_target);

}  // namespace sched::backend::local
