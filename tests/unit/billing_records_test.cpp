// Ledger records' exported forms, the rate card and bills, and the billing
// section of sessiond's configuration.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "billing/ledger_record.hpp"
#include "billing/rate_card.hpp"
#include "config/daemon_config.hpp"

namespace sched::billing {
namespace {

UsageRecord usage(core::SlaClass sla = core::SlaClass::kBatch) {
  UsageRecord u;
  u.record_id = 42;
  u.who = SessionAttrs{"spark-1", "/B/B1", "alice", "etl, nightly", sla};
  u.slots = 2;
  u.cpu_millis = 1500;
  u.memory_mib = 3072;
  u.gpu_millis = 0;
  u.start_s = 1'795'255'200;  // 2026-11-21T10:00:00Z
  u.end_s = u.start_s + 600;
  u.busy_slot_millis = 900'500;
  return u;
}

TEST(LedgerRecordTest, UsageJsonHasTheDocumentedFieldsAndRoundTrips) {
  const std::string text = to_json(LedgerRecord{usage()});
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["kind"], "usage");
  EXPECT_EQ(j["record_id"], 42);
  EXPECT_EQ(j["tenant"], "B");
  EXPECT_EQ(j["start"], "2026-11-21T10:00:00Z");
  EXPECT_EQ(j["end"], "2026-11-21T10:10:00Z");
  EXPECT_EQ(j["seconds"], 600);
  EXPECT_EQ(j["cpu"], 1.5);
  EXPECT_EQ(j["cpu_seconds"], 900.0);
  EXPECT_EQ(j["memory_gib_seconds"], 1800.0);
  EXPECT_EQ(j["busy_slot_seconds"], 900.5);
  auto back = record_from_json(text);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(to_json(*back), text);
}

TEST(LedgerRecordTest, SessionRecordWithoutAnExecutorHasNullTimeToFirstExecutor) {
  SessionEndRecord s;
  s.record_id = 7;
  s.who = SessionAttrs{"nb-1", "/A", "bob", "notebook", core::SlaClass::kInteractive};
  s.registered_ms = 1'795'255'200'123;
  s.ended_ms = 1'795'255'260'456;
  s.end_reason = "lease_expired";
  const std::string text = to_json(LedgerRecord{s});
  const auto j = nlohmann::json::parse(text);
  EXPECT_TRUE(j["time_to_first_executor_ms"].is_null());
  EXPECT_EQ(j["registered"], "2026-11-21T10:00:00.123Z");
  auto back = record_from_json(text);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(to_json(*back), text);
}

TEST(LedgerRecordTest, CsvQuotesCellsThatNeedIt) {
  EXPECT_EQ(to_csv_row(LedgerRecord{usage()}),
            "42,B,/B/B1,spark-1,alice,\"etl, nightly\",batch,2,1.5,3072,0,2026-11-21T10:00:00Z,"
            "2026-11-21T10:10:00Z,600,900,1800,0,900.5");
  EXPECT_EQ(csv_header(RecordKind::kUsage).substr(0, 17), "record_id,tenant,");
}

TEST(LedgerRecordTest, MalformedRecordsAreErrorsNotExceptions) {
  EXPECT_FALSE(record_from_json("{").is_ok());
  EXPECT_FALSE(record_from_json(R"({"kind":"usage"})").is_ok());
  EXPECT_FALSE(record_from_json(R"({"kind":"bogus","session":"s","consumer":"/A","user":"u",)"
                                R"("application":"a","sla":"batch"})")
                   .is_ok());
}

TEST(LedgerRecordTest, StringsAreEscapedAndNumbersExact) {
  UsageRecord u = usage();
  u.who.application = "say \"hi\"\\\n\x01 caf\xc3\xa9";
  u.cpu_millis = 333;
  u.memory_mib = 1000;
  u.end_s = u.start_s + 7;
  const auto j = nlohmann::json::parse(to_json(LedgerRecord{u}));
  EXPECT_EQ(j["application"], u.who.application);
  EXPECT_EQ(j["cpu"], 0.333);
  EXPECT_EQ(j["cpu_seconds"], 2.331);
  EXPECT_EQ(j["memory_gib_seconds"], 1000.0 * 7 / 1024);
}

TEST(LedgerRecordTest, CsvFromJsonEqualsCsvFromTheRecord) {
  UsageRecord u = usage();
  u.who.application = "say \"hi\", \\ \n\x01 caf\xc3\xa9";
  SessionEndRecord s;
  s.record_id = 9;
  s.who = SessionAttrs{"nb", "/A", "b,ob", "note\tbook", core::SlaClass::kInteractive};
  s.registered_ms = 1'795'255'200'123;
  s.ended_ms = 1'795'255'260'456;
  s.end_reason = "unregistered";
  SessionEndRecord ran = s;
  ran.time_to_first_executor_ms = 2345;
  for (const LedgerRecord& r : {LedgerRecord{usage()}, LedgerRecord{u}, LedgerRecord{s}, LedgerRecord{ran}}) {
    auto row = csv_row_from_json(to_json(r));
    ASSERT_TRUE(row.is_ok()) << row.status().message();
    EXPECT_EQ(row->first, kind_of(r));
    EXPECT_EQ(row->second, to_csv_row(r));
  }
  // nlohmann's form of the same record (other key order, escapes) too.
  const auto j = nlohmann::json::parse(to_json(LedgerRecord{u}));
  auto row = csv_row_from_json(j.dump());
  ASSERT_TRUE(row.is_ok());
  EXPECT_EQ(row->second, to_csv_row(LedgerRecord{u}));
  EXPECT_FALSE(csv_row_from_json("{\"kind\":\"usage\"}").is_ok());
  EXPECT_FALSE(csv_row_from_json("nonsense").is_ok());
}

TEST(LedgerRecordTest, TenantIsTheFirstPathSegment) {
  EXPECT_EQ(tenant_of("/B/B1"), "B");
  EXPECT_EQ(tenant_of("/A"), "A");
  EXPECT_EQ(tenant_of("/"), "");
}

TEST(RateCardTest, ClassPricesFallBackToDefaultPerKind) {
  RateCard card;
  card.fallback = Prices{0.04, 0.005, 1.2};
  card.classes[static_cast<std::size_t>(core::SlaClass::kInteractive)].cpu_hour = 0.06;
  const Prices p = card.for_class(core::SlaClass::kInteractive);
  EXPECT_DOUBLE_EQ(p.cpu_hour, 0.06);
  EXPECT_DOUBLE_EQ(p.memory_gib_hour, 0.005);
  EXPECT_DOUBLE_EQ(p.gpu_hour, 1.2);
}

TEST(RateCardTest, BillSumsExactTotalsPerClass) {
  RateCard card;
  card.currency = "EUR";
  card.fallback = Prices{0.04, 0.01, 0};
  card.classes[static_cast<std::size_t>(core::SlaClass::kInteractive)].cpu_hour = 0.10;
  BillBuilder b(card, "B", "2026-11");
  b.add(usage());                              // 0.25 cpu-h, 0.5 GiB-h
  b.add(usage());                              // again
  b.add(usage(core::SlaClass::kInteractive));  // 0.25 cpu-h at 0.10
  const Bill bill = b.finish();
  ASSERT_EQ(bill.lines.size(), 2u);
  EXPECT_EQ(bill.lines[0].sla, core::SlaClass::kInteractive);
  EXPECT_DOUBLE_EQ(bill.lines[0].cost, 0.25 * 0.10 + 0.5 * 0.01);
  EXPECT_DOUBLE_EQ(bill.lines[1].cpu_hours(), 0.5);
  EXPECT_DOUBLE_EQ(bill.lines[1].cost, 0.5 * 0.04 + 1.0 * 0.01);
  EXPECT_DOUBLE_EQ(bill.total, bill.lines[0].cost + bill.lines[1].cost);
  EXPECT_EQ(bill.currency, "EUR");
}

TEST(RateCardTest, MonthRange) {
  auto r = month_range("2026-12");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->second - r->first, 31 * 86400);
  EXPECT_FALSE(month_range("2026-13").is_ok());
  EXPECT_FALSE(month_range("2026-1x").is_ok());
  EXPECT_FALSE(month_range("november").is_ok());
}

TEST(BillingConfigTest, RateCardAndSinksParse) {
  auto c = config::parse_config_text(R"(
billing:
  currency: EUR
  rates:
    default: {cpu_hour: 0.04, memory_gib_hour: 0.005}
    streaming: {cpu_hour: 0.05}
  kafka: {brokers: "127.0.0.1:9092", topic: usage, properties: {linger.ms: 5}}
  files: {dir: /tmp/x, interval: 5s, format: csv}
)",
                                     "c.yaml");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->billing.rates.currency, "EUR");
  EXPECT_DOUBLE_EQ(c->billing.rates.for_class(core::SlaClass::kStreaming).cpu_hour, 0.05);
  EXPECT_DOUBLE_EQ(c->billing.rates.for_class(core::SlaClass::kBatch).memory_gib_hour, 0.005);
  EXPECT_EQ(c->billing.kafka_topic, "usage");
  EXPECT_EQ(c->billing.kafka_properties.at("linger.ms"), "5");
  EXPECT_EQ(c->billing.file_interval_ms, 5000);
  EXPECT_EQ(c->billing.file_format, "csv");
}

TEST(BillingConfigTest, MalformedRateCardsNameTheField) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  for (const Case& k : {
           Case{"billing: {rates: {batch: {cpu_hour: -1}}}", "c.yaml:1: billing.rates.batch.cpu_hour: a price must"},
           Case{"billing: {rates: {gold: {cpu_hour: 1}}}", "billing.rates.gold: unknown field"},
           Case{"billing: {rates: {batch: {cpu_hour: cheap}}}", "billing.rates.batch.cpu_hour"},
           Case{"billing: {rates: {batch: {cpu_hours: 1}}}", "billing.rates.batch.cpu_hours: unknown field"},
           Case{"billing: {rates: [1, 2]}", "billing.rates: expected a map"},
           Case{"billing: {files: {format: xml}}", "billing.files.format: expected jsonl or csv"},
       }) {
    auto c = config::parse_config_text(k.yaml, "c.yaml");
    ASSERT_FALSE(c.is_ok()) << k.yaml;
    EXPECT_NE(c.status().message().find(k.message), std::string::npos) << c.status().message();
  }
}

}  // namespace
}  // namespace sched::billing
