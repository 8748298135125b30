// Tests the local backend with real processes: launch, exit codes, launch
// failures, stop with grace, environment and directories, reconcile after a
// restart (adopt, gone, orphans) and the configuration section.
#include "local_backend.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/yaml_fields.hpp"
#include "process.hpp"

namespace sched::backend {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Kind = ExecutorEventKind;

// Generous: the machine is shared; the tests themselves finish far sooner.
constexpr auto kWait = 10s;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = kWait) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Gone for good, or a zombie nobody reaped yet: either way not running.
bool ProcessGone(pid_t pid) {
  auto st = local::read_proc_stat(pid);
  return !st || st->state == 'Z' || st->state == 'X';
}

// Whether a process of group `pgid` still runs (zombies awaiting their new
// parent's reaping do not count).
bool GroupRunning(pid_t pgid) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto st = local::read_proc_stat(static_cast<pid_t>(std::stol(name)));
    if (st && st->pgrp == pgid && st->state != 'Z' && st->state != 'X') return true;
  }
  return false;
}

// Every event a backend reported, in order.
class EventLog {
 public:
  ExecutorBackend::EventSink sink() {
    return [this](ExecutorEvent ev) {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(ev));
      cv_.notify_all();
    };
  }
  std::optional<ExecutorEvent> wait_for(const std::string& id, Kind kind, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mu_);
    std::optional<ExecutorEvent> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_) {
        if (e.executor_id == id && e.kind == kind) {
          found = e;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::vector<ExecutorEvent> of(const std::string& id) {
    std::lock_guard lock(mu_);
    std::vector<ExecutorEvent> out;
    for (const auto& e : events_)
      if (e.executor_id == id) out.push_back(e);
    return out;
  }
  std::size_t size() {
    std::lock_guard lock(mu_);
    return events_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ExecutorEvent> events_;
};

class LocalBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "local-backend-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::random_device rd;
    instance_ = "test-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
    // Two I/O threads, as the daemon may run: handlers of one executor can
    // land on either.
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    for (auto& b : backends_) b->shutdown();
    // Whatever a test left running under its instance mark goes now.
    for (const auto& m : local::scan_marked_processes(instance_)) {
      ::kill(-m.pid, SIGKILL);
      ::waitpid(m.pid, nullptr, 0);
    }
    for (const pid_t pid : strangers_) ::kill(-pid, SIGKILL);
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    backends_.clear();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  BackendContext Context(const YAML::Node* config = nullptr) {
    BackendContext c;
    c.io = &io_;
    c.data_dir = dir_.string();
    c.instance_id = instance_;
    c.config = config;
    c.config_source = "sessiond.yaml";
    return c;
  }

  // A started backend reporting into `log`.
  LocalBackend& Make(EventLog& log, const YAML::Node* config = nullptr) {
    auto b = LocalBackend::create(Context(config));
    EXPECT_TRUE(b.is_ok()) << b.status().to_string();
    backends_.push_back(std::move(b).value());
    EXPECT_TRUE(backends_.back()->start(log.sink()).is_ok());
    return *backends_.back();
  }

  static LaunchRequest Sh(const std::string& id, const std::string& script) {
    LaunchRequest r;
    r.executor_id = id;
    r.session_id = "session-" + id;
    r.slots = 2;
    r.command = {"sh", "-c", script};
    return r;
  }

  fs::path Log(const std::string& id) const { return dir_ / "executors" / id / "executor.log"; }

  // Waits until the executor printed `line`: its traps are set from then on.
  bool WaitForOutput(const std::string& id, const std::string& text) {
    return WaitUntil([&] { return ReadFile(Log(id)).find(text) != std::string::npos; });
  }

  // A process carrying `instance`'s marks that is not our child: started
  // through `setsid -f`, whose intermediate process exits at once.
  pid_t SpawnStranger(const std::string& instance, const std::string& executor_id, const std::string& script) {
    const fs::path pid_file = dir_ / ("stranger-" + executor_id + ".pid");
    const std::string cmd = "cd '" + dir_.string() + "' && env SESSIOND_INSTANCE='" + instance +
                            "' SESSIOND_EXECUTOR_ID='" + executor_id + "' setsid -f sh -c 'echo $$ > " +
                            pid_file.string() + ".tmp; mv " + pid_file.string() + ".tmp " + pid_file.string() + "; " +
                            script + "' </dev/null >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    pid_t pid = 0;
    EXPECT_TRUE(WaitUntil([&] { return fs::exists(pid_file); }));
    std::ifstream(pid_file) >> pid;
    strangers_.push_back(pid);
    return pid;
  }

  std::string Id(pid_t pid) {
    auto st = local::read_proc_stat(pid);
    EXPECT_TRUE(st.has_value());
    return local::format_backend_id(pid, st ? st->starttime : 0);
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{asio::make_work_guard(io_)};
  std::vector<std::thread> threads_;
  fs::path dir_;
  std::string instance_;
  std::vector<std::unique_ptr<LocalBackend>> backends_;
  std::vector<pid_t> strangers_;
};

TEST_F(LocalBackendTest, ReportsRunningWithPidAndStarttimeThenTheExitCode) {
  EventLog log;
  auto& b = Make(log);
  ASSERT_TRUE(b.launch(Sh("e1", "exit 3")).is_ok());
  auto running = log.wait_for("e1", Kind::kRunning);
  ASSERT_TRUE(running);
  auto id = local::parse_backend_id(running->backend_id);
  ASSERT_TRUE(id) << running->backend_id;
  EXPECT_GT(id->pid, 0);
  EXPECT_GT(id->starttime, 0u);
  auto exited = log.wait_for("e1", Kind::kExited);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code, 3);
  EXPECT_EQ(exited->backend_id, running->backend_id);
  const auto all = log.of("e1");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].kind, Kind::kRunning);  // never overtaken by its exit
  EXPECT_EQ(waitpid(id->pid, nullptr, WNOHANG), -1) << "the backend reaps its children";
}

TEST_F(LocalBackendTest, DeathBySignalIsMinusTheSignal) {
  EventLog log;
  auto& b = Make(log);
  ASSERT_TRUE(b.launch(Sh("e1", "kill -KILL $$")).is_ok());
  auto exited = log.wait_for("e1", Kind::kExited);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code, -SIGKILL);
  EXPECT_NE(exited->detail.find("signal 9"), std::string::npos) << exited->detail;
}

TEST_F(LocalBackendTest, MissingCommandIsALaunchFailureNotAnExit) {
  EventLog log;
  auto& b = Make(log);
  LaunchRequest bare = Sh("bare", "");
  bare.command = {"no-such-command-for-local-backend-test"};
  LaunchRequest pathed = Sh("pathed", "");
  pathed.command = {"/nonexistent/bin/executor"};
  const fs::path plain = dir_ / "plain-file";
  std::ofstream(plain) << "echo not executable\n";
  fs::permissions(plain, fs::perms::owner_read | fs::perms::owner_write);
  LaunchRequest not_exec = Sh("not-exec", "");
  not_exec.command = {plain.string()};
  for (const auto* r : {&bare, &pathed, &not_exec}) ASSERT_TRUE(b.launch(*r).is_ok());

  auto f1 = log.wait_for("bare", Kind::kLaunchFailed);
  ASSERT_TRUE(f1);
  EXPECT_NE(f1->detail.find("command not found: 'no-such-command-for-local-backend-test'"), std::string::npos)
      << f1->detail;
  auto f2 = log.wait_for("pathed", Kind::kLaunchFailed);
  ASSERT_TRUE(f2);
  EXPECT_NE(f2->detail.find("command not found: '/nonexistent/bin/executor'"), std::string::npos) << f2->detail;
  auto f3 = log.wait_for("not-exec", Kind::kLaunchFailed);
  ASSERT_TRUE(f3);
  EXPECT_NE(f3->detail.find("Permission denied"), std::string::npos) << f3->detail;
  for (const char* id : {"bare", "pathed", "not-exec"}) EXPECT_EQ(log.of(id).size(), 1u) << id;
  // The id is free again: the same executor can be retried.
  ASSERT_TRUE(b.launch(Sh("bare", "exit 0")).is_ok());
  EXPECT_TRUE(log.wait_for("bare", Kind::kExited));
}

TEST_F(LocalBackendTest, StopSendsSigtermToTheGroupAndAPoliteExecutorExitsAtOnce) {
  EventLog log;
  auto& b = Make(log);
  // The child sleep is in the group too; the shell's trap runs once it dies.
  ASSERT_TRUE(b.launch(Sh("e1", "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done")).is_ok());
  ASSERT_TRUE(log.wait_for("e1", Kind::kRunning));
  ASSERT_TRUE(WaitForOutput("e1", "ready"));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.stop("e1", 5s).is_ok());
  auto exited = log.wait_for("e1", Kind::kExited);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s) << "did not wait for the grace";
  EXPECT_NE(ReadFile(Log("e1")).find("bye"), std::string::npos);
}

TEST_F(LocalBackendTest, StopEscalatesToSigkillAfterTheGrace) {
  EventLog log;
  auto& b = Make(log);
  ASSERT_TRUE(b.launch(Sh("e1", "trap '' TERM; echo ready; while :; do sleep 0.05; done")).is_ok());
  auto running = log.wait_for("e1", Kind::kRunning);
  ASSERT_TRUE(running);
  ASSERT_TRUE(WaitForOutput("e1", "ready"));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.stop("e1", 300ms).is_ok());
  auto exited = log.wait_for("e1", Kind::kExited);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code, -SIGKILL);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  // The whole group went, the shell's sleeping child included.
  const pid_t pid = local::parse_backend_id(running->backend_id)->pid;
  EXPECT_TRUE(WaitUntil([&] { return !GroupRunning(pid); }, 1s));
}

TEST_F(LocalBackendTest, StoppingTheUnknownOrTheGoneIsFine) {
  EventLog log;
  auto& b = Make(log);
  EXPECT_TRUE(b.stop("never-launched", 1s).is_ok());
  ASSERT_TRUE(b.launch(Sh("e1", "exit 0")).is_ok());
  ASSERT_TRUE(log.wait_for("e1", Kind::kExited));
  EXPECT_TRUE(b.stop("e1", 1s).is_ok());
  // A second stop never postpones the first one's SIGKILL.
  ASSERT_TRUE(b.launch(Sh("e2", "trap '' TERM; echo ready; while :; do sleep 0.05; done")).is_ok());
  ASSERT_TRUE(WaitForOutput("e2", "ready"));
  ASSERT_TRUE(b.stop("e2", 200ms).is_ok());
  ASSERT_TRUE(b.stop("e2", 60s).is_ok());
  auto exited = log.wait_for("e2", Kind::kExited, 5s);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code, -SIGKILL);
}

TEST_F(LocalBackendTest, EnvironmentMarksAndWorkingDirectoryAreApplied) {
  ASSERT_EQ(::setenv("LOCAL_BACKEND_TEST_INHERITED", "from-daemon", 1), 0);
  EventLog log;
  auto& b = Make(log);
  LaunchRequest r = Sh("e1", "pwd; env; echo to-stderr >&2");
  r.host = "";  // the first (only) host
  r.slots = 3;
  r.env = {{"FOO", "bar baz"}, {"SESSIOND_INSTANCE", "forged"}};
  r.working_dir = (dir_ / "work" / "nested").string();  // missing: created
  ASSERT_TRUE(b.launch(r).is_ok());
  ASSERT_TRUE(log.wait_for("e1", Kind::kExited));
  const std::string out = ReadFile(Log("e1"));
  const auto hosts = b.hosts();
  ASSERT_TRUE(hosts.is_ok());
  for (const std::string& line :
       {(dir_ / "work" / "nested").string(), std::string("FOO=bar baz"), "SESSIOND_INSTANCE=" + instance_,
        std::string("SESSIOND_EXECUTOR_ID=e1"), std::string("SESSIOND_SESSION_ID=session-e1"),
        "SESSIOND_HOST=" + hosts->front().name, std::string("SESSIOND_SLOTS=3"),
        std::string("LOCAL_BACKEND_TEST_INHERITED=from-daemon"), std::string("to-stderr")}) {
    EXPECT_NE(out.find(line + "\n"), std::string::npos) << "missing '" << line << "' in:\n" << out;
  }
  EXPECT_EQ(out.find("SESSIOND_INSTANCE=forged"), std::string::npos);
  ::unsetenv("LOCAL_BACKEND_TEST_INHERITED");
}

TEST_F(LocalBackendTest, DefaultWorkingDirectoryIsTheExecutorsDirAndTheLogIsAppended) {
  EventLog log;
  auto& b = Make(log);
  ASSERT_TRUE(b.launch(Sh("e1", "pwd")).is_ok());
  ASSERT_TRUE(log.wait_for("e1", Kind::kExited));
  EventLog log2;
  auto& b2 = Make(log2);
  ASSERT_TRUE(b2.launch(Sh("e1", "echo second run")).is_ok());
  ASSERT_TRUE(log2.wait_for("e1", Kind::kExited));
  EXPECT_EQ(ReadFile(Log("e1")), (dir_ / "executors" / "e1").string() + "\nsecond run\n");
}

TEST_F(LocalBackendTest, BadRequestsAreErrorsAndStartNothing) {
  EventLog log;
  auto early = LocalBackend::create(Context());
  ASSERT_TRUE(early.is_ok());
  EXPECT_EQ((*early)->launch(Sh("e0", "exit 0")).code(), StatusCode::kFailedPrecondition);

  auto& b = Make(log);
  EXPECT_EQ(b.launch(Sh("../escape", "exit 0")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.launch(Sh("", "exit 0")).code(), StatusCode::kInvalidArgument);
  LaunchRequest no_command = Sh("e1", "");
  no_command.command.clear();
  EXPECT_EQ(b.launch(no_command).code(), StatusCode::kInvalidArgument);
  LaunchRequest elsewhere = Sh("e1", "exit 0");
  elsewhere.host = "no-such-host";
  EXPECT_EQ(b.launch(elsewhere).code(), StatusCode::kInvalidArgument);
  LaunchRequest bad_env = Sh("e1", "exit 0");
  bad_env.env = {{"A=B", "x"}};
  EXPECT_EQ(b.launch(bad_env).code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(b.launch(Sh("e1", "echo ready; sleep 5")).is_ok());
  EXPECT_EQ(b.launch(Sh("e1", "exit 0")).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(log.wait_for("e1", Kind::kRunning));
  b.shutdown();
  EXPECT_EQ(b.launch(Sh("e2", "exit 0")).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(log.of("e1").size(), 1u);
}

TEST_F(LocalBackendTest, ExecutorsOutliveShutdownAndANewBackendAdoptsThem) {
  EventLog first;
  auto& a = Make(first);
  LaunchRequest r = Sh("e1", "echo ready; while [ ! -f go ]; do sleep 0.02; done; exit 7");
  r.working_dir = (dir_ / "w1").string();
  ASSERT_TRUE(a.launch(r).is_ok());
  auto running = first.wait_for("e1", Kind::kRunning);
  ASSERT_TRUE(running);
  // Its own session and group: a daemon's death (or its terminal's signals) do not reach it.
  const pid_t pid = local::parse_backend_id(running->backend_id)->pid;
  EXPECT_EQ(::getsid(pid), pid);
  EXPECT_EQ(::getpgid(pid), pid);
  a.shutdown();

  EventLog second;
  auto& b = Make(second);
  auto rec = b.reconcile({{"e1", "", running->backend_id, {}}});
  ASSERT_TRUE(rec.is_ok()) << rec.status().to_string();
  EXPECT_EQ(rec->adopted, std::vector<std::string>{"e1"});
  EXPECT_TRUE(rec->gone.empty());
  EXPECT_EQ(rec->orphans_stopped, 0);

  std::ofstream(dir_ / "w1" / "go").put('x');
  auto exited = second.wait_for("e1", Kind::kExited);
  ASSERT_TRUE(exited);
  // Still this test process's child, so the status is known after all.
  EXPECT_EQ(exited->exit_code, 7);
  EXPECT_EQ(first.of("e1").size(), 1u) << "a shut-down backend reports nothing";
}

TEST_F(LocalBackendTest, AdoptedStrangerExitIsReportedWithAnUnknownStatus) {
  EventLog log;
  auto& b = Make(log);
  const pid_t pid = SpawnStranger(instance_, "e1", "while [ ! -f go ]; do sleep 0.02; done; exit 3");
  auto rec = b.reconcile({{"e1", "", Id(pid), {}}});
  ASSERT_TRUE(rec.is_ok());
  EXPECT_EQ(rec->adopted, std::vector<std::string>{"e1"});
  std::ofstream(dir_ / "go").put('x');
  auto exited = log.wait_for("e1", Kind::kExited);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code, -1000);
  EXPECT_NE(exited->detail.find("unknown"), std::string::npos) << exited->detail;
}

TEST_F(LocalBackendTest, AKnownExecutorWithoutBackendIdIsFoundByItsMark) {
  const pid_t pid = SpawnStranger(instance_, "e1", "sleep 5");
  EventLog log;
  auto& b = Make(log);
  auto rec = b.reconcile({{"e1", "", "", {}}});
  ASSERT_TRUE(rec.is_ok());
  EXPECT_EQ(rec->adopted, std::vector<std::string>{"e1"});
  ASSERT_TRUE(b.stop("e1", 2s).is_ok());
  auto exited = log.wait_for("e1", Kind::kExited);
  ASSERT_TRUE(exited);
  EXPECT_TRUE(WaitUntil([&] { return ProcessGone(pid); }));
}

TEST_F(LocalBackendTest, DeadOrMisidentifiedKnownExecutorsAreGone) {
  EventLog first;
  auto& a = Make(first);
  ASSERT_TRUE(a.launch(Sh("dead", "exit 0")).is_ok());
  auto running = first.wait_for("dead", Kind::kRunning);
  ASSERT_TRUE(running);
  ASSERT_TRUE(first.wait_for("dead", Kind::kExited));
  a.shutdown();

  auto self = local::read_proc_stat(::getpid());
  ASSERT_TRUE(self);
  EventLog log;
  auto& b = Make(log);
  auto rec = b.reconcile({
      {"dead", "", running->backend_id, {}},
      {"reused", "", local::format_backend_id(::getpid(), self->starttime + 1), {}},  // a live pid, another start
      {"garbled", "", "pod:xyz", {}},
      {"never-ran", "", "", {}},
  });
  ASSERT_TRUE(rec.is_ok());
  EXPECT_TRUE(rec->adopted.empty());
  EXPECT_EQ(rec->gone, (std::vector<std::string>{"dead", "reused", "garbled", "never-ran"}));
  EXPECT_EQ(rec->orphans_stopped, 0);
}

TEST_F(LocalBackendTest, OrphansOfThisInstanceAreKilledOthersAreLeftAlone) {
  YAML::Node config = YAML::Load("{orphan_grace: 200ms}");
  const pid_t polite = SpawnStranger(instance_, "orphan-polite", "exec sleep 30");
  const pid_t stubborn = SpawnStranger(instance_, "orphan-stubborn", "trap '' TERM; while :; do sleep 0.05; done");
  const pid_t known = SpawnStranger(instance_, "known", "exec sleep 30");
  const pid_t foreign = SpawnStranger(instance_ + "-other", "orphan-of-another-daemon", "exec sleep 30");

  EventLog log;
  auto& b = Make(log, &config);
  auto rec = b.reconcile({{"known", "", Id(known), {}}});
  ASSERT_TRUE(rec.is_ok());
  EXPECT_EQ(rec->adopted, std::vector<std::string>{"known"});
  EXPECT_EQ(rec->orphans_stopped, 2);
  EXPECT_TRUE(WaitUntil([&] { return ProcessGone(polite); }));
  EXPECT_TRUE(WaitUntil([&] { return ProcessGone(stubborn); }));
  EXPECT_FALSE(ProcessGone(known));
  EXPECT_FALSE(ProcessGone(foreign));
  EXPECT_EQ(log.size(), 0u) << "orphans are not the daemon's executors: no events";
  ::kill(-foreign, SIGKILL);
}

TEST_F(LocalBackendTest, ConcurrentLaunchesFromSeveralThreadsEachReportRunningThenExited) {
  EventLog log;
  auto& b = Make(log);
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (!b.launch(Sh("t" + std::to_string(t) + "-" + std::to_string(i), "exit " + std::to_string(i))).is_ok())
          ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  for (int t = 0; t < 3; ++t) {
    for (int i = 0; i < 5; ++i) {
      const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
      auto exited = log.wait_for(id, Kind::kExited);
      ASSERT_TRUE(exited) << id;
      EXPECT_EQ(exited->exit_code, i);
      const auto all = log.of(id);
      ASSERT_EQ(all.size(), 2u);
      EXPECT_EQ(all[0].kind, Kind::kRunning);
    }
  }
}

// A warm process as the pool expects one: says it is ready, reads the
// hand-off until the daemon closes its end, then becomes the command it was
// handed (exec keeps the pid, as a JVM that runs the executor's main does).
// Its /proc environ keeps the pool's marks, as a JVM's does: the handed
// SESSIOND_* variables are not exec'd into it (SESSIOND_HANDED_ID says
// which executor it became).
constexpr const char* kWarmStub = R"(
import os, sys
print("warm stub ready", flush=True)
data = sys.stdin.buffer.read()
if not data:
    sys.exit(0)
f = data.split(b"\0")
assert f[0] == b"SESSIOND-WARM-1", f[0]
n = int(f[1]); env = dict(x.decode().split("=", 1) for x in f[2:2 + n])
m = int(f[2 + n]); args = [x.decode() for x in f[3 + n:3 + n + m]]
os.environ.update({k: v for k, v in env.items() if not k.startswith("SESSIOND_")})
os.environ["SESSIOND_HANDED_ID"] = env["SESSIOND_EXECUTOR_ID"]
os.execvp(args[0], args)
)";

LaunchRequest Warm(const std::string& id, const std::string& script,
                   std::vector<std::string> warm_command = {"python3", "-c", kWarmStub}) {
  LaunchRequest r;
  r.executor_id = id;
  r.session_id = "session-" + id;
  r.slots = 1;
  r.command = {"sh", "-c", script};
  r.env = {{"SECRET_OF_THE_SESSION", "s3cret"}};
  r.warm_command = std::move(warm_command);
  r.warm_args_from = 0;
  return r;
}

// The pool's processes waiting for a hand-off: marked, with no executor id.
std::vector<local::MarkedProcess> WarmProcesses(const std::string& instance) {
  std::vector<local::MarkedProcess> out;
  for (auto& m : local::scan_marked_processes(instance)) {
    if (m.executor_id.empty()) out.push_back(m);
  }
  return out;
}

// A launcher that re-enters its start directory by name (pyenv's python3
// shim cd's into $PWD) must find it at every instant of a hand-off: the
// move and the link trade places in one step, with no moment between.
TEST_F(LocalBackendTest, AWarmDirectoryMovedAwayIsNeverMissingFromItsOldPath) {
  fs::create_directories(dir_ / "warm");
  fs::create_directories(dir_ / "executors");
  for (int i = 0; i < 20; ++i) {
    const fs::path old_path = dir_ / "warm" / ("w" + std::to_string(i));
    const fs::path new_path = dir_ / "executors" / ("e" + std::to_string(i));
    fs::create_directory(old_path);
    std::atomic<bool> moving{true};
    std::atomic<int> missing{0};
    std::thread looker([&] {
      while (moving.load()) {
        std::error_code ec;
        if (!fs::is_directory(old_path, ec)) missing.fetch_add(1);
      }
    });
    std::this_thread::sleep_for(1ms);
    const std::string target = (fs::path("..") / "executors" / new_path.filename()).string();
    const std::string why = local::move_leaving_link(old_path, new_path, target);
    std::this_thread::sleep_for(1ms);
    moving = false;
    looker.join();
    ASSERT_EQ(why, "");
    EXPECT_EQ(missing.load(), 0) << "move " << i;
    EXPECT_TRUE(fs::is_symlink(old_path));
    EXPECT_TRUE(fs::is_directory(new_path) && !fs::is_symlink(new_path));
    EXPECT_EQ(fs::canonical(old_path), fs::canonical(new_path));
  }
  // Where it is not possible there is nothing to trade with: an error, nothing moved.
  EXPECT_NE(local::move_leaving_link(dir_ / "warm" / "absent", dir_ / "executors" / "x", "../executors/x"), "");
  std::error_code ec;
  EXPECT_FALSE(fs::exists(dir_ / "executors" / "x", ec));
}

TEST_F(LocalBackendTest, AWarmProcessStartedAheadOfNeedBecomesTheNextExecutor) {
  const YAML::Node config = YAML::Load("{warm_pool: 1, warm_pool_refill_delay: 10ms}");
  EventLog log;
  auto& b = Make(log, &config);
  // The first launch of a warm command finds nothing ready: cold, and the pool learns the command.
  ASSERT_TRUE(b.launch(Warm("e1", "echo cold; sleep 30")).is_ok());
  ASSERT_TRUE(log.wait_for("e1", Kind::kRunning));
  // One scan answers both: a process in the middle of an exec shows no
  // environ for a moment, so a second scan may miss it (seen under ASan).
  std::vector<local::MarkedProcess> warm;
  ASSERT_TRUE(WaitUntil([&] {
    warm = WarmProcesses(instance_);
    return warm.size() == 1;
  }));
  const pid_t warm_pid = warm.front().pid;
  // The secret reaches the executor through the hand-off, not its /proc environ.
  EXPECT_EQ(ReadFile("/proc/" + std::to_string(warm_pid) + "/environ").find("s3cret"), std::string::npos);

  ASSERT_TRUE(
      b.launch(Warm("e2", "echo \"id=$SESSIOND_HANDED_ID secret=$SECRET_OF_THE_SESSION\"; pwd -P; sleep 30")).is_ok());
  auto running = log.wait_for("e2", Kind::kRunning);
  ASSERT_TRUE(running);
  const auto id = local::parse_backend_id(running->backend_id);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->pid, warm_pid) << "e2 is the process the pool had started";
  ASSERT_TRUE(WaitForOutput("e2", "id=e2 secret=s3cret")) << ReadFile(Log("e2"));
  const std::string out = ReadFile(Log("e2"));
  EXPECT_NE(out.find("warm stub ready"), std::string::npos) << "its log moved with it: " << out;
  EXPECT_TRUE(WaitForOutput("e2", fs::canonical(dir_ / "executors" / "e2").string()))
      << "its working directory became the executor's: " << ReadFile(Log("e2"));
  EXPECT_EQ(ReadFile(dir_ / "executors" / "e2" / "process"), running->backend_id + "\n");

  // Refilled after the hand-off; the counters tell hits from misses.
  // (e2 itself keeps the pool's marks, as a JVM keeps its environ.)
  pid_t waiting = 0;
  ASSERT_TRUE(WaitUntil([&] {
    for (const auto& w : WarmProcesses(instance_)) waiting = w.pid != warm_pid ? w.pid : waiting;
    return waiting != 0;
  }));
  const auto counters = b.counters();
  EXPECT_EQ(counters.at("warm_missed"), 1u);
  EXPECT_EQ(counters.at("warm_taken"), 1u);
  EXPECT_EQ(counters.at("warm_started"), 2u);

  ASSERT_TRUE(b.stop("e2", 2s).is_ok());
  ASSERT_TRUE(log.wait_for("e2", Kind::kExited));
  // Shut down, the pool lets its waiting process go: it reads end-of-file and exits.
  b.shutdown();
  EXPECT_TRUE(WaitUntil([&] { return ProcessGone(waiting); }));
}

TEST_F(LocalBackendTest, AHandedOffExecutorIsAdoptedAfterARestartAndWaitingOnesAreStopped) {
  const YAML::Node config = YAML::Load("{warm_pool: 1, warm_pool_refill_delay: 10ms}");
  EventLog first;
  auto& a = Make(first, &config);
  ASSERT_TRUE(a.launch(Warm("e1", "sleep 30")).is_ok());
  ASSERT_TRUE(WaitUntil([&] { return WarmProcesses(instance_).size() == 1; }));
  ASSERT_TRUE(a.launch(Warm("e2", "echo handed; sleep 30")).is_ok());
  auto running = first.wait_for("e2", Kind::kRunning);
  ASSERT_TRUE(running);
  ASSERT_TRUE(WaitForOutput("e2", "handed"));
  std::vector<local::MarkedProcess> warm;  // one scan: see AWarmProcessStartedAheadOfNeedBecomesTheNextExecutor
  ASSERT_TRUE(WaitUntil([&] {
    warm = WarmProcesses(instance_);
    return warm.size() == 2;
  })) << "e2 (handed off, so without an executor mark) and the refill";
  const pid_t e2 = local::parse_backend_id(running->backend_id)->pid;
  pid_t refill = 0;
  for (const auto& w : warm) refill = w.pid != e2 ? w.pid : refill;
  // The daemon goes (shut down here; killed, the kernel closes its end the
  // same way): the waiting process reads end-of-file and exits by itself.
  a.shutdown();
  EXPECT_TRUE(WaitUntil([&] { return ProcessGone(refill); }));

  EventLog second;
  auto& b = Make(second);
  // e2's kRunning never reached the store: the file of its hand-off finds it.
  auto rec = b.reconcile({{"e2", "", "", {}}});
  ASSERT_TRUE(rec.is_ok()) << rec.status().to_string();
  EXPECT_EQ(rec->adopted, std::vector<std::string>{"e2"});
  EXPECT_EQ(rec->orphans_stopped, 1) << "e1, unknown to the store";
  EXPECT_FALSE(ProcessGone(e2));
  ASSERT_TRUE(b.stop("e2", 2s).is_ok());
  ASSERT_TRUE(second.wait_for("e2", Kind::kExited));
}

TEST_F(LocalBackendTest, AWarmCommandThatKeepsFailingIsGivenUpAndExecutorsStartCold) {
  const YAML::Node config = YAML::Load("{warm_pool: 1, warm_pool_refill_delay: 10ms}");
  EventLog log;
  auto& b = Make(log, &config);
  ASSERT_TRUE(b.launch(Warm("e1", "echo cold1; sleep 30", {"sh", "-c", "exit 1"})).is_ok());
  ASSERT_TRUE(WaitUntil([&] { return b.counters().at("warm_exited") >= 3; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(b.counters().at("warm_started"), 3u) << "not started again after three failures in a row";
  ASSERT_TRUE(b.launch(Warm("e2", "echo cold2; sleep 30", {"sh", "-c", "exit 1"})).is_ok());
  ASSERT_TRUE(log.wait_for("e2", Kind::kRunning));
  EXPECT_TRUE(WaitForOutput("e2", "cold2"));
  EXPECT_EQ(b.counters().at("warm_missed"), 2u);
}

TEST_F(LocalBackendTest, TheTestExecutorHeartbeatsAndDrainsOnSigterm) {
  EventLog log;
  auto& b = Make(log);
  const fs::path state = dir_ / "state";
  LaunchRequest r;
  r.executor_id = "py1";
  r.session_id = "s1";
  r.command = {std::string(SCHED_SOURCE_DIR) + "/tests/integration/bin/test_executor.py", "--state-dir", state.string(),
               "--term-delay", "0.1"};
  ASSERT_TRUE(b.launch(r).is_ok());
  ASSERT_TRUE(log.wait_for("py1", Kind::kRunning));
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(state / "py1.alive"); }));
  EXPECT_NE(ReadFile(Log("py1")).find("SESSIOND_EXECUTOR_ID=py1"), std::string::npos);
  ASSERT_TRUE(b.stop("py1", 5s).is_ok());
  auto exited = log.wait_for("py1", Kind::kExited);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code, 0) << ReadFile(Log("py1"));
}

TEST_F(LocalBackendTest, TheTestExecutorCrashesOnCue) {
  EventLog log;
  auto& b = Make(log);
  LaunchRequest r;
  r.executor_id = "py1";
  r.command = {std::string(SCHED_SOURCE_DIR) + "/tests/integration/bin/test_executor.py", "--exit-after", "0.1",
               "--exit-code", "5"};
  ASSERT_TRUE(b.launch(r).is_ok());
  auto exited = log.wait_for("py1", Kind::kExited);
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exit_code, 5);
}

// Configuration: the section as the daemon hands it over.
class LocalBackendConfigTest : public ::testing::Test {
 protected:
  Result<LocalBackendConfig> Read(const std::string& text) {
    auto root = config::load_yaml(text, "sessiond.yaml");
    EXPECT_TRUE(root.is_ok());
    root_ = *root;
    const YAML::Node& doc = root_;
    section_ = doc["backend"]["local"];
    return read_local_backend_config(&section_, "sessiond.yaml");
  }
  void ExpectError(const std::string& text, const std::string& message) {
    auto r = Read(text);
    ASSERT_FALSE(r.is_ok()) << "expected: " << message;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().substr(0, message.size()), message) << r.status().message();
  }
  YAML::Node root_;
  YAML::Node section_;
};

TEST_F(LocalBackendConfigTest, VirtualHosts) {
  auto c = Read(
      "backend:\n"
      "  local:\n"
      "    hosts:\n"
      "      - {name: h1, cpu: 4, memory: 16Gi}\n"
      "      - {name: h2, cpu: 500m, memory: 512Mi, gpu: 1}\n"
      "    orphan_grace: 500ms\n");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  ASSERT_EQ(c->hosts.size(), 2u);
  EXPECT_EQ(c->hosts[0].name, "h1");
  EXPECT_EQ(c->hosts[0].capacity, core::Resources::cpu_mem(4000, 16384));
  EXPECT_EQ(c->hosts[1].capacity[core::kCpu], 500);
  EXPECT_EQ(c->hosts[1].capacity[core::kGpu], 1000);
  EXPECT_EQ(c->orphan_grace, 500ms);
}

TEST_F(LocalBackendConfigTest, OneHostWithTheMachinesCapacityByDefault) {
  auto none = read_local_backend_config(nullptr, "sessiond.yaml");
  ASSERT_TRUE(none.is_ok()) << none.status().to_string();
  ASSERT_EQ(none->hosts.size(), 1u);
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  EXPECT_EQ(none->hosts[0].name, name);
  EXPECT_EQ(none->hosts[0].capacity[core::kCpu], std::thread::hardware_concurrency() * 1000);
  EXPECT_GT(none->hosts[0].capacity[core::kMemory], 0);

  auto no_reserve = Read("backend: {local: {reserve_memory: 0}}\n");
  ASSERT_TRUE(no_reserve.is_ok());
  EXPECT_EQ(no_reserve->hosts[0].capacity[core::kMemory] - none->hosts[0].capacity[core::kMemory], 1024);

  auto given = Read("backend: {local: {host: box, cpu: 2, memory: 4Gi, gpu: 0}}\n");
  ASSERT_TRUE(given.is_ok());
  EXPECT_EQ(given->hosts[0].name, "box");
  EXPECT_EQ(given->hosts[0].capacity, core::Resources::cpu_mem(2000, 4096));
}

TEST_F(LocalBackendConfigTest, ErrorsNameTheFileLineAndField) {
  ExpectError(
      "backend:\n"
      "  local:\n"
      "    hosts:\n"
      "      - {name: h1, cpu: lots, memory: 1Gi}\n",
      "sessiond.yaml:4: backend.local.hosts[0].cpu: ");
  ExpectError(
      "backend:\n"
      "  local:\n"
      "    cpu: abc\n",
      "sessiond.yaml:3: backend.local.cpu: ");
  ExpectError(
      "backend:\n"
      "  local:\n"
      "    cpus: 4\n",
      "sessiond.yaml:3: backend.local.cpus: unknown field");
  ExpectError(
      "backend:\n"
      "  local:\n"
      "    hosts: [{name: h1, cpu: 1}]\n"
      "    cpu: 4\n",
      "sessiond.yaml:4: backend.local.cpu: cannot be combined with hosts");
  ExpectError("backend: {local: {hosts: []}}\n", "sessiond.yaml:1: backend.local.hosts: needs at least one host");
  ExpectError("backend: {local: {reserve_memory: lots}}\n", "sessiond.yaml:1: backend.local.reserve_memory: ");
  ExpectError("backend: {local: {orphan_grace: soon}}\n", "sessiond.yaml:1: backend.local.orphan_grace: ");
  ExpectError("backend: {local: {warm_pool: -1}}\n", "sessiond.yaml:1: backend.local.warm_pool: must be from 0 to 64");
  ExpectError("backend: {local: {warm_pool: many}}\n", "sessiond.yaml:1: backend.local.warm_pool: ");
  ExpectError("backend: {local: {warm_pool_idle: later}}\n", "sessiond.yaml:1: backend.local.warm_pool_idle: ");
  ExpectError("backend: {local: {class_data: maybe}}\n", "sessiond.yaml:1: backend.local.class_data: ");
  ExpectError("backend: {local: {class_data_dir: ''}}\n",
              "sessiond.yaml:1: backend.local.class_data_dir: must not be empty");
  ExpectError("backend: {local: {class_data_train: 0s}}\n",
              "sessiond.yaml:1: backend.local.class_data_train: must be longer than 0");
}

TEST_F(LocalBackendConfigTest, ClassDataIsOnByDefaultWithTheDirectoryLeftToTheBackend) {
  auto none = read_local_backend_config(nullptr, "sessiond.yaml");
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->class_data.enabled);
  EXPECT_TRUE(none->class_data.dir.empty());
  EXPECT_EQ(none->class_data.train, 20s);
  auto given = Read("backend: {local: {class_data: false, class_data_dir: /srv/cds, class_data_train: 5s}}\n");
  ASSERT_TRUE(given.is_ok()) << given.status().to_string();
  EXPECT_FALSE(given->class_data.enabled);
  EXPECT_EQ(given->class_data.dir, "/srv/cds");
  EXPECT_EQ(given->class_data.train, 5s);
}

TEST(LocalBackendFactoryTest, RegistersAsLocalOnceAndReportsConfigErrors) {
  ASSERT_TRUE(register_local_backend().is_ok());
  ASSERT_TRUE(register_local_backend().is_ok());
  const auto names = backend_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "local"), names.end());

  asio::io_context io;
  BackendContext c;
  c.io = &io;
  c.data_dir = (fs::temp_directory_path() / "local-backend-factory-test").string();
  c.instance_id = "factory-test";
  c.config_source = "sessiond.yaml";
  auto b = create_backend("local", c);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ((*b)->name(), "local");

  auto root = config::load_yaml("backend:\n  local:\n    cpu: -2\n", "sessiond.yaml");
  ASSERT_TRUE(root.is_ok());
  const YAML::Node section = (*root)["backend"]["local"];
  c.config = &section;
  auto bad = create_backend("local", c);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message().rfind("sessiond.yaml:3: backend.local.cpu: ", 0), 0u) << bad.status().message();

  c.config = nullptr;
  c.instance_id.clear();
  EXPECT_EQ(create_backend("local", c).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sched::backend
