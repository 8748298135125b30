// Class-data archives (the JDK's AppCDS) for executor JVMs started cold: the
// first executor of a JVM command records the classes it loads, an archive
// is made from that list in the background, and later executors of the
// command map it instead of parsing and verifying those classes one by one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace sched::backend::local {

struct ClassDataConfig {
  bool enabled = true;
  // Shared by every daemon of the user: an archive is made once per JVM
  // command and machine. Empty: $XDG_CACHE_HOME/session-scheduler/class-data,
  // else ~/.cache/session-scheduler/class-data, else <data_dir>/class-data.
  std::string dir;
  // How long the first executor of a command records before the archive is
  // made from its list: long enough to take in its start and first tasks.
  std::chrono::milliseconds train{std::chrono::seconds(20)};
};

// What a class-data archive of a `java` command depends on.
struct JvmCommand {
  std::string java;                  // argv[0]
  std::string classpath;             // -cp / -classpath / --class-path
  std::vector<std::string> options;  // the JVM options it is made with too (heap, GC, modules)
};
// nullopt: not a java command with a classpath and a main class, or one that
// manages class sharing itself (-Xshare, -XX:SharedArchiveFile, ...) or
// starts from a jar or an @argfile.
std::optional<JvmCommand> parse_jvm_command(const std::vector<std::string>& argv);

// The archive's file name stem: a hash of the command's parts and of the
// java binary's and classpath entries' sizes and times, so that an upgraded
// JDK or a changed jar makes a new archive rather than a rejected one.
std::string class_data_key(const JvmCommand& jvm);

// Thread-safe. The dump (java -Xshare:dump) runs at nice 10 in its own
// session and renames its archive into place itself, so it finishes after
// the daemon too; shutdown() starts the dump of a training under way.
class ClassDataCache {
 public:
  // `env` is the environment dumps run with (the daemon's). `dir` must be set
  // (resolve the default with default_class_data_dir); it is created on use.
  static std::shared_ptr<ClassDataCache> create(boost::asio::io_context& io, ClassDataConfig config,
                                                std::map<std::string, std::string> env);
  ~ClassDataCache();
  ClassDataCache(const ClassDataCache&) = delete;
  ClassDataCache& operator=(const ClassDataCache&) = delete;

  // The command to start for `argv`: with -XX:SharedArchiveFile when its
  // archive exists, with -XX:DumpLoadedClassList when it is the first of its
  // kind (it trains the archive), else unchanged.
  std::vector<std::string> apply(const std::vector<std::string>& argv);

  // class_data_used (launches given an archive), class_data_trained
  // (launches that recorded a class list), class_data_made, class_data_failed.
  std::map<std::string, std::uint64_t> counters() const;

  void shutdown();

 private:
  class Impl;
  explicit ClassDataCache(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

std::string default_class_data_dir(const std::map<std::string, std::string>& env, const std::string& data_dir);

}  // namespace sched::backend::local
