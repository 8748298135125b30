// Tests parse_quantity, format_quantity, parse_duration_ms and parse_time_of_day.
#include "core/quantity.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace sched::core {
namespace {

// Operators read these messages in config errors, so the text itself is checked.
void ExpectInvalid(const Result<std::int64_t>& r, const std::string& message) {
  ASSERT_FALSE(r.is_ok()) << "expected an error, got " << r.value();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), message);
}

std::int64_t Parse(ResourceKind kind, std::string_view text) {
  auto r = parse_quantity(kind, text);
  EXPECT_TRUE(r.is_ok()) << "'" << text << "': " << r.status().to_string();
  return r.is_ok() ? *r : -1;
}

TEST(ParseQuantityTest, CpuIsMillicores) {
  EXPECT_EQ(Parse(kCpu, "2"), 2000);
  EXPECT_EQ(Parse(kCpu, "1.5"), 1500);
  EXPECT_EQ(Parse(kCpu, "500m"), 500);
  EXPECT_EQ(Parse(kCpu, "0.25"), 250);
  EXPECT_EQ(Parse(kCpu, "0"), 0);
  EXPECT_EQ(Parse(kCpu, "  3 "), 3000);
}

TEST(ParseQuantityTest, MemoryBinarySuffixesAreMiB) {
  EXPECT_EQ(Parse(kMemory, "4Gi"), 4096);
  EXPECT_EQ(Parse(kMemory, "512Mi"), 512);
  EXPECT_EQ(Parse(kMemory, "1Ti"), 1024 * 1024);
  EXPECT_EQ(Parse(kMemory, "1.5Gi"), 1536);
  EXPECT_EQ(Parse(kMemory, "2048Ki"), 2);
}

TEST(ParseQuantityTest, MemorySparkStyleLowercaseIsBinary) {
  // Spark's "4g" and "512m" mean GiB and MiB, unlike Kubernetes' decimal G.
  EXPECT_EQ(Parse(kMemory, "4g"), 4096);
  EXPECT_EQ(Parse(kMemory, "512m"), 512);
  EXPECT_EQ(Parse(kMemory, "1t"), 1024 * 1024);
  EXPECT_EQ(Parse(kMemory, "1024k"), 1);
}

TEST(ParseQuantityTest, MemoryPlainNumberIsMiB) {
  EXPECT_EQ(Parse(kMemory, "1024"), 1024);
  EXPECT_EQ(Parse(kMemory, "1"), 1);
}

TEST(ParseQuantityTest, MemoryDecimalSuffixesRoundUpToWholeMiB) {
  // 4e9 bytes = 3814.697 MiB; a part of a MiB counts as a whole one.
  EXPECT_EQ(Parse(kMemory, "4G"), 3815);
  EXPECT_EQ(Parse(kMemory, "1M"), 1);
  EXPECT_EQ(Parse(kMemory, "1T"), 953675);
  EXPECT_EQ(Parse(kMemory, "1Ki"), 1);
}

TEST(ParseQuantityTest, GpuAndExtrasAreMilliUnits) {
  EXPECT_EQ(Parse(kGpu, "1"), 1000);
  EXPECT_EQ(Parse(kGpu, "0.25"), 250);
  EXPECT_EQ(Parse(kGpu, "250m"), 250);
  // The extra kind shares its name with resources_test so the suites add one kind, not two.
  auto fpga = ResourceKinds::find_or_add("test.fpga");
  ASSERT_TRUE(fpga.is_ok()) << fpga.status().to_string();
  EXPECT_EQ(Parse(*fpga, "2"), 2000);
  EXPECT_EQ(Parse(*fpga, "500m"), 500);
  ExpectInvalid(parse_quantity(*fpga, "2Gi"),
                "'2Gi': unknown unit for test.fpga (a number, or a number with 'm' for thousandths)");
}

TEST(ParseQuantityTest, RejectsNegative) {
  ExpectInvalid(parse_quantity(kCpu, "-1"), "'-1' is negative");
  ExpectInvalid(parse_quantity(kMemory, "-4Gi"), "'-4Gi' is negative");
  ExpectInvalid(parse_quantity(kGpu, "-0.5"), "'-0.5' is negative");
}

TEST(ParseQuantityTest, RejectsNonNumbers) {
  ExpectInvalid(parse_quantity(kCpu, "abc"), "'abc' is not a number");
  ExpectInvalid(parse_quantity(kMemory, "Gi"), "'Gi' is not a number");
  ExpectInvalid(parse_quantity(kCpu, "."), "'.' is not a number");
  ExpectInvalid(parse_quantity(kCpu, "+1"), "'+1' is not a number");
}

TEST(ParseQuantityTest, RejectsEmpty) {
  ExpectInvalid(parse_quantity(kCpu, ""), "empty quantity");
  ExpectInvalid(parse_quantity(kMemory, "   "), "empty quantity");
}

TEST(ParseQuantityTest, RejectsUnknownSuffixes) {
  ExpectInvalid(parse_quantity(kMemory, "4Xi"),
                "'4Xi': unknown memory unit (use Ki, Mi, Gi, Ti, k, m, g, t or M, G, T)");
  // No exponents: "1e3" would silently be a thousand times what was meant elsewhere.
  ExpectInvalid(parse_quantity(kMemory, "1e3"),
                "'1e3': unknown memory unit (use Ki, Mi, Gi, Ti, k, m, g, t or M, G, T)");
  ExpectInvalid(parse_quantity(kCpu, "2Gi"),
                "'2Gi': unknown unit for cpu (a number, or a number with 'm' for thousandths)");
  ExpectInvalid(parse_quantity(kCpu, "1.2.3"),
                "'1.2.3': unknown unit for cpu (a number, or a number with 'm' for thousandths)");
  ExpectInvalid(parse_quantity(kGpu, "1x"),
                "'1x': unknown unit for gpu (a number, or a number with 'm' for thousandths)");
}

TEST(ParseQuantityTest, RejectsHugeValues) {
  ExpectInvalid(parse_quantity(kCpu, "99999999999999999"), "'99999999999999999' is too large");
  ExpectInvalid(parse_quantity(kMemory, "99999999999Pi"), "'99999999999Pi' is too large");
}

TEST(FormatQuantityTest, CpuAndGpuInWholeUnitsWithUpToThreeDecimals) {
  EXPECT_EQ(format_quantity(kCpu, 2000), "2");
  EXPECT_EQ(format_quantity(kCpu, 500), "0.5");
  EXPECT_EQ(format_quantity(kCpu, 1500), "1.5");
  EXPECT_EQ(format_quantity(kCpu, 1), "0.001");
  EXPECT_EQ(format_quantity(kCpu, 0), "0");
  EXPECT_EQ(format_quantity(kGpu, 250), "0.25");
}

TEST(FormatQuantityTest, MemoryPicksTheLargestWholeBinaryUnit) {
  EXPECT_EQ(format_quantity(kMemory, 4096), "4Gi");
  EXPECT_EQ(format_quantity(kMemory, 1536), "1536Mi");
  EXPECT_EQ(format_quantity(kMemory, 1024 * 1024), "1Ti");
  EXPECT_EQ(format_quantity(kMemory, 3 * 1024 * 1024 + 1024), "3073Gi");
  EXPECT_EQ(format_quantity(kMemory, 512), "512Mi");
  EXPECT_EQ(format_quantity(kMemory, 0), "0Mi");
}

TEST(FormatQuantityTest, RoundTripsThroughParse) {
  // Reports print quantities that operators paste back into configs.
  for (std::int64_t v : {0, 1, 7, 250, 999, 1000, 1001, 1500, 2000, 123456, 64000000}) {
    for (ResourceKind kind : {kCpu, kMemory, kGpu}) {
      const std::string text = format_quantity(kind, v);
      auto back = parse_quantity(kind, text);
      ASSERT_TRUE(back.is_ok()) << text << ": " << back.status().to_string();
      EXPECT_EQ(*back, v) << "kind " << kind << " via '" << text << "'";
    }
  }
  for (std::int64_t gib = 1; gib <= 2048; gib *= 2) {
    const std::int64_t mib = gib * 1024;
    EXPECT_EQ(*parse_quantity(kMemory, format_quantity(kMemory, mib)), mib);
  }
}

TEST(QuantityInNaturalUnitTest, CoresGiBAndDevices) {
  EXPECT_DOUBLE_EQ(quantity_in_natural_unit(kCpu, 1500), 1.5);
  EXPECT_DOUBLE_EQ(quantity_in_natural_unit(kMemory, 1536), 1.5);
  EXPECT_DOUBLE_EQ(quantity_in_natural_unit(kGpu, 250), 0.25);
}

std::int64_t Duration(std::string_view text) {
  auto r = parse_duration_ms(text);
  EXPECT_TRUE(r.is_ok()) << "'" << text << "': " << r.status().to_string();
  return r.is_ok() ? *r : -1;
}

TEST(ParseDurationTest, Units) {
  EXPECT_EQ(Duration("30s"), 30'000);
  EXPECT_EQ(Duration("500ms"), 500);
  EXPECT_EQ(Duration("5m"), 300'000);
  EXPECT_EQ(Duration("5min"), 300'000);
  EXPECT_EQ(Duration("2h"), 7'200'000);
  EXPECT_EQ(Duration("2d"), 172'800'000);
  EXPECT_EQ(Duration("1.5s"), 1500);
  EXPECT_EQ(Duration("0s"), 0);
}

TEST(ParseDurationTest, CompoundDurationsAddUp) {
  EXPECT_EQ(Duration("1h30m"), 5'400'000);
  EXPECT_EQ(Duration("1h 30m"), 5'400'000);
  EXPECT_EQ(Duration("1d2h3m4s5ms"), 86'400'000 + 7'200'000 + 180'000 + 4'000 + 5);
}

TEST(ParseDurationTest, PlainNumberIsSeconds) {
  EXPECT_EQ(Duration("45"), 45'000);
  EXPECT_EQ(Duration(" 45 "), 45'000);
  EXPECT_EQ(Duration("0.5"), 500);
}

TEST(ParseDurationTest, RejectsBadInput) {
  ExpectInvalid(parse_duration_ms(""), "empty duration");
  ExpectInvalid(parse_duration_ms("10x"), "'10x': unknown duration unit 'x' (use ms, s, m, h, d)");
  ExpectInvalid(parse_duration_ms("3w"), "'3w': unknown duration unit 'w' (use ms, s, m, h, d)");
  ExpectInvalid(parse_duration_ms("abc"), "'abc' is not a duration (e.g. 30s, 5m, 1h30m)");
  ExpectInvalid(parse_duration_ms("-5s"), "'-5s' is not a duration (e.g. 30s, 5m, 1h30m)");
  ExpectInvalid(parse_duration_ms("5s-"), "'5s-' is not a duration (e.g. 30s, 5m, 1h30m)");
  // Only a lone number may omit its unit: "1h30" is ambiguous.
  ExpectInvalid(parse_duration_ms("1h30"), "'1h30': every number after the first needs a unit (ms, s, m, h, d)");
}

TEST(FormatDurationTest, PicksTheLargestWholeUnit) {
  EXPECT_EQ(format_duration_ms(3'600'000), "1h");
  EXPECT_EQ(format_duration_ms(5'400'000), "90m");
  EXPECT_EQ(format_duration_ms(30'000), "30s");
  EXPECT_EQ(format_duration_ms(1500), "1500ms");
  EXPECT_EQ(format_duration_ms(0), "0s");
  for (std::int64_t ms : {1, 999, 1000, 60'000, 61'000, 3'600'000, 86'400'000}) {
    EXPECT_EQ(Duration(format_duration_ms(ms)), ms) << format_duration_ms(ms);
  }
}

std::int64_t TimeOfDay(std::string_view text) {
  auto r = parse_time_of_day(text);
  EXPECT_TRUE(r.is_ok()) << "'" << text << "': " << r.status().to_string();
  return r.is_ok() ? *r : -1;
}

TEST(ParseTimeOfDayTest, HoursMinutesSeconds) {
  EXPECT_EQ(TimeOfDay("08:30"), 8 * 3600 + 30 * 60);
  EXPECT_EQ(TimeOfDay("08:30:15"), 8 * 3600 + 30 * 60 + 15);
  EXPECT_EQ(TimeOfDay("8:30"), 8 * 3600 + 30 * 60);
  EXPECT_EQ(TimeOfDay("00:00"), 0);
  EXPECT_EQ(TimeOfDay("23:59:59"), 86'399);
  EXPECT_EQ(TimeOfDay(" 12:00 "), 12 * 3600);
}

TEST(ParseTimeOfDayTest, TwentyFourHundredIsTheEndOfTheDay) {
  EXPECT_EQ(TimeOfDay("24:00"), 86'400);
}

TEST(ParseTimeOfDayTest, RejectsOutOfRangeAndMalformed) {
  const auto bad = [](const std::string& t) {
    return "'" + t + "' is not a time of day (HH:MM or HH:MM:SS, 00:00 to 24:00)";
  };
  for (const std::string t : {"25:00", "8:60", "08:30x", "", "24:01", "24:00:01", "08", "08:", ":30", "123:00",
                              "08:30:15:00", "08:30:60", "aa:bb", "08-30"}) {
    ExpectInvalid(parse_time_of_day(t), bad(t));
  }
}

}  // namespace
}  // namespace sched::core
