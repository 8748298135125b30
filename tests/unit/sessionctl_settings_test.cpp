// Tests how sessionctl picks its server and token from flags, environment
// and the daemon's default token file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "client/cpp/server_address.hpp"
#include "client/sessionctl/commands.hpp"
#include "client/sessionctl/connection_settings.hpp"

namespace sched::sessionctl {
namespace {

namespace fs = std::filesystem;

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("sessionctl-test-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return path_ / name;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(SessionctlServerAddressTest, ParsesHostPortForms) {
  auto a = client::parse_server_address("example.org:9000");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->host, "example.org");
  EXPECT_EQ(a->port, 9000);

  auto b = client::parse_server_address("10.0.0.1");
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->port, client::kDefaultPort);

  auto c = client::parse_server_address("[::1]:7421");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 7421);
  EXPECT_EQ(c->to_string(), "[::1]:7421");
}

TEST(SessionctlServerAddressTest, RejectsBadAddresses) {
  for (const char* bad : {"", ":7420", "host:", "host:0", "host:65536", "host:12x", "::1", "[::1", "[::1]x"}) {
    EXPECT_EQ(client::parse_server_address(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SessionctlSettingsTest, ServerFlagThenEnvThenDefault) {
  auto flag = resolve_server("a:1", fake_env({{kServerEnv, "b:2"}}));
  ASSERT_TRUE(flag.is_ok());
  EXPECT_EQ(flag->to_string(), "a:1");

  auto env = resolve_server("", fake_env({{kServerEnv, "b:2"}}));
  ASSERT_TRUE(env.is_ok());
  EXPECT_EQ(env->to_string(), "b:2");

  auto dflt = resolve_server("", fake_env({}));
  ASSERT_TRUE(dflt.is_ok());
  EXPECT_EQ(dflt->to_string(), "127.0.0.1:7420");

  auto bad = resolve_server("", fake_env({{kServerEnv, "b:notaport"}}));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("SESSIOND_SERVER"), std::string::npos) << bad.status().message();
}

TEST(SessionctlSettingsTest, TokenFlagBeatsEverything) {
  TempDir dir;
  const auto dflt = dir.write("admin.token", "from-default\n");
  auto t = resolve_token("from-flag", "", fake_env({{kTokenEnv, "from-env"}}), dflt);
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->token, "from-flag");
  EXPECT_EQ(t->origin, "--token");
}

TEST(SessionctlSettingsTest, TokenFileFlagBeatsEnvironment) {
  TempDir dir;
  const auto file = dir.write("mine.token", "  from-file \n second line ignored\n");
  auto t = resolve_token("", file.string(), fake_env({{kTokenEnv, "from-env"}}), dir.path() / "none");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->token, "from-file");
}

TEST(SessionctlSettingsTest, EnvironmentBeatsDefaultFile) {
  TempDir dir;
  const auto dflt = dir.write("admin.token", "from-default\n");
  auto t = resolve_token("", "", fake_env({{kTokenEnv, "from-env"}}), dflt);
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->token, "from-env");
  EXPECT_EQ(t->origin, "$SESSIOND_TOKEN");
}

TEST(SessionctlSettingsTest, DefaultFileWhenNothingElse) {
  TempDir dir;
  const auto dflt = dir.write("admin.token", "from-default\n");
  auto t = resolve_token("", "", fake_env({{kTokenEnv, "   "}}), dflt);
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->token, "from-default");
  EXPECT_EQ(t->origin, dflt.string());
}

TEST(SessionctlSettingsTest, NoTokenAnywhereIsEmptyNotAnError) {
  TempDir dir;
  auto t = resolve_token("", "", fake_env({}), dir.path() / "missing.token");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->token, "");
  EXPECT_EQ(t->origin, "none");
}

TEST(SessionctlSettingsTest, BadTokenFilesAreUsageErrors) {
  TempDir dir;
  const auto empty = dir.write("empty.token", "\n\n");
  auto both = resolve_token("x", empty.string(), fake_env({}), dir.path() / "none");
  EXPECT_EQ(both.status().code(), StatusCode::kInvalidArgument);
  auto missing = resolve_token("", (dir.path() / "missing").string(), fake_env({}), dir.path() / "none");
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  auto blank = resolve_token("", empty.string(), fake_env({}), dir.path() / "none");
  EXPECT_EQ(blank.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(blank.status().message().find("empty"), std::string::npos);
}

TEST(SessionctlSettingsTest, ConnectionCombinesServerTokenAndTls) {
  TempDir dir;
  GlobalFlags flags;
  flags.server = "db.example:7500";
  flags.tls_ca = "/etc/ca.pem";
  auto s = resolve_connection(flags, fake_env({{kTokenEnv, "tok"}}), dir.path() / "none");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->options.host, "db.example");
  EXPECT_EQ(s->options.port, 7500);
  EXPECT_EQ(s->options.token, "tok");
  // A CA file only makes sense with TLS, so it turns TLS on.
  EXPECT_TRUE(s->options.tls.enabled);
  EXPECT_EQ(s->options.tls.ca_file, "/etc/ca.pem");
  EXPECT_TRUE(s->options.tls.verify_hostname);
}

TEST(SessionctlSettingsTest, TreeFileMustExistAndHoldText) {
  TempDir dir;
  const auto good = dir.write("tree.yaml", "consumers:\n  - path: /A\n");
  auto text = read_tree_file(good);
  ASSERT_TRUE(text.is_ok());
  EXPECT_EQ(*text, "consumers:\n  - path: /A\n");
  EXPECT_EQ(read_tree_file(dir.path() / "missing.yaml").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read_tree_file(dir.write("blank.yaml", " \n")).status().code(), StatusCode::kInvalidArgument);
}

TEST(SessionctlSettingsTest, ExitCodes) {
  EXPECT_EQ(exit_code_for(Status::ok(), true), kExitOk);
  EXPECT_EQ(exit_code_for(Status::permission_denied("no"), true), kExitServerError);
  // The server's own UNAVAILABLE (recovering) keeps the connection: exit 1.
  EXPECT_EQ(exit_code_for(Status::unavailable("recovering"), true), kExitServerError);
  EXPECT_EQ(exit_code_for(Status::unavailable("lost the connection"), false), kExitUnreachable);
}

}  // namespace
}  // namespace sched::sessionctl
