// Tests the stored JSON of session records: every field survives the round
// trip, and text that is not UTF-8 still makes a record that reads back.
#include "daemon/records.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/json_text.hpp"

namespace sched::daemon {
namespace {

SessionRecord full_record() {
  SessionRecord r;
  r.id = "spark-1795356789909-8vkqzj";
  r.consumer = "/bank/risk";
  r.user = "zo\xc3\xab";
  r.application = "nightly \"var\" run\\1\n";
  r.principal = "team-risk";
  r.sla = core::SlaClass::kStreaming;
  r.priority = 3;
  r.shape = core::Resources::cpu_mem(2000, 8192);
  r.shape[core::kGpu] = 500;
  r.min = 2;
  r.max = 40;
  r.demand = 17;
  r.launch.command = {"/usr/bin/java", "-cp", "/opt/spark/jars/*", "--executor-id", "{executor_index}"};
  r.launch.env = {{"SPARK_HOME", "/opt/spark"}, {"TAB", "a\tb"}};
  r.launch.working_dir = "/tmp/{executor_id}";
  r.launch.image = "spark:4.2.0";
  r.launch.backend_options = {{"k8s.serviceAccount", "spark"}};
  r.launch.warm_command = {"/usr/bin/java", "-cp", "/opt/spark/jars/*:/opt/p.jar", "WarmExecutor"};
  r.launch.warm_args_from = 3;
  r.lease_ttl_ms = 30'000;
  r.registered_ms = 1'795'356'789'909;
  r.first_executor_ms = 1'795'356'790'100;
  r.executor_seq = 9;
  r.failures = 1;
  r.failed = true;
  r.failure = "executor 3 exited with 137";
  r.preemptions = 4;
  r.slots_preempted = 6;
  r.metered_slots = 5;
  r.metered_held = r.shape * 5;
  r.metered_since_s = 1'795'356'790;
  r.metered_busy_slot_ms = 12'345;
  r.metered_busy_slots = 3;
  r.metered_busy_since_ms = 1'795'356'791'000;
  return r;
}

TEST(SessionRecordJson, EveryFieldSurvivesTheRoundTrip) {
  const SessionRecord r = full_record();
  const std::string text = to_json(r);
  ASSERT_NO_THROW((void)nlohmann::json::parse(text)) << text;
  auto back = session_from_json(text);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->consumer, r.consumer);
  EXPECT_EQ(back->user, r.user);
  EXPECT_EQ(back->application, r.application);
  EXPECT_EQ(back->principal, r.principal);
  EXPECT_EQ(back->sla, r.sla);
  EXPECT_EQ(back->priority, r.priority);
  EXPECT_EQ(back->shape, r.shape);
  EXPECT_EQ(back->min, r.min);
  EXPECT_EQ(back->max, r.max);
  EXPECT_EQ(back->demand, r.demand);
  EXPECT_EQ(back->launch.command, r.launch.command);
  EXPECT_EQ(back->launch.env, r.launch.env);
  EXPECT_EQ(back->launch.working_dir, r.launch.working_dir);
  EXPECT_EQ(back->launch.image, r.launch.image);
  EXPECT_EQ(back->launch.backend_options, r.launch.backend_options);
  EXPECT_EQ(back->launch.warm_command, r.launch.warm_command);
  EXPECT_EQ(back->launch.warm_args_from, r.launch.warm_args_from);
  EXPECT_EQ(back->lease_ttl_ms, r.lease_ttl_ms);
  EXPECT_EQ(back->registered_ms, r.registered_ms);
  EXPECT_EQ(back->first_executor_ms, r.first_executor_ms);
  EXPECT_EQ(back->executor_seq, r.executor_seq);
  EXPECT_EQ(back->failures, r.failures);
  EXPECT_EQ(back->failed, r.failed);
  EXPECT_EQ(back->failure, r.failure);
  EXPECT_EQ(back->preemptions, r.preemptions);
  EXPECT_EQ(back->slots_preempted, r.slots_preempted);
  // The open interval is stored apart (interval_key) and read over the record.
  ASSERT_TRUE(interval_from_json(interval_to_json(r), &*back).is_ok());
  EXPECT_EQ(back->metered_slots, r.metered_slots);
  EXPECT_EQ(back->metered_held, r.metered_held);
  EXPECT_EQ(back->metered_since_s, r.metered_since_s);
  EXPECT_EQ(back->metered_busy_slot_ms, r.metered_busy_slot_ms);
  EXPECT_EQ(back->metered_busy_slots, r.metered_busy_slots);
  EXPECT_EQ(back->metered_busy_since_ms, r.metered_busy_since_ms);
}

TEST(SessionRecordJson, TheOpenIntervalHasItsOwnSmallRecord) {
  const SessionRecord r = full_record();
  const std::string text = interval_to_json(r);
  EXPECT_LT(text.size(), 200u) << text;
  EXPECT_EQ(to_json(r).find("metered"), std::string::npos) << "not in the session record";
  SessionRecord back;
  ASSERT_TRUE(interval_from_json(text, &back).is_ok());
  EXPECT_EQ(back.metered_slots, r.metered_slots);
  EXPECT_EQ(back.metered_held, r.metered_held);
  EXPECT_EQ(back.metered_since_s, r.metered_since_s);
  EXPECT_EQ(back.metered_busy_slot_ms, r.metered_busy_slot_ms);
  EXPECT_EQ(back.metered_busy_slots, r.metered_busy_slots);
  EXPECT_EQ(back.metered_busy_since_ms, r.metered_busy_since_ms);
  EXPECT_FALSE(interval_from_json("{\"slots\":", &back).is_ok());
}

TEST(SessionRecordJson, ARecordFromBeforeTheIntervalKeyStillCarriesItsInterval) {
  auto old = session_from_json(
      R"({"id":"s1","consumer":"/A","sla":"batch","shape":{"cpu":1000},"launch":{},)"
      R"("metered":{"slots":3,"held":{"cpu":3000},"since_s":1795356790,"busy_slots":2,"busy_since_ms":5}})");
  ASSERT_TRUE(old.is_ok()) << old.status().to_string();
  EXPECT_EQ(old->metered_slots, 3);
  EXPECT_EQ(old->metered_held, core::Resources::of(core::kCpu, 3000));
  EXPECT_EQ(old->metered_since_s, 1'795'356'790);
  EXPECT_EQ(old->metered_busy_slots, 2);
}

TEST(SessionRecordJson, NoOpenIntervalAndNoOptionalLaunchFields) {
  SessionRecord r;
  r.id = "s1";
  r.consumer = "/A";
  auto back = session_from_json(to_json(r));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->metered_slots, 0);
  EXPECT_TRUE(back->launch.command.empty());
  EXPECT_TRUE(back->launch.warm_command.empty());
}

TEST(SessionRecordJson, BytesThatAreNotUtf8AreReplacedNotFatal) {
  // The API refuses such strings; text from elsewhere (an exit detail) is
  // stored with U+FFFD in place of each bad byte, so the record reads back.
  SessionRecord r;
  r.id = "s1";
  r.consumer = "/A";
  r.failure = "caf\xe9 \xc0\xaf ok \xf0\x9f\x9a\x80";
  auto back = session_from_json(to_json(r));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->failure, "caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd ok \xf0\x9f\x9a\x80");
}

TEST(Utf8, ValidAndInvalidSequences) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("zo\xc3\xab \xe6\x97\xa5 \xf0\x9f\x9a\x80 \xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("x\xe2\x82"));         // cut short
  EXPECT_FALSE(valid_utf8("\x80"));              // a continuation alone
  EXPECT_FALSE(valid_utf8("\xff"));
}

}  // namespace
}  // namespace sched::daemon
