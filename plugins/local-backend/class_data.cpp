// ClassDataCache: which executor command trains an archive, the background
// dump that makes it, and the option that lets later executors map it.
#include "class_data.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string_view>

#include "common/stable_hash.hpp"
#include "process.hpp"

namespace sched::backend::local {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Options naming class sharing: a command with one manages it itself.
constexpr std::array<std::string_view, 6> kSharingOptions = {"-Xshare",
                                                             "-XX:SharedArchiveFile",
                                                             "-XX:ArchiveClassesAtExit",
                                                             "-XX:SharedClassListFile",
                                                             "-XX:DumpLoadedClassList",
                                                             "-XX:+AutoCreateSharedArchive"};

// Options whose value is the next argument (the launcher's own spelling).
constexpr std::array<std::string_view, 10> kOptionsWithValue = {
    "--add-opens", "--add-exports",         "--add-reads",     "--add-modules",  "--module-path",
    "-p",          "--upgrade-module-path", "--limit-modules", "--patch-module", "--enable-native-access"};

// Left out of the dump and the key: they change what runs, not which classes
// the JVM can share (settings, logging, agents).
bool irrelevant_to_sharing(std::string_view opt) {
  return starts_with(opt, "-D") || starts_with(opt, "-Xlog") || starts_with(opt, "-verbose") ||
         starts_with(opt, "-javaagent") || starts_with(opt, "-agentlib") || starts_with(opt, "-agentpath");
}

// A file's size and modification time, or "-" when it cannot be read.
std::string stat_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_size) + "." + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

std::int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

}  // namespace

std::optional<JvmCommand> parse_jvm_command(const std::vector<std::string>& argv) {
  if (argv.empty() || fs::path(argv[0]).filename() != "java") return std::nullopt;
  JvmCommand out;
  out.java = argv[0];
  bool has_main = false;
  for (std::size_t i = 1; i < argv.size() && !has_main; ++i) {
    const std::string& a = argv[i];
    if (a == "-cp" || a == "-classpath" || a == "--class-path") {
      if (i + 1 >= argv.size()) return std::nullopt;
      out.classpath = argv[++i];
    } else if (starts_with(a, "--class-path=")) {
      out.classpath = a.substr(std::string_view("--class-path=").size());
    } else if (a == "-jar" || starts_with(a, "@") || a == "-m" || a == "--module" || starts_with(a, "--module=")) {
      return std::nullopt;
    } else if (starts_with(a, "-")) {
      for (const auto s : kSharingOptions) {
        if (starts_with(a, s)) return std::nullopt;
      }
      bool takes_value = false;
      for (const auto o : kOptionsWithValue) takes_value = takes_value || a == o;
      if (takes_value) {
        if (i + 1 >= argv.size()) return std::nullopt;
        out.options.push_back(a);
        out.options.push_back(argv[++i]);
      } else if (!irrelevant_to_sharing(a)) {
        out.options.push_back(a);
      }
    } else {
      has_main = true;
    }
  }
  if (!has_main || out.classpath.empty()) return std::nullopt;
  return out;
}

std::string class_data_key(const JvmCommand& jvm) {
  // Between parts, so that no two commands' parts run together alike
  // (a "\0" literal alone would be an empty view and hash nothing).
  constexpr std::string_view kSeparator("\0", 1);
  std::error_code ec;
  const fs::path java = fs::canonical(jvm.java, ec);
  std::uint64_t h = fnv1a(ec ? jvm.java : java.string());
  h = fnv1a(stat_of(ec ? jvm.java : java.string()), fnv1a(kSeparator, h));
  // A wildcard entry ("jars/*") is judged by its directory: adding, removing
  // or replacing a jar there changes the directory's time.
  std::string_view rest = jvm.classpath;
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    std::string entry(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    h = fnv1a(entry, fnv1a(kSeparator, h));
    if (entry.size() >= 1 && entry.back() == '*') entry.pop_back();
    if (entry.empty()) entry = ".";
    h = fnv1a(stat_of(entry), fnv1a(kSeparator, h));
  }
  for (const auto& o : jvm.options) h = fnv1a(o, fnv1a(kSeparator, h));
  return hex16(h);
}

std::string default_class_data_dir(const std::map<std::string, std::string>& env, const std::string& data_dir) {
  auto get = [&env](const char* k) -> std::string {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  if (const auto xdg = get("XDG_CACHE_HOME"); !xdg.empty() && xdg.front() == '/') {
    return (fs::path(xdg) / "session-scheduler" / "class-data").string();
  }
  if (const auto home = get("HOME"); !home.empty() && home.front() == '/') {
    return (fs::path(home) / ".cache" / "session-scheduler" / "class-data").string();
  }
  return (fs::path(data_dir) / "class-data").string();
}

class ClassDataCache::Impl : public std::enable_shared_from_this<ClassDataCache::Impl> {
 public:
  Impl(asio::io_context& io, ClassDataConfig config, std::map<std::string, std::string> env)
      : io_(io), config_(std::move(config)), env_(std::move(env)) {}

  std::vector<std::string> apply(const std::vector<std::string>& argv) {
    if (!config_.enabled) return argv;
    const auto jvm = parse_jvm_command(argv);
    if (!jvm) return argv;
    const std::string key = class_data_key(*jvm);
    const fs::path archive = fs::path(config_.dir) / (key + ".jsa");
    std::vector<std::string> out = argv;
    std::error_code ec;
    if (fs::is_regular_file(archive, ec)) {
      out.insert(out.begin() + 1, "-XX:SharedArchiveFile=" + archive.string());
      std::lock_guard lock(mu_);
      ++used_;
      return out;
    }
    std::lock_guard lock(mu_);
    if (closed_ || keys_.count(key) != 0) return argv;  // training, dumping, or failed once
    fs::create_directories(config_.dir, ec);
    if (ec) {
      keys_[key].state = State::kFailed;
      spdlog::warn("local backend: class data: cannot create '{}': {}; executors start without an archive", config_.dir,
                   ec.message());
      return argv;
    }
    // Named by this daemon's pid: daemons sharing the directory never write one file.
    const std::string stem = key + "." + std::to_string(::getpid());
    Entry& e = keys_[key];
    e.state = State::kTraining;
    e.jvm = *jvm;
    e.class_list = (fs::path(config_.dir) / (stem + ".classlist")).string();
    e.temp = (fs::path(config_.dir) / (stem + ".jsa.tmp")).string();
    e.archive = archive.string();
    e.timer = std::make_unique<asio::steady_timer>(io_, config_.train);
    e.timer->async_wait([self = weak_from_this(), key](const boost::system::error_code& tec) {
      if (tec) return;
      if (auto impl = self.lock()) impl->dump(key);
    });
    fs::remove(e.class_list, ec);
    out.insert(out.begin() + 1, "-XX:DumpLoadedClassList=" + e.class_list);
    ++trained_;
    spdlog::info(
        "local backend: class data: this executor records the classes it loads for {} ms; an archive "
        "for its JVM command ({}) is made from them",
        config_.train.count(), key);
    return out;
  }

  std::map<std::string, std::uint64_t> counters() const {
    std::lock_guard lock(mu_);
    return {{"class_data_used", used_},
            {"class_data_trained", trained_},
            {"class_data_made", made_},
            {"class_data_failed", failed_}};
  }

  // Training under way is dumped now rather than lost: a daemon that lives
  // less than the training time (a test, a short demo) still leaves an
  // archive for the next. Dumps go on after it: each renames its own result.
  void shutdown() {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    for (auto& [key, e] : keys_) {
      if (e.timer) e.timer->cancel();
      if (e.state == State::kTraining) start_dump(e);
      boost::system::error_code ignored;
      if (e.pidfd) e.pidfd->close(ignored);
    }
  }

 private:
  enum class State : std::uint8_t { kTraining, kDumping, kFailed };
  struct Entry {
    State state = State::kTraining;
    JvmCommand jvm;
    std::string class_list, temp, archive;
    std::unique_ptr<asio::steady_timer> timer;
    pid_t pid = 0;
    std::unique_ptr<asio::posix::stream_descriptor> pidfd;
    Clock::time_point started;
  };

  // The training time is over: make the archive from the list recorded so far.
  void dump(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = keys_.find(key);
    if (closed_ || it == keys_.end() || it->second.state != State::kTraining) return;
    Entry& e = it->second;
    if (start_dump(e)) watch(key, e);
  }

  // REQUIRES: mu_ held; e in kTraining. Starts java -Xshare:dump in its own
  // session at nice 10; the shell around it renames the archive into place
  // (the rename is what makes it visible: a launch never maps half a file)
  // and removes the class list, so a dump needs no daemon to finish.
  bool start_dump(Entry& e) {
    std::error_code ec;
    if (fs::file_size(e.class_list, ec) == 0 || ec) {
      fail(e, "the executor recorded no class list (it did not start, or its JVM cannot record one)");
      return false;
    }
    SpawnSpec spec;
    spec.argv = {"nice",
                 "-n",
                 "10",
                 "sh",
                 "-c",
                 R"(list=$1 tmp=$2 final=$3; shift 3; "$@" && mv -f -- "$tmp" "$final" && rm -f -- "$list")",
                 "sh",
                 e.class_list,
                 e.temp,
                 e.archive,
                 e.jvm.java,
                 "-Xshare:dump",
                 "-XX:SharedClassListFile=" + e.class_list,
                 "-XX:SharedArchiveFile=" + e.temp,
                 "-cp",
                 e.jvm.classpath};
    spec.argv.insert(spec.argv.end(), e.jvm.options.begin(), e.jvm.options.end());
    spec.env = env_;
    spec.working_dir = config_.dir;
    auto log = open_output_file(log_path(e));
    if (!log) {
      fail(e, log.status().message());
      return false;
    }
    spec.output_fd = *log;
    auto pid = spawn_in_new_session(spec);
    ::close(*log);
    if (!pid) {
      fail(e, pid.status().message());
      return false;
    }
    e.state = State::kDumping;
    e.pid = *pid;
    e.started = Clock::now();
    auto fd = open_pidfd(*pid);
    if (!fd) {
      spdlog::warn("local backend: class data: cannot watch the dump for {} (pid {}): {}", e.archive, *pid,
                   fd.status().message());
      return false;
    }
    e.pidfd = std::make_unique<asio::posix::stream_descriptor>(io_, *fd);
    return true;
  }

  // REQUIRES: mu_ held.
  void watch(const std::string& key, Entry& e) {
    e.pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                        [self = weak_from_this(), key](const boost::system::error_code& ec) {
                          if (ec == asio::error::operation_aborted) return;
                          if (auto impl = self.lock()) impl->on_dump_exit(key);
                        });
  }

  void on_dump_exit(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = keys_.find(key);
    if (closed_ || it == keys_.end() || it->second.state != State::kDumping) return;
    Entry& e = it->second;
    const ExitStatus st = reap_exited(e.pidfd->native_handle(), e.pid);
    if (st.kind == ExitStatus::Kind::kNotYet) {
      watch(key, e);
      return;
    }
    boost::system::error_code ignored;
    e.pidfd->close(ignored);
    std::error_code ec;
    if (st.code != 0 || !fs::is_regular_file(e.archive, ec)) {
      fail(e, "java -Xshare:dump exited with status " + std::to_string(st.code));
      return;
    }
    ++made_;
    spdlog::info("local backend: class data: archive {} made in {} ms ({} MiB); executors of its command map it",
                 e.archive, ms_since(e.started), fs::file_size(e.archive, ec) >> 20);
    fs::remove(log_path(e), ec);
    keys_.erase(it);  // from now on the file answers
  }

  // REQUIRES: mu_ held. Not tried again until the daemon restarts: the log says why.
  void fail(Entry& e, const std::string& why) {
    e.state = State::kFailed;
    ++failed_;
    std::error_code ec;
    fs::remove(e.temp, ec);
    fs::remove(e.class_list, ec);
    spdlog::warn("local backend: class data: no archive for {}: {} (log: {}); executors start without one", e.archive,
                 why, log_path(e));
  }

  static std::string log_path(const Entry& e) { return e.temp.substr(0, e.temp.size() - 8) + ".log"; }

  asio::io_context& io_;
  const ClassDataConfig config_;
  const std::map<std::string, std::string> env_;
  mutable std::mutex mu_;
  bool closed_ = false;
  std::map<std::string, Entry> keys_;  // commands being trained or dumped, or that failed
  std::uint64_t used_ = 0, trained_ = 0, made_ = 0, failed_ = 0;
};

std::shared_ptr<ClassDataCache> ClassDataCache::create(asio::io_context& io, ClassDataConfig config,
                                                       std::map<std::string, std::string> env) {
  // What a daemon killed mid-training or mid-dump left: old enough that no
  // live daemon sharing the directory still writes it.
  std::error_code ec;
  const auto stale_before = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (fs::directory_iterator it(config.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool leftover = name.ends_with(".classlist") || name.ends_with(".jsa.tmp") || name.ends_with(".log");
    std::error_code tec;
    if (leftover && it->last_write_time(tec) < stale_before && !tec) fs::remove(it->path(), tec);
  }
  return std::shared_ptr<ClassDataCache>(
      new ClassDataCache(std::make_shared<Impl>(io, std::move(config), std::move(env))));
}

ClassDataCache::ClassDataCache(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClassDataCache::~ClassDataCache() {
  try {
    impl_->shutdown();
  } catch (...) {  // NOLINT(bugprone-empty-catch): only allocation throws there; a destructor must not
  }
}

std::vector<std::string> ClassDataCache::apply(const std::vector<std::string>& argv) {
  return impl_->apply(argv);
}
std::map<std::string, std::uint64_t> ClassDataCache::counters() const {
  return impl_->counters();
}
void ClassDataCache::shutdown() {
  impl_->shutdown();
}

}  // namespace sched::backend::local
