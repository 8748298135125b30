// Tests sessionctl's aligned tables and its resource and time formatting.
#include <gtest/gtest.h>

#include "client/sessionctl/resource_text.hpp"
#include "client/sessionctl/table.hpp"
#include "client/sessionctl/time_text.hpp"
#include "core/quantity.hpp"

namespace sched::sessionctl {
namespace {

TEST(SessionctlTableTest, AlignsColumnsAndTrimsTrailingSpace) {
  Table t({{"NAME"}, {"N", Table::Align::kRight}, {"NOTE"}});
  t.add_row({"a", "1", ""});
  t.add_row({"longer", "100", "x"});
  EXPECT_EQ(t.render(),
            "NAME      N  NOTE\n"
            "a         1\n"
            "longer  100  x\n");
}

TEST(SessionctlTableTest, PadsShortRowsAndDropsExtraCells) {
  Table t({{"A"}, {"B"}});
  t.add_row({"1"});
  t.add_row({"2", "3", "ignored"});
  EXPECT_EQ(t.render(), "A  B\n1\n2  3\n");
}

TEST(SessionctlTableTest, HeaderOnlyWhenEmpty) {
  Table t({{"HOST"}, {"STATE"}});
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.render(), "HOST  STATE\n");
}

TEST(SessionctlResourceTextTest, UsesTheCoreQuantitySyntax) {
  api::ResourceVector v;
  v.cpu_millis = 2000;
  v.memory_mib = 8192;
  EXPECT_EQ(format_resources(v), "cpu=2 memory=8Gi");
  v.cpu_millis = 500;
  v.memory_mib = 1536;
  v.gpu_millis = 250;
  EXPECT_EQ(format_resources(v), "cpu=0.5 memory=1536Mi gpu=0.25");
}

TEST(SessionctlResourceTextTest, ZeroIsNoneAndMinusOneIsUnlimited) {
  EXPECT_EQ(format_resources(api::ResourceVector{}), "none");
  api::ResourceVector all;
  all.cpu_millis = -1;
  all.memory_mib = -1;
  all.gpu_millis = -1;
  EXPECT_EQ(format_resources(all), "unlimited");
  api::ResourceVector cpu_only;
  cpu_only.cpu_millis = 4000;
  cpu_only.memory_mib = -1;
  EXPECT_EQ(format_resources(cpu_only), "cpu=4 memory=unlimited");
}

TEST(SessionctlResourceTextTest, ExtrasPrintByNameAndConvertToCoreKinds) {
  api::ResourceVector v;
  v.cpu_millis = 1000;
  v.extras["fpga"] = 2000;
  EXPECT_EQ(format_resources(v), "cpu=1 fpga=2");

  auto core = to_core(v);
  ASSERT_TRUE(core.is_ok()) << core.status().to_string();
  EXPECT_EQ((*core)[core::kCpu], 1000);
  const auto fpga = core::ResourceKinds::find("fpga");
  ASSERT_TRUE(fpga.has_value());
  EXPECT_EQ((*core)[*fpga], 2000);
}

TEST(SessionctlTimeTextTest, TimestampsAreUtc) {
  EXPECT_EQ(format_timestamp(0), "-");
  EXPECT_EQ(format_timestamp(1'700'000'000'123), "2023-11-14T22:13:20Z");
}

TEST(SessionctlTimeTextTest, AgesPickTwoUnits) {
  EXPECT_EQ(format_age(-5000), "0s");
  EXPECT_EQ(format_age(999), "0s");
  EXPECT_EQ(format_age(45'000), "45s");
  EXPECT_EQ(format_age(12 * 60'000 + 5'000), "12m05s");
  EXPECT_EQ(format_age(3 * 3'600'000 + 2 * 60'000 + 59'000), "3h02m");
  EXPECT_EQ(format_age(2 * 86'400'000LL + 4 * 3'600'000), "2d04h");
}

}  // namespace
}  // namespace sched::sessionctl
