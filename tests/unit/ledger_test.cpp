// The ledger in a real RocksDB: ids, reads after a cursor, time-range
// queries with paging, export pages and bills with their errors.
#include "billing/ledger.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "billing/usage_queries.hpp"

namespace sched::billing {
namespace {

constexpr std::int64_t kT0 = 1'795'255'200;  // 2026-11-21T10:00:00Z

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ledger-test-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = store::StateStore::open(dir_.string(), false);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(*s);
    ledger_ = std::make_unique<Ledger>(*store_);
    ASSERT_TRUE(ledger_->load().is_ok());
  }
  void TearDown() override {
    ledger_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static UsageRecord usage(const std::string& consumer, std::int64_t start_s, std::int64_t seconds) {
    UsageRecord u;
    u.who = SessionAttrs{"s-" + consumer, consumer, "u", "app", core::SlaClass::kBatch};
    u.slots = 1;
    u.cpu_millis = 1000;
    u.memory_mib = 1024;
    u.start_s = start_s;
    u.end_s = start_s + seconds;
    return u;
  }

  void append(std::vector<LedgerRecord> records) {
    store::WriteSet ws;
    ledger_->append(std::move(records), ws);
    ASSERT_TRUE(store_->write_now(ws).is_ok());
    ledger_->mark_durable(ledger_->last_id());
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(LedgerTest, IdsAreMonotonicAndSurviveReopening) {
  append({usage("/A", kT0, 10), usage("/B/B1", kT0, 10)});
  EXPECT_EQ(ledger_->last_id(), 2);
  Ledger again(*store_);
  ASSERT_TRUE(again.load().is_ok());
  EXPECT_EQ(again.last_id(), 2);
  EXPECT_EQ(again.durable_id(), 2);
}

TEST_F(LedgerTest, ReadAfterStopsAtWhatIsDurable) {
  append({usage("/A", kT0, 10), usage("/A", kT0 + 10, 10), usage("/A", kT0 + 20, 10)});
  std::vector<StoredRecord> out;
  ASSERT_TRUE(ledger_->read_after(1, 10, out).is_ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id, 2);
  // Appended but not yet durable: invisible.
  store::WriteSet ws;
  ledger_->append({usage("/A", kT0 + 30, 10)}, ws);
  ASSERT_TRUE(store_->write_now(ws).is_ok());
  out.clear();
  ASSERT_TRUE(ledger_->read_after(0, 10, out).is_ok());
  EXPECT_EQ(out.size(), 3u);
}

TEST_F(LedgerTest, CursorsAreKeptPerSink) {
  store::WriteSet ws;
  Ledger::put_cursor(ws, "kafka", 17);
  ASSERT_TRUE(store_->write_now(ws).is_ok());
  EXPECT_EQ(*ledger_->cursor("kafka"), 17);
  EXPECT_EQ(*ledger_->cursor("files"), 0);
}

TEST_F(LedgerTest, ExportPagesThroughARangeByTenant) {
  std::vector<LedgerRecord> recs;
  for (int i = 0; i < 25; ++i) recs.emplace_back(usage(i % 2 ? "/A" : "/B/B1", kT0 + i * 60, 60));
  recs.emplace_back(usage("/A", kT0 + 7200, 60));  // outside the range below
  append(std::move(recs));
  ExportQuery q;
  q.from_ms = kT0 * 1000;
  q.to_ms = (kT0 + 3600) * 1000;
  q.tenant = "A";
  q.limit = 5;
  const auto all = [](std::string_view) { return true; };
  std::size_t total = 0;
  int pages = 0;
  for (;;) {
    auto page = export_page(*ledger_, q, (kT0 + 9000) * 1000, {"A", "B"}, all);
    ASSERT_TRUE(page.is_ok()) << page.status().message();
    total += page->records.size();
    ++pages;
    for (const auto& r : page->records) EXPECT_NE(r.find("\"tenant\":\"A\""), std::string::npos);
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  EXPECT_EQ(total, 12u);
  EXPECT_EQ(pages, 3);
}

TEST_F(LedgerTest, ATenantsQuerySkipsOtherTenantsUnreadAndStillReadsOldIndexEntries) {
  append({usage("/A", kT0, 10), usage("/B/B1", kT0 + 1, 10), usage("/B/B2", kT0 + 2, 10), usage("/A", kT0 + 3, 10)});
  // An entry as ledgers wrote them before the index named tenants: no value.
  store::WriteSet ws;
  ledger_->append({usage("/B/B1", kT0 + 4, 10)}, ws);
  ws.put("lt/00" + std::to_string(kT0 + 4) + "/" + std::string(20 - 1, '0') + "5", "");  // 12 and 20 digits
  ASSERT_TRUE(store_->write_now(ws).is_ok());
  ledger_->mark_durable(ledger_->last_id());

  auto consumers = [&](std::string_view tenant) {
    std::vector<std::string> seen;
    EXPECT_TRUE(ledger_
                    ->query(kT0, kT0 + 60, "", tenant,
                            [&](const LedgerRecord& r, const StoredRecord&, std::string_view) {
                              seen.push_back(attrs_of(r).consumer);
                              return true;
                            })
                    .is_ok());
    return seen;
  };
  EXPECT_EQ(consumers("A"), (std::vector<std::string>{"/A", "/A", "/B/B1"}))
      << "the old entry cannot tell its tenant: read, for the caller to check";
  EXPECT_EQ(consumers("B"), (std::vector<std::string>{"/B/B1", "/B/B2", "/B/B1"}));
  EXPECT_EQ(consumers("").size(), 5u);
}

TEST_F(LedgerTest, ExportErrors) {
  const auto all = [](std::string_view) { return true; };
  ExportQuery q;
  q.from_ms = kT0 * 1000;
  q.to_ms = (kT0 + 3600) * 1000;
  auto future = export_page(*ledger_, q, kT0 * 1000 + 5, {"A"}, all);
  ASSERT_FALSE(future.is_ok());
  EXPECT_NE(future.status().message().find("in the future"), std::string::npos);
  q.tenant = "Z";
  auto unknown = export_page(*ledger_, q, (kT0 + 9000) * 1000, {"A", "B"}, all);
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("unknown tenant 'Z' (tenants: A, B)"), std::string::npos);
  q.tenant = "";
  q.kind = "everything";
  EXPECT_FALSE(export_page(*ledger_, q, (kT0 + 9000) * 1000, {"A"}, all).is_ok());
  q.kind = "usage";
  q.to_ms = q.from_ms;
  EXPECT_FALSE(export_page(*ledger_, q, (kT0 + 9000) * 1000, {"A"}, all).is_ok());
  q.to_ms = q.from_ms + 1000;
  q.page_token = "nonsense";
  EXPECT_FALSE(export_page(*ledger_, q, (kT0 + 9000) * 1000, {"A"}, all).is_ok());
}

TEST_F(LedgerTest, TenantTokensSeeOnlyTheirSubtrees) {
  append({usage("/A", kT0, 60), usage("/B/B1", kT0, 60), usage("/B/B2", kT0, 60)});
  ExportQuery q;
  q.from_ms = kT0 * 1000;
  q.to_ms = (kT0 + 3600) * 1000;
  auto page = export_page(*ledger_, q, (kT0 + 9000) * 1000, {"A", "B"},
                          [](std::string_view c) { return c.rfind("/B/B1", 0) == 0; });
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_NE(page->records[0].find("/B/B1"), std::string::npos);
}

TEST_F(LedgerTest, MonthlyBillOfATenant) {
  append({usage("/B/B1", kT0, 3600), usage("/B/B2", kT0 + 3600, 1800), usage("/A", kT0, 3600)});
  RateCard card;
  card.fallback = Prices{0.04, 0.01, 0};
  const auto all = [](std::string_view) { return true; };
  auto bill = monthly_bill(*ledger_, card, "B", "2026-11", (kT0 + 9000) * 1000, {"A", "B"}, all);
  ASSERT_TRUE(bill.is_ok()) << bill.status().message();
  ASSERT_EQ(bill->bill.lines.size(), 1u);
  EXPECT_DOUBLE_EQ(bill->bill.lines[0].cpu_hours(), 1.5);
  EXPECT_DOUBLE_EQ(bill->bill.total, 1.5 * 0.04 + 1.5 * 0.01);
  EXPECT_FALSE(bill->final);
  EXPECT_FALSE(monthly_bill(*ledger_, card, "Q", "2026-11", (kT0 + 9000) * 1000, {"A", "B"}, all).is_ok());
  EXPECT_FALSE(monthly_bill(*ledger_, card, "B", "2027-01", (kT0 + 9000) * 1000, {"A", "B"}, all).is_ok());
}

}  // namespace
}  // namespace sched::billing
