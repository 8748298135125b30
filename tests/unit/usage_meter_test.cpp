// UsageMeter in virtual time: whole seconds, hour cuts, busy time, restarts.
#include "billing/usage_meter.hpp"

#include <gtest/gtest.h>

namespace sched::billing {
namespace {

constexpr core::TimeMs kHourMs = 3'600'000;
// 2026-11-21T10:00:00Z
constexpr core::TimeMs kT0 = 1'795'255'200'000;

SessionAttrs who(const std::string& id = "s1", const std::string& consumer = "/B/B1") {
  return SessionAttrs{id, consumer, "alice", "etl", core::SlaClass::kBatch};
}

core::Resources slots(std::int64_t n) {
  return core::Resources::cpu_mem(1000 * n, 1024 * n);
}

TEST(UsageMeterTest, ChangesCloseIntervalsAtTheNearestSecond) {
  UsageMeter m;
  EXPECT_TRUE(m.hold(who(), 4, slots(4), kT0 + 400));     // rounds down to kT0
  EXPECT_FALSE(m.hold(who(), 4, slots(4), kT0 + 5000));   // nothing changed
  EXPECT_TRUE(m.hold(who(), 2, slots(2), kT0 + 10'500));  // rounds up to +11 s
  m.end("s1", kT0 + 20'499);                              // rounds down to +20 s
  auto r = m.take();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].start_s, kT0 / 1000);
  EXPECT_EQ(r[0].seconds(), 11);
  EXPECT_EQ(r[0].slots, 4);
  EXPECT_EQ(r[0].cpu_milli_seconds(), 4000 * 11);
  EXPECT_EQ(r[1].start_s, kT0 / 1000 + 11);
  EXPECT_EQ(r[1].seconds(), 9);
  EXPECT_EQ(r[1].memory_mib_seconds(), 2048 * 9);
  EXPECT_EQ(m.open_count(), 0u);
}

TEST(UsageMeterTest, ChangesWithinOneSecondBillNothingForIt) {
  UsageMeter m;
  m.hold(who(), 4, slots(4), kT0);
  m.hold(who(), 8, slots(8), kT0 + 200);
  m.hold(who(), 0, {}, kT0 + 300);
  EXPECT_TRUE(m.take().empty());
  EXPECT_EQ(m.open_count(), 0u);
}

TEST(UsageMeterTest, IntervalsAreCutAtEveryFullHour) {
  UsageMeter m;
  m.hold(who(), 2, slots(2), kT0 + kHourMs - 10'000);  // 10:59:50
  m.end("s1", kT0 + 2 * kHourMs + 5000);               // 12:00:05
  auto r = m.take();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].seconds(), 10);
  EXPECT_EQ(r[1].seconds(), 3600);
  EXPECT_EQ(r[2].seconds(), 5);
  EXPECT_EQ(r[1].start_s * 1000, kT0 + kHourMs);
  for (std::size_t i = 1; i < r.size(); ++i) EXPECT_EQ(r[i].start_s, r[i - 1].end_s);
}

TEST(UsageMeterTest, RollClosesOpenIntervalsAtTheHourSoPastHoursAreComplete) {
  UsageMeter m;
  m.hold(who("s1"), 1, slots(1), kT0 + 30'000);
  m.hold(who("s2", "/A"), 3, slots(3), kT0 + kHourMs + 1000);
  EXPECT_EQ(m.next_roll_ms(), kT0 + kHourMs - 500);
  EXPECT_FALSE(m.roll(kT0 + kHourMs - 501));
  EXPECT_TRUE(m.roll(kT0 + kHourMs + 2000));
  auto r = m.take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].who.session, "s1");
  EXPECT_EQ(r[0].end_s * 1000, kT0 + kHourMs);
  // s1 goes on from the hour; s2 opened inside the new hour is untouched.
  EXPECT_EQ(m.open_interval("s1")->start_s * 1000, kT0 + kHourMs);
  EXPECT_EQ(m.open_interval("s2")->start_s * 1000, kT0 + kHourMs + 1000);
}

TEST(UsageMeterTest, BusyTimeCountsRunningTasksUpToTheSlots) {
  UsageMeter m;
  m.hold(who(), 4, slots(4), kT0);
  m.running("s1", 2, kT0);           // 2 busy for 10 s
  m.running("s1", 9, kT0 + 10'000);  // capped at 4, for 5 s
  m.running("s1", 0, kT0 + 15'000);
  m.end("s1", kT0 + 20'000);
  auto r = m.take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].busy_slot_millis, (2 * 10 + 4 * 5) * 1000);
}

TEST(UsageMeterTest, BusyTimeIsSpreadOverHourPiecesAndAddsUp) {
  UsageMeter m;
  m.hold(who(), 1, slots(1), kT0 + kHourMs - 1000);
  m.running("s1", 1, kT0 + kHourMs - 1000);
  m.end("s1", kT0 + kHourMs + 2000);
  auto r = m.take();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].busy_slot_millis + r[1].busy_slot_millis, 3000);
  EXPECT_LE(r[0].busy_slot_millis, r[0].slots * r[0].seconds() * 1000);
  EXPECT_LE(r[1].busy_slot_millis, r[1].slots * r[1].seconds() * 1000);
}

TEST(UsageMeterTest, RestoredIntervalContinuesAcrossARestart) {
  UsageMeter before;
  before.hold(who(), 3, slots(3), kT0);
  OpenInterval saved = *before.open_interval("s1");
  // The daemon is down for 40 s; executors keep running.
  UsageMeter after;
  after.restore(saved);
  EXPECT_FALSE(after.hold(who(), 3, slots(3), kT0 + 40'000));
  after.end("s1", kT0 + 60'000);
  auto r = after.take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].seconds(), 60);
  EXPECT_EQ(r[0].cpu_milli_seconds(), 3000 * 60);
}

TEST(UsageMeterTest, TheSumOfRecordsIsTheIntegralOfHoldings) {
  // A sawtooth of holdings at odd milliseconds over three hours: the records
  // add up to the integral of the holdings at metered (rounded) seconds.
  UsageMeter m;
  std::int64_t expected = 0;
  std::int64_t held = 0;
  std::int64_t since = 0;
  for (int i = 0; i < 500; ++i) {
    const core::TimeMs t = kT0 + i * 21'737 + (i % 7) * 131;
    const std::int64_t s = UsageMeter::metered_second(t);
    if (i > 0) expected += held * (s - since);
    held = (i * 7) % 13;
    since = s;
    m.hold(who(), held, slots(held), t);
    if (i % 50 == 0) m.roll(t);
  }
  const core::TimeMs end = kT0 + 500 * 21'737;
  expected += held * (UsageMeter::metered_second(end) - since);
  m.end("s1", end);
  std::int64_t billed = 0;
  for (const auto& r : m.take()) {
    billed += r.slots * r.seconds();
    EXPECT_EQ(r.start_s / 3600, (r.end_s - 1) / 3600) << "a record spans an hour boundary";
    EXPECT_GT(r.seconds(), 0);
  }
  EXPECT_EQ(billed, expected);
}

}  // namespace
}  // namespace sched::billing
