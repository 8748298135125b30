// Tests sessionctl's text and JSON renderings of each reply.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/sessionctl/json_views.hpp"
#include "client/sessionctl/text_views.hpp"

namespace sched::sessionctl {
namespace {

api::ResourceVector rv(std::int64_t cpu_millis, std::int64_t memory_mib) {
  api::ResourceVector v;
  v.cpu_millis = cpu_millis;
  v.memory_mib = memory_mib;
  return v;
}

api::ClusterStatus sample_status() {
  api::ClusterStatus s;
  s.version = "0.1.0";
  s.backend = "local";
  s.ready = true;
  s.principal = "admin";
  s.started_ms = 1'700'000'000'000;
  s.server_time_ms = s.started_ms + 3'725'000;
  s.slot = rv(1000, 4096);
  s.capacity = rv(16000, 65536);
  s.used = rv(4000, 16384);
  s.sessions = 3;
  s.executors = 4;
  s.pending_revocations = 1;
  api::Host a;
  a.name = "node-1";
  a.capacity = rv(8000, 32768);
  a.used = rv(4000, 16384);
  a.up = true;
  a.executors = 4;
  api::Host b = a;
  b.name = "node-2";
  b.used = {};
  b.draining = true;
  b.executors = 0;
  s.hosts = {a, b};
  return s;
}

api::ConsumerTree sample_tree() {
  api::ConsumerTree t;
  t.version = 3;
  t.updated_ms = 1'700'000'000'000;
  t.yaml = "consumers: []\n";
  auto node = [](std::string path, bool leaf, double share, std::int64_t owned_cpu) {
    api::ConsumerInfo c;
    c.path = std::move(path);
    c.leaf = leaf;
    c.share = share;
    c.owned = rv(owned_cpu, 0);
    c.limit.cpu_millis = -1;
    c.limit.memory_mib = -1;
    c.limit.gpu_millis = -1;
    c.borrow = true;
    return c;
  };
  t.consumers = {node("/A", true, 1, 4000), node("/B", false, 4, 16000), node("/B/B1", true, 1, 4000),
                 node("/B/B2", true, 3, 12000)};
  t.consumers[2].allocated = rv(8000, 0);
  t.consumers[2].sessions = 1;
  return t;
}

api::SessionInfo sample_session() {
  api::SessionInfo s;
  s.session_id = "app-1";
  s.consumer = "/B/B1";
  s.user = "alice";
  s.sla = api::SlaClass::INTERACTIVE;
  s.priority = 5;
  s.slot_shape = rv(1000, 4096);
  s.demand = 10;
  s.granted_slots = 8;
  s.target_slots = 8;
  s.revoking = 2;
  s.registered_ms = 1'700'000'000'000;
  api::Executor e;
  e.executor_id = "exec-1";
  e.host = "node-1";
  e.slots = 8;
  e.revoking = 2;
  e.state = api::ExecutorState::RUNNING;
  e.since_ms = s.registered_ms + 1000;
  e.acknowledged = true;
  e.resources = rv(8000, 32768);
  s.executors = {e};
  return s;
}

TEST(SessionctlTextViewsTest, StatusShowsFieldsThenHosts) {
  const std::string text = status_text(sample_status(), "127.0.0.1:7420");
  EXPECT_EQ(text,
            "server       127.0.0.1:7420\n"
            "version      0.1.0\n"
            "backend      local\n"
            "ready        yes\n"
            "principal    admin\n"
            "started      2023-11-14T22:13:20Z (up 1h02m)\n"
            "slot         cpu=1 memory=4Gi\n"
            "capacity     cpu=16 memory=64Gi\n"
            "used         cpu=4 memory=16Gi\n"
            "sessions     3\n"
            "executors    4\n"
            "revocations  1 pending\n"
            "\n"
            "HOST    STATE        EXECUTORS  CAPACITY           USED\n"
            "node-1  up                   4  cpu=8 memory=32Gi  cpu=4 memory=16Gi\n"
            "node-2  up,draining          0  cpu=8 memory=32Gi  none\n");
}

TEST(SessionctlTextViewsTest, TreeIndentsChildrenUnderParents) {
  const std::string text = tree_text(sample_tree(), false);
  EXPECT_EQ(text,
            "tree version 3, set 2023-11-14T22:13:20Z, 4 consumers\n"
            "\n"
            "CONSUMER  SHARE  OWNED   LIMIT      DEMAND  ALLOCATED  TARGET  SESSIONS\n"
            "/A            1  cpu=4   unlimited  none    none       none           0\n"
            "/B            4  cpu=16  unlimited  none    none       none           0\n"
            "  /B/B1       1  cpu=4   unlimited  none    cpu=8      none           1\n"
            "  /B/B2       3  cpu=12  unlimited  none    none       none           0\n");
}

TEST(SessionctlTextViewsTest, WideTreeAddsLendingColumns) {
  const std::string text = tree_text(sample_tree(), true);
  EXPECT_NE(text.find("RESERVED  BORROW"), std::string::npos) << text;
  EXPECT_NE(text.find("BORROWED  LENT"), std::string::npos) << text;
}

TEST(SessionctlTextViewsTest, TreeSetSaysWhatHappened) {
  EXPECT_EQ(tree_set_text(sample_tree(), true), "valid: the tree was checked and not applied (dry run)\n");
  EXPECT_EQ(tree_set_text(sample_tree(), false).rfind("applied: tree version 3", 0), 0u);
}

TEST(SessionctlTextViewsTest, SessionsTableAndExecutors) {
  const auto s = sample_session();
  const std::int64_t now = s.registered_ms + 90'000;
  EXPECT_EQ(sessions_text({s}, now, false),
            "SESSION  CONSUMER  USER   SLA          PRIO  DEMAND  GRANTED  TARGET  REVOKING  EXECUTORS  SLOT          "
            "      AGE\n"
            "app-1    /B/B1     alice  interactive     5      10        8       8         2          1  cpu=1 "
            "memory=4Gi  1m30s\n");
  const std::string with_executors = sessions_text({s}, now, true);
  EXPECT_NE(with_executors.find(
                "\nSESSION  EXECUTOR  HOST    STATE    SLOTS  REVOKING  ACK  RESOURCES            AGE  DETAIL\n"
                "app-1    exec-1    node-1  running      8         2  yes  cpu=8 memory=32Gi  1m29s\n"),
            std::string::npos)
      << with_executors;
  EXPECT_EQ(sessions_text({}, now, true), "no sessions\n");
}

TEST(SessionctlTextViewsTest, ExitedExecutorsShowTheirExitCode) {
  auto s = sample_session();
  s.executors[0].state = api::ExecutorState::EXITED;
  s.executors[0].exit_code = -9;
  s.executors[0].detail = "killed after the deadline";
  const std::string text = sessions_text({s}, s.registered_ms, true);
  EXPECT_NE(text.find("exited"), std::string::npos) << text;
  EXPECT_NE(text.find("exit -9: killed after the deadline"), std::string::npos) << text;
}

TEST(SessionctlTextViewsTest, DrainAndUndo) {
  auto host = sample_status().hosts[1];
  EXPECT_EQ(drain_text(host, true),
            "node-2 draining: takes no new slots; its slots are revoked with grace (up,draining, 0 executors, used "
            "none of cpu=8 memory=32Gi)\n");
  host.draining = false;
  EXPECT_EQ(drain_text(host, false).rfind("node-2 back in service", 0), 0u);
}

TEST(SessionctlTextViewsTest, UsageRightAlignsNumbers) {
  api::ConsumerUsage a;
  a.path = "/A";
  a.allocated = rv(2000, 8192);
  a.cpu_seconds = 7200;
  a.memory_gib_seconds = 28800.25;
  a.since_ms = 1'700'000'000'000;
  api::ConsumerUsage b;
  b.path = "/B/B1";
  b.cpu_seconds = 12.5;
  EXPECT_EQ(usage_text({a, b}),
            "CONSUMER  ALLOCATED         CPU-SECONDS  MEMORY-GIB-SECONDS  GPU-SECONDS  SINCE\n"
            "/A        cpu=2 memory=8Gi       7200.0             28800.2          0.0  2023-11-14T22:13:20Z\n"
            "/B/B1     none                     12.5                 0.0          0.0  -\n");
  EXPECT_EQ(usage_text({}), "no usage\n");
}

TEST(SessionctlJsonViewsTest, StatusKeepsIdlFieldNames) {
  const auto j = json_of(sample_status());
  EXPECT_EQ(j["version"], "0.1.0");
  EXPECT_EQ(j["ready"], true);
  EXPECT_EQ(j["capacity"]["cpu_millis"], 16000);
  EXPECT_EQ(j["capacity"]["memory_mib"], 65536);
  EXPECT_TRUE(j["capacity"]["extras"].is_object());
  ASSERT_EQ(j["hosts"].size(), 2u);
  EXPECT_EQ(j["hosts"][1]["name"], "node-2");
  EXPECT_EQ(j["hosts"][1]["draining"], true);
  EXPECT_EQ(j["pending_revocations"], 1);
}

TEST(SessionctlJsonViewsTest, SessionsUseLowerCaseEnums) {
  const auto j = json_of(std::vector<api::SessionInfo>{sample_session()});
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["sla"], "interactive");
  EXPECT_EQ(j[0]["executors"][0]["state"], "running");
  EXPECT_EQ(j[0]["executors"][0]["resources"]["cpu_millis"], 8000);
  EXPECT_EQ(j[0]["granted_slots"], 8);
}

TEST(SessionctlJsonViewsTest, TreeAndUsage) {
  const auto tree = json_of(sample_tree());
  EXPECT_EQ(tree["version"], 3);
  EXPECT_EQ(tree["yaml"], "consumers: []\n");
  EXPECT_EQ(tree["consumers"][3]["path"], "/B/B2");
  EXPECT_EQ(tree["consumers"][3]["limit"]["cpu_millis"], -1);
  EXPECT_EQ(tree["consumers"][3]["share"], 3.0);

  api::ConsumerUsage u;
  u.path = "/A";
  u.cpu_seconds = 1.5;
  const auto usage = json_of(std::vector<api::ConsumerUsage>{u});
  EXPECT_EQ(usage[0]["cpu_seconds"], 1.5);
  EXPECT_EQ(usage[0]["allocated"]["extras"], nlohmann::ordered_json::object());
}

TEST(SessionctlJsonViewsTest, TextIsIndentedAndEndsInNewline) {
  const std::string text = json_text(nlohmann::ordered_json{{"a", 1}});
  EXPECT_EQ(text, "{\n  \"a\": 1\n}\n");
  EXPECT_EQ(nlohmann::json::parse(json_text(json_of(sample_status())))["backend"], "local");
}

}  // namespace
}  // namespace sched::sessionctl
