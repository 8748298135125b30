// Tests the local backend's class-data archives: which commands they apply
// to, what their key depends on, and with the machine's real JDK the whole
// round: a training launch, the dump, and a later launch mapping the archive.
#include "class_data.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace sched::backend::local {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Argv = std::vector<std::string>;

bool Has(const Argv& argv, const std::string& prefix) {
  return std::any_of(argv.begin(), argv.end(), [&](const std::string& a) { return a.rfind(prefix, 0) == 0; });
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Runs argv to its end; its exit status, -1 when it could not start.
int RunToEnd(const Argv& argv, const fs::path& out) {
  SpawnSpec spec;
  spec.argv = argv;
  spec.env = current_environment();
  spec.working_dir = out.parent_path().string();
  auto fd = open_output_file(out.string());
  if (!fd) return -1;
  spec.output_fd = *fd;
  auto pid = spawn_in_new_session(spec);
  ::close(*fd);
  if (!pid) return -1;
  int status = 0;
  ::waitpid(*pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A JDK on PATH (the Spark tests need one anyway): the java beside javac.
std::string FindJavac() {
  const char* path = std::getenv("PATH");
  std::string rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const fs::path candidate = fs::path(rest.substr(0, colon)) / "javac";
    if (::access(candidate.c_str(), X_OK) == 0) return fs::canonical(candidate).string();
    rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
  }
  return "";
}

class ClassDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("class-data-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (cache_) cache_->shutdown();
    cache_.reset();
    work_.reset();
    io_.stop();
    thread_.join();
    fs::remove_all(dir_);
  }
  ClassDataCache& Cache(std::chrono::milliseconds train) {
    ClassDataConfig config;
    config.dir = (dir_ / "archives").string();
    config.train = train;
    cache_ = ClassDataCache::create(io_, config, current_environment());
    return *cache_;
  }

  fs::path dir_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::shared_ptr<ClassDataCache> cache_;
};

TEST(ParseJvmCommandTest, FindsTheClasspathAndTheOptionsThatMatterForSharing) {
  auto jvm = parse_jvm_command({"/usr/lib/jvm/bin/java", "-cp", "/spark/jars/*", "-Xmx512m", "-Dspark.x=1",
                                "--add-opens", "java.base/java.lang=ALL-UNNAMED", "-Xlog:gc", "-XX:+UseG1GC",
                                "-javaagent:/a.jar", "org.example.Main", "-Xmx9g", "--cores", "2"});
  ASSERT_TRUE(jvm);
  EXPECT_EQ(jvm->java, "/usr/lib/jvm/bin/java");
  EXPECT_EQ(jvm->classpath, "/spark/jars/*");
  // Settings, logging and agents are not the archive's business; the main
  // class's own arguments are not the JVM's.
  EXPECT_EQ(jvm->options, (Argv{"-Xmx512m", "--add-opens", "java.base/java.lang=ALL-UNNAMED", "-XX:+UseG1GC"}));

  auto long_form = parse_jvm_command({"java", "--class-path=/a.jar:/b", "Main"});
  ASSERT_TRUE(long_form);
  EXPECT_EQ(long_form->classpath, "/a.jar:/b");
}

TEST(ParseJvmCommandTest, LeavesAloneWhatIsNotAPlainJavaCommand) {
  EXPECT_FALSE(parse_jvm_command({}));
  EXPECT_FALSE(parse_jvm_command({"/bin/sh", "-c", "java -cp x Main"}));
  EXPECT_FALSE(parse_jvm_command({"javaw", "-cp", "x", "Main"}));
  EXPECT_FALSE(parse_jvm_command({"java", "Main"}));             // no classpath: nothing to key on
  EXPECT_FALSE(parse_jvm_command({"java", "-cp", "x"}));         // no main class
  EXPECT_FALSE(parse_jvm_command({"java", "-cp"}));              // the value is missing
  EXPECT_FALSE(parse_jvm_command({"java", "-jar", "app.jar"}));  // the classpath is in the jar
  EXPECT_FALSE(parse_jvm_command({"java", "@args.txt", "-cp", "x", "Main"}));
  EXPECT_FALSE(parse_jvm_command({"java", "-cp", "x", "-m", "mod/Main"}));
  // The user manages class sharing already.
  EXPECT_FALSE(parse_jvm_command({"java", "-Xshare:off", "-cp", "x", "Main"}));
  EXPECT_FALSE(parse_jvm_command({"java", "-XX:SharedArchiveFile=a.jsa", "-cp", "x", "Main"}));
  EXPECT_FALSE(parse_jvm_command({"java", "-XX:ArchiveClassesAtExit=a.jsa", "-cp", "x", "Main"}));
}

TEST_F(ClassDataTest, TheKeyFollowsTheJarsAndTheOptionsNotTheSettings) {
  const fs::path jar = dir_ / "a.jar";
  std::ofstream(jar) << "one";
  const Argv base = {"java", "-cp", jar.string(), "-Xmx1g", "Main"};
  const std::string key = class_data_key(*parse_jvm_command(base));
  EXPECT_EQ(key.size(), 16U);
  EXPECT_EQ(class_data_key(*parse_jvm_command(base)), key);
  EXPECT_EQ(class_data_key(*parse_jvm_command({"java", "-cp", jar.string(), "-Xmx1g", "-Dx=y", "Main", "arg"})), key);
  EXPECT_NE(class_data_key(*parse_jvm_command({"java", "-cp", jar.string(), "-Xmx2g", "Main"})), key);
  // A jar rewritten in place: the old archive would be rejected, so a new key.
  std::ofstream(jar, std::ios::trunc) << "two, longer";
  EXPECT_NE(class_data_key(*parse_jvm_command(base)), key);
}

TEST_F(ClassDataTest, DefaultDirectoryIsTheUsersCacheThenTheDataDirectory) {
  EXPECT_EQ(default_class_data_dir({{"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}}, "/data"),
            "/x/session-scheduler/class-data");
  EXPECT_EQ(default_class_data_dir({{"HOME", "/h"}}, "/data"), "/h/.cache/session-scheduler/class-data");
  EXPECT_EQ(default_class_data_dir({{"HOME", "relative"}}, "/data"), "/data/class-data");
  EXPECT_EQ(default_class_data_dir({}, "/data"), "/data/class-data");
}

TEST_F(ClassDataTest, OtherCommandsAreLeftUnchanged) {
  auto& cache = Cache(50ms);
  const Argv sh = {"/bin/sh", "-c", "true"};
  EXPECT_EQ(cache.apply(sh), sh);
  EXPECT_EQ(cache.counters().at("class_data_trained"), 0U);
}

TEST_F(ClassDataTest, ACommandThatRecordsNoClassListIsGivenUpWithoutRetrying) {
  // Named java but records nothing (a wrapper, or a JVM that never started).
  const fs::path fake = dir_ / "bin" / "java";
  fs::create_directories(fake.parent_path());
  std::ofstream(fake) << "#!/bin/sh\nexit 0\n";
  fs::permissions(fake, fs::perms::owner_all);
  fs::create_directories(dir_ / "cp");
  auto& cache = Cache(100ms);
  const Argv cmd = {fake.string(), "-cp", (dir_ / "cp").string(), "Main"};
  const Argv first = cache.apply(cmd);
  EXPECT_TRUE(Has(first, "-XX:DumpLoadedClassList="));
  EXPECT_EQ(RunToEnd(first, dir_ / "fake.out"), 0);
  ASSERT_TRUE(WaitUntil([&] { return cache.counters().at("class_data_failed") == 1; }, 10s));
  EXPECT_EQ(cache.apply(cmd), cmd);  // not trained again until a restart
  EXPECT_EQ(cache.counters().at("class_data_trained"), 1U);
  EXPECT_EQ(cache.counters().at("class_data_made"), 0U);
}

// A jar of one class printing "hello <number of arguments>", built with the
// machine's JDK; the java beside javac. Empty when there is no JDK.
struct HelloJar {
  std::string java, jar;
};
std::optional<HelloJar> BuildHelloJar(const fs::path& dir) {
  const std::string javac = FindJavac();
  if (javac.empty()) return std::nullopt;
  const fs::path classes = dir / "classes";
  fs::create_directories(classes);
  std::ofstream(classes / "Hello.java") << "public class Hello { public static void main(String[] a) {"
                                           " System.out.println(\"hello \" + java.util.List.of(a).size()); } }\n";
  const fs::path bin = fs::path(javac).parent_path();
  // Class sharing takes jars only (a non-empty directory on the path fails the dump).
  const std::string jar = (dir / "hello.jar").string();
  if (RunToEnd({javac, "-d", classes.string(), (classes / "Hello.java").string()}, dir / "javac.out") != 0 ||
      RunToEnd({(bin / "jar").string(), "cf", jar, "-C", classes.string(), "Hello.class"}, dir / "jar.out") != 0) {
    ADD_FAILURE() << ReadFile(dir / "javac.out") << ReadFile(dir / "jar.out");
    return std::nullopt;
  }
  return HelloJar{(bin / "java").string(), jar};
}

TEST_F(ClassDataTest, WithTheRealJdkTheFirstLaunchTrainsAndLaterOnesMapTheArchive) {
  const auto hello = BuildHelloJar(dir_);
  if (!hello) GTEST_SKIP() << "no javac on PATH";
  const std::string& java = hello->java;
  const std::string& jar = hello->jar;

  auto& cache = Cache(300ms);
  const Argv cmd = {java, "-cp", jar, "-Xmx64m", "Hello", "x", "y"};
  const Argv training = cache.apply(cmd);
  ASSERT_TRUE(Has(training, "-XX:DumpLoadedClassList=")) << "the first launch records its classes";
  EXPECT_EQ(training[0], java);
  EXPECT_EQ(RunToEnd(training, dir_ / "training.out"), 0);
  EXPECT_EQ(ReadFile(dir_ / "training.out"), "hello 2\n");
  // While the dump runs, launches start as before.
  EXPECT_FALSE(Has(cache.apply(cmd), "-XX:"));

  ASSERT_TRUE(WaitUntil(
      [&] {
        const auto c = cache.counters();
        return c.at("class_data_made") + c.at("class_data_failed") > 0;
      },
      120s));
  ASSERT_EQ(cache.counters().at("class_data_made"), 1U) << [&] {
    std::string logs;
    for (const auto& e : fs::directory_iterator(dir_ / "archives")) logs += ReadFile(e.path()).substr(0, 3000);
    return logs;
  }();
  const Argv mapped = cache.apply(cmd);
  ASSERT_TRUE(Has(mapped, "-XX:SharedArchiveFile=" + (dir_ / "archives").string()));
  // -Xshare:on: the JVM refuses to start unless it maps the archive.
  Argv strict = mapped;
  strict.insert(strict.begin() + 1, "-Xshare:on");
  EXPECT_EQ(RunToEnd(strict, dir_ / "mapped.out"), 0) << ReadFile(dir_ / "mapped.out");
  EXPECT_EQ(ReadFile(dir_ / "mapped.out"), "hello 2\n");
  EXPECT_EQ(cache.counters().at("class_data_used"), 1U);
  // Only the archive stays: the class list and the dump's log are gone.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "archives")) {
    EXPECT_EQ(e.path().extension(), ".jsa") << e.path();
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(ClassDataTest, ADaemonStoppingBeforeTheTrainingEndsStillLeavesAnArchive) {
  const auto hello = BuildHelloJar(dir_);
  if (!hello) GTEST_SKIP() << "no javac on PATH";
  auto& cache = Cache(std::chrono::hours(1));
  const Argv cmd = {hello->java, "-cp", hello->jar, "Hello"};
  const Argv training = cache.apply(cmd);
  ASSERT_TRUE(Has(training, "-XX:DumpLoadedClassList="));
  ASSERT_EQ(RunToEnd(training, dir_ / "training.out"), 0);
  cache.shutdown();  // long before the training time: the dump starts now and finishes alone
  const std::string key = class_data_key(*parse_jvm_command(cmd));
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(dir_ / "archives" / (key + ".jsa")); }, 120s));
  // Its class list goes with it; a new cache maps the archive at once.
  ASSERT_TRUE(WaitUntil(
      [&] {
        int lists = 0;
        for (const auto& e : fs::directory_iterator(dir_ / "archives")) lists += e.path().extension() == ".classlist";
        return lists == 0;
      },
      10s));
  auto& again = Cache(std::chrono::hours(1));
  EXPECT_TRUE(Has(again.apply(cmd), "-XX:SharedArchiveFile="));
}

}  // namespace
}  // namespace sched::backend::local
