// The local backend's warm pool: processes started ahead of need from a
// session's warm_command (JVMs loading Spark while nobody waits), each
// waiting on its stdin for the hand-off that makes it an executor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"

namespace boost::asio {
class io_context;
}

namespace sched::backend::local {

struct WarmPoolConfig {
  int size = 1;                                                     // ready processes per warm command; 0: no pool
  std::chrono::milliseconds idle{std::chrono::minutes(10)};         // a command unused this long is let go
  std::chrono::milliseconds refill_delay{std::chrono::seconds(3)};  // after a hand-off, before its replacement
  int commands = 4;  // distinct warm commands kept at once; the least recently used is let go first
};

// A process taken from the pool: it is the caller's now (and its descriptors).
struct WarmProcess {
  pid_t pid = 0;
  std::uint64_t starttime = 0;
  int pidfd = -1;           // owned
  int channel = -1;         // owned: the daemon's end of the process's stdin
  std::string dir;          // its directory: executor.log, and its working directory unless one was given
  std::int64_t age_ms = 0;  // since it was started, for the log
};

// Sends the hand-off (the format WarmExecutor reads: NUL-terminated fields,
// "SESSIOND-WARM-1", env count, NAME=value..., arg count, args...) and
// closes `channel`. An error means the process did not get it (gone, or
// its stdin full).
Status send_handoff(int channel, const std::map<std::string, std::string>& env, const std::vector<std::string>& args);

// Thread-safe. Pool processes are spawned like executors (new session, the
// daemon's environment) plus SESSIOND_WARM=1 and SESSIOND_INSTANCE, so a
// restarted daemon stops those left from before. They exit by themselves
// when the daemon goes: their stdin then reads end-of-file.
class WarmPool : public std::enable_shared_from_this<WarmPool> {
 public:
  // `root` (<data_dir>/warm) is emptied: what it holds belongs to processes
  // of an earlier daemon, stopped by reconcile().
  static std::shared_ptr<WarmPool> create(boost::asio::io_context& io, std::string root,
                                          std::map<std::string, std::string> env, WarmPoolConfig config);
  ~WarmPool();
  WarmPool(const WarmPool&) = delete;
  WarmPool& operator=(const WarmPool&) = delete;

  // A ready process started from (command, working_dir), if there is one.
  // Either way the pair counts as used now, and its processes are brought
  // back to `size` after refill_delay.
  std::optional<WarmProcess> take(const std::vector<std::string>& command, const std::string& working_dir);

  // Running totals for counters(): warm_started, warm_taken, warm_missed,
  // warm_exited (died before a hand-off), warm_let_go.
  std::map<std::string, std::uint64_t> counters() const;

  // Lets every process go (they exit on end-of-file) and cancels timers.
  void shutdown();

 private:
  class Impl;
  explicit WarmPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sched::backend::local
