// Tests DailyWindow: parsing, membership at given instants, UTC offsets and the next boundary.
#include "core/time_window.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sched::core {
namespace {

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kMinute = 60'000;
constexpr TimeMs kDay = 24 * kHour;
// 1970-01-05 00:00 UTC was a Monday.
constexpr TimeMs kMonday = 4 * kDay;

// day 0 = Monday ... 6 = Sunday of the first full week of 1970.
constexpr TimeMs At(int day, int hour, int minute = 0) {
  return kMonday + day * kDay + hour * kHour + minute * kMinute;
}
enum Day { kMon, kTue, kWed, kThu, kFri, kSat, kSun };

DailyWindow Parse(std::string_view window, std::string_view days = "") {
  auto r = DailyWindow::parse(window, days);
  EXPECT_TRUE(r.is_ok()) << window << " " << days << ": " << r.status().to_string();
  return r.is_ok() ? *r : DailyWindow();
}

void ExpectParseError(std::string_view window, std::string_view days, const std::string& message) {
  auto r = DailyWindow::parse(window, days);
  ASSERT_FALSE(r.is_ok()) << window << " " << days << " parsed as " << r->to_string();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), message);
}

TEST(DailyWindowTest, DefaultIsAlwaysOpen) {
  const DailyWindow w;
  EXPECT_TRUE(w.contains(0, 0));
  EXPECT_TRUE(w.contains(At(kSun, 23, 59), 0));
  EXPECT_TRUE(w.contains(-1, 0));
  EXPECT_EQ(w.to_string(), "00:00-24:00");
}

TEST(DailyWindowTest, ParsesEveryDayWhenNoDaysGiven) {
  for (std::string_view days : {"", "all", "daily", "  "}) {
    const DailyWindow w = Parse("08:00-18:00", days);
    EXPECT_EQ(w.to_string(), "08:00-18:00") << "days '" << days << "'";
    for (int d = kMon; d <= kSun; ++d) EXPECT_TRUE(w.contains(At(d, 12), 0)) << "day " << d;
  }
}

TEST(DailyWindowTest, StartIsInsideEndIsOutside) {
  const DailyWindow w = Parse("08:00-18:00");
  EXPECT_FALSE(w.contains(At(kMon, 8) - 1, 0));
  EXPECT_TRUE(w.contains(At(kMon, 8), 0));
  EXPECT_TRUE(w.contains(At(kMon, 17, 59), 0));
  EXPECT_TRUE(w.contains(At(kMon, 18) - 1, 0));
  EXPECT_FALSE(w.contains(At(kMon, 18), 0));
  EXPECT_FALSE(w.contains(At(kMon, 0), 0));
}

TEST(DailyWindowTest, WeekdayRange) {
  const DailyWindow w = Parse("08:00-18:00", "mon-fri");
  EXPECT_EQ(w.to_string(), "08:00-18:00 mon,tue,wed,thu,fri");
  for (int d = kMon; d <= kFri; ++d) EXPECT_TRUE(w.contains(At(d, 10), 0)) << "day " << d;
  EXPECT_FALSE(w.contains(At(kSat, 10), 0));
  EXPECT_FALSE(w.contains(At(kSun, 10), 0));
  // The week after works the same (no off-by-a-week in the weekday arithmetic).
  EXPECT_TRUE(w.contains(At(kMon, 10) + 7 * kDay, 0));
  EXPECT_FALSE(w.contains(At(kSat, 10) + 7 * kDay, 0));
}

TEST(DailyWindowTest, DayListAndNameForms) {
  const DailyWindow weekend = Parse("10:00-12:00", "sat,sun");
  EXPECT_EQ(weekend.to_string(), "10:00-12:00 sat,sun");
  EXPECT_TRUE(weekend.contains(At(kSat, 11), 0));
  EXPECT_TRUE(weekend.contains(At(kSun, 11), 0));
  EXPECT_FALSE(weekend.contains(At(kFri, 11), 0));
  EXPECT_FALSE(weekend.contains(At(kMon, 11), 0));
  // Full and capitalised names, spaces around items.
  EXPECT_EQ(Parse("10:00-12:00", "Saturday, SUNDAY").to_string(), "10:00-12:00 sat,sun");
  EXPECT_EQ(Parse("10:00-12:00", "mon, wed-thu").to_string(), "10:00-12:00 mon,wed,thu");
  // A range may wrap past Sunday.
  EXPECT_EQ(Parse("10:00-12:00", "fri-mon").to_string(), "10:00-12:00 mon,fri,sat,sun");
  EXPECT_EQ(Parse("10:00-12:00", "mon-sun").to_string(), "10:00-12:00");
}

TEST(DailyWindowTest, WrapAroundMidnightBelongsToTheStartDay) {
  const DailyWindow w = Parse("22:00-06:00", "fri");
  EXPECT_EQ(w.to_string(), "22:00-06:00 fri");
  EXPECT_FALSE(w.contains(At(kFri, 21, 59), 0));
  EXPECT_TRUE(w.contains(At(kFri, 22), 0));
  EXPECT_TRUE(w.contains(At(kFri, 23, 30), 0));
  EXPECT_TRUE(w.contains(At(kSat, 0), 0));  // Friday night, past midnight
  EXPECT_TRUE(w.contains(At(kSat, 5, 59), 0));
  EXPECT_FALSE(w.contains(At(kSat, 6), 0));
  EXPECT_FALSE(w.contains(At(kSat, 22), 0));  // Saturday night is not Friday's
  EXPECT_FALSE(w.contains(At(kFri, 3), 0));   // Friday morning belongs to Thursday night
  EXPECT_FALSE(w.contains(At(kFri, 12), 0));
}

TEST(DailyWindowTest, WrapAroundEveryDay) {
  const DailyWindow w = Parse("22:00-06:00");
  EXPECT_TRUE(w.contains(At(kMon, 2), 0));  // Sunday night
  EXPECT_TRUE(w.contains(At(kMon, 23), 0));
  EXPECT_FALSE(w.contains(At(kMon, 12), 0));
  EXPECT_FALSE(w.contains(At(kMon, 6), 0));
}

TEST(DailyWindowTest, EndAtTwentyFourHundred) {
  const DailyWindow w = Parse("18:00-24:00", "mon");
  EXPECT_TRUE(w.contains(At(kMon, 23, 59), 0));
  EXPECT_TRUE(w.contains(At(kTue, 0) - 1, 0));
  EXPECT_FALSE(w.contains(At(kTue, 0), 0));
  EXPECT_EQ(w.to_string(), "18:00-24:00 mon");
}

TEST(DailyWindowTest, SecondsInTimes) {
  const DailyWindow w = Parse("08:00:30-08:01");
  EXPECT_FALSE(w.contains(At(kMon, 8) + 29'999, 0));
  EXPECT_TRUE(w.contains(At(kMon, 8) + 30'000, 0));
}

TEST(DailyWindowTest, PositiveUtcOffset) {
  // UTC+2: 08:00 local is 06:00 UTC.
  const DailyWindow w = Parse("08:00-18:00", "mon-fri");
  EXPECT_FALSE(w.contains(At(kMon, 5, 59), 120));
  EXPECT_TRUE(w.contains(At(kMon, 6), 120));
  EXPECT_TRUE(w.contains(At(kMon, 15, 59), 120));
  EXPECT_FALSE(w.contains(At(kMon, 16), 120));
  // Sunday 23:00 UTC is Monday 01:00 local; Friday 23:00 UTC is Saturday 01:00 local.
  const DailyWindow night = Parse("00:00-02:00", "mon");
  EXPECT_TRUE(night.contains(At(kSun, 23), 120));
  EXPECT_FALSE(night.contains(At(kSun, 23), 0));
}

TEST(DailyWindowTest, NegativeUtcOffsetMovesTheDayBack) {
  // UTC-5: Saturday 02:00 UTC is Friday 21:00 local.
  const DailyWindow w = Parse("20:00-23:00", "fri");
  EXPECT_TRUE(w.contains(At(kSat, 2), -300));
  EXPECT_FALSE(w.contains(At(kSat, 2), 0));
  EXPECT_TRUE(Parse("08:00-18:00", "mon-fri").contains(At(kMon, 13), -300));
  EXPECT_FALSE(Parse("08:00-18:00", "mon-fri").contains(At(kMon, 12, 59), -300));
}

TEST(DailyWindowTest, InstantsBeforeTheEpoch) {
  // -1 ms is 1969-12-31 23:59:59.999 UTC, a Wednesday.
  EXPECT_TRUE(Parse("23:00-24:00", "wed").contains(-1, 0));
  EXPECT_FALSE(Parse("23:00-24:00", "thu").contains(-1, 0));
  EXPECT_FALSE(Parse("00:00-01:00", "wed").contains(-1, 0));
  EXPECT_TRUE(Parse("00:00-01:00", "thu").contains(0, 0));
}

TEST(DailyWindowTest, ParseErrors) {
  ExpectParseError("08:00", "", "window '08:00' must be HH:MM-HH:MM");
  ExpectParseError("", "", "window '' must be HH:MM-HH:MM");
  ExpectParseError("08:00-08:00", "", "window '08:00-08:00' is empty");
  ExpectParseError("24:00-06:00", "", "window '24:00-06:00' starts at 24:00");
  ExpectParseError("25:00-26:00", "", "'25:00' is not a time of day (HH:MM or HH:MM:SS, 00:00 to 24:00)");
  ExpectParseError("08:00-18:61", "", "'18:61' is not a time of day (HH:MM or HH:MM:SS, 00:00 to 24:00)");
  ExpectParseError("0800-1800", "", "'0800' is not a time of day (HH:MM or HH:MM:SS, 00:00 to 24:00)");
  ExpectParseError("08:00-18:00", "funday", "days 'funday': expected names like mon-fri or sat,sun");
  ExpectParseError("08:00-18:00", "mon-", "days 'mon-': expected names like mon-fri or sat,sun");
  ExpectParseError("08:00-18:00", "mon,,tue", "days 'mon,,tue': expected names like mon-fri or sat,sun");
  ExpectParseError("08:00-18:00", "weekdays", "days 'weekdays': expected names like mon-fri or sat,sun");
}

TEST(DailyWindowTest, NextBoundaryIsTheNextEdge) {
  const DailyWindow w = Parse("08:00-18:00");
  EXPECT_EQ(w.next_boundary_after(At(kMon, 0), 0), At(kMon, 8));
  // Strictly after: at an edge, the next one is the other edge.
  EXPECT_EQ(w.next_boundary_after(At(kMon, 8), 0), At(kMon, 18));
  EXPECT_EQ(w.next_boundary_after(At(kMon, 12), 0), At(kMon, 18));
  EXPECT_EQ(w.next_boundary_after(At(kMon, 18), 0), At(kTue, 8));
  EXPECT_EQ(w.next_boundary_after(At(kSun, 20), 0), At(kMon, 8) + 7 * kDay);
}

TEST(DailyWindowTest, NextBoundaryWithOffsetAndWrap) {
  // UTC+1: the 08:00 local edge is 07:00 UTC.
  EXPECT_EQ(Parse("08:00-18:00").next_boundary_after(At(kMon, 0), 60), At(kMon, 7));
  EXPECT_EQ(Parse("08:00-18:00").next_boundary_after(At(kMon, 0), -60), At(kMon, 9));
  const DailyWindow night = Parse("22:00-06:00");
  EXPECT_EQ(night.next_boundary_after(At(kMon, 12), 0), At(kMon, 22));
  EXPECT_EQ(night.next_boundary_after(At(kMon, 23), 0), At(kTue, 6));
  EXPECT_EQ(night.next_boundary_after(At(kTue, 3), 0), At(kTue, 6));
  EXPECT_EQ(DailyWindow().next_boundary_after(At(kMon, 5), 0), At(kTue, 0));
}

TEST(DailyWindowTest, MembershipIsConstantUntilTheNextBoundary) {
  // next_boundary_after may be early (it ignores the day mask) but never late.
  const DailyWindow windows[] = {Parse("08:00-18:00", "mon-fri"), Parse("22:00-06:00", "fri"),
                                 Parse("00:00-24:00", "sat,sun"), Parse("09:15-09:45", "wed")};
  std::mt19937_64 rng(20240101);
  std::uniform_int_distribution<TimeMs> when(-14 * kDay, 28 * kDay);
  for (const DailyWindow& w : windows) {
    for (int offset : {0, 60, -300, 330}) {
      for (int i = 0; i < 200; ++i) {
        const TimeMs t = when(rng);
        const TimeMs next = w.next_boundary_after(t, offset);
        ASSERT_GT(next, t);
        ASSERT_LE(next - t, 8 * kDay) << w.to_string();
        const bool in = w.contains(t, offset);
        for (TimeMs probe : {t + (next - t) / 3, t + (next - t) / 2, next - 1}) {
          ASSERT_EQ(w.contains(probe, offset), in)
              << w.to_string() << " offset " << offset << " t=" << t << " next=" << next << " probe=" << probe;
        }
      }
    }
  }
}

}  // namespace
}  // namespace sched::core
