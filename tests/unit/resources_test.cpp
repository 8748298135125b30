// Tests Resources and FracResources arithmetic, DominantShare and the ResourceKinds registry.
#include "core/resources.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace sched::core {
namespace {

TEST(ResourcesTest, DefaultIsZero) {
  Resources r;
  EXPECT_TRUE(r.is_zero());
  EXPECT_FALSE(r.any_negative());
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) EXPECT_EQ(r[k], 0);
}

TEST(ResourcesTest, ArithmeticIsPerKind) {
  const Resources a = Resources::cpu_mem(2000, 8192);
  const Resources b = Resources::cpu_mem(500, 1024) + Resources::of(kGpu, 1000);
  const Resources sum = a + b;
  EXPECT_EQ(sum[kCpu], 2500);
  EXPECT_EQ(sum[kMemory], 9216);
  EXPECT_EQ(sum[kGpu], 1000);
  const Resources diff = a - b;
  EXPECT_EQ(diff[kCpu], 1500);
  EXPECT_EQ(diff[kMemory], 7168);
  EXPECT_EQ(diff[kGpu], -1000);
  EXPECT_TRUE(diff.any_negative());
  EXPECT_EQ(a * 3, Resources::cpu_mem(6000, 24576));
  EXPECT_TRUE((a * 0).is_zero());

  Resources c = a;
  c += b;
  EXPECT_EQ(c, sum);
  c -= b;
  EXPECT_EQ(c, a);
  c[kGpu] = 7;
  EXPECT_EQ(c[kGpu], 7);
  EXPECT_NE(c, a);
}

TEST(ResourcesTest, FitsInNeedsEveryKindToFit) {
  const Resources host = Resources::cpu_mem(8000, 32768);
  EXPECT_TRUE(Resources::cpu_mem(8000, 32768).fits_in(host));
  EXPECT_TRUE(Resources::cpu_mem(1000, 4096).fits_in(host));
  EXPECT_TRUE(Resources{}.fits_in(host));
  EXPECT_FALSE(Resources::cpu_mem(8001, 1).fits_in(host));
  EXPECT_FALSE(Resources::cpu_mem(1, 32769).fits_in(host));
  // A kind the host does not have at all.
  EXPECT_FALSE(Resources::of(kGpu, 1).fits_in(host));
}

TEST(ResourcesTest, CountOfIsTheScarcestKind) {
  const Resources pool = Resources::cpu_mem(10000, 16384);
  EXPECT_EQ(pool.count_of(Resources::cpu_mem(1000, 4096)), 4);   // memory-bound
  EXPECT_EQ(pool.count_of(Resources::cpu_mem(3000, 1024)), 3);   // cpu-bound
  EXPECT_EQ(pool.count_of(Resources::of(kCpu, 1000)), 10);       // memory ignored
  EXPECT_EQ(pool.count_of(Resources::cpu_mem(20000, 1024)), 0);  // not even one
  EXPECT_EQ(pool.count_of(Resources::of(kGpu, 1000)), 0);        // a kind the pool lacks
}

TEST(ResourcesTest, CountOfSkipsZeroKindsOfTheShape) {
  // The shape's zero kinds do not limit the count, even where the pool is empty or negative.
  Resources pool = Resources::of(kCpu, 5000);
  pool[kGpu] = -3;
  EXPECT_EQ(pool.count_of(Resources::of(kCpu, 1000)), 5);
  EXPECT_EQ(Resources::of(kCpu, -2000).count_of(Resources::of(kCpu, 1000)), 0);
  // A shape with no positive kind counts nothing rather than infinitely many.
  EXPECT_EQ(pool.count_of(Resources{}), 0);
}

TEST(ResourcesTest, MinAndMaxArePerKind) {
  const Resources a = Resources::cpu_mem(1000, 8192);
  const Resources b = Resources::cpu_mem(3000, 2048) + Resources::of(kGpu, 500);
  EXPECT_EQ(Resources::min(a, b), Resources::cpu_mem(1000, 2048));
  EXPECT_EQ(Resources::max(a, b), Resources::cpu_mem(3000, 8192) + Resources::of(kGpu, 500));
}

TEST(ResourcesTest, ToStringLeavesOutZeroKinds) {
  EXPECT_EQ(Resources{}.to_string(), "none");
  EXPECT_EQ(Resources::cpu_mem(2000, 8192).to_string(), "cpu=2, memory=8Gi");
  EXPECT_EQ(Resources::of(kMemory, 1536).to_string(), "memory=1536Mi");
  EXPECT_EQ((Resources::of(kCpu, 500) + Resources::of(kGpu, 250)).to_string(), "cpu=0.5, gpu=0.25");
  EXPECT_EQ(Resources::of(kCpu, -1000).to_string(), "cpu=-1");
}

TEST(ResourcesTest, ToStringNamesExtraKinds) {
  auto fpga = ResourceKinds::find_or_add("test.fpga");
  ASSERT_TRUE(fpga.is_ok()) << fpga.status().to_string();
  EXPECT_EQ((Resources::of(kCpu, 1000) + Resources::of(*fpga, 2000)).to_string(), "cpu=1, test.fpga=2");
}

TEST(FracResourcesTest, ConvertsAndComputes) {
  const FracResources a(Resources::cpu_mem(2000, 4096));
  EXPECT_DOUBLE_EQ(a[kCpu], 2000.0);
  EXPECT_DOUBLE_EQ(a[kMemory], 4096.0);
  const FracResources half = a * 0.5;
  EXPECT_DOUBLE_EQ(half[kCpu], 1000.0);
  EXPECT_EQ(half + half, a);
  EXPECT_EQ(a - half, half);
  FracResources neg = half - a;
  EXPECT_DOUBLE_EQ(neg[kCpu], -1000.0);
  EXPECT_TRUE(neg.clamped().is_zero());
  EXPECT_EQ(FracResources::min(a, half), half);
  EXPECT_EQ(FracResources::max(a, neg), a);
}

TEST(FracResourcesTest, FitsInAndIsZeroTolerateNoise) {
  FracResources a(Resources::of(kCpu, 1000));
  FracResources b = a;
  b[kCpu] += 5e-7;
  EXPECT_TRUE(b.fits_in(a));
  b[kCpu] += 1e-5;
  EXPECT_FALSE(b.fits_in(a));
  EXPECT_TRUE(b.fits_in(a, 1e-3));
  FracResources tiny;
  tiny[kMemory] = 1e-10;
  EXPECT_TRUE(tiny.is_zero());
  tiny[kMemory] = 1e-6;
  EXPECT_FALSE(tiny.is_zero());
}

TEST(FracResourcesTest, CountOfToleratesFloatNoise) {
  const Resources slot = Resources::cpu_mem(1000, 4096);
  FracResources just_under = FracResources(slot * 3);
  just_under[kCpu] -= 1e-7;  // water-filling leaves 2.9999999 slots where 3 were meant
  EXPECT_EQ(just_under.count_of(slot), 3);
  FracResources clearly_under = FracResources(slot * 3);
  clearly_under[kCpu] -= 1.0;  // a thousandth of a slot short is short
  EXPECT_EQ(clearly_under.count_of(slot), 2);
  EXPECT_EQ(FracResources(slot * 3).count_of(Resources::of(kCpu, 1000)), 3);
  EXPECT_EQ(FracResources().count_of(slot), 0);
  FracResources negative;
  negative[kCpu] = -5000;
  EXPECT_EQ(negative.count_of(slot), 0);
  EXPECT_EQ(FracResources(slot).count_of(Resources{}), 0);
}

TEST(DominantShareTest, IsTheLargestFractionOfTheTotal) {
  const DominantShare share(Resources::cpu_mem(10000, 40960));
  EXPECT_DOUBLE_EQ(share.of(Resources::cpu_mem(1000, 4096)), 0.1);
  EXPECT_DOUBLE_EQ(share.of(Resources::cpu_mem(5000, 4096)), 0.5);
  EXPECT_DOUBLE_EQ(share.of(Resources::cpu_mem(1000, 20480)), 0.5);
  EXPECT_DOUBLE_EQ(share.of(Resources{}), 0.0);
  FracResources f;
  f[kMemory] = 10240.0;
  EXPECT_DOUBLE_EQ(share.of(f), 0.25);
}

TEST(DominantShareTest, KindsTheTotalLacksDoNotCount) {
  // No gpus in the cluster: a gpu amount must not make the share infinite.
  const DominantShare share(Resources::of(kCpu, 4000));
  EXPECT_DOUBLE_EQ(share.of(Resources::of(kCpu, 1000) + Resources::of(kGpu, 5000)), 0.25);
  EXPECT_DOUBLE_EQ(DominantShare().of(Resources::of(kCpu, 1000)), 0.0);
}

TEST(ResourceKindsTest, FixedKindsExist) {
  EXPECT_EQ(ResourceKinds::name(kCpu), "cpu");
  EXPECT_EQ(ResourceKinds::name(kMemory), "memory");
  EXPECT_EQ(ResourceKinds::name(kGpu), "gpu");
  EXPECT_EQ(ResourceKinds::find("cpu"), kCpu);
  EXPECT_EQ(ResourceKinds::find("memory"), kMemory);
  EXPECT_EQ(ResourceKinds::find("gpu"), kGpu);
  EXPECT_EQ(*ResourceKinds::find_or_add("memory"), kMemory);
  EXPECT_GE(ResourceKinds::count(), 3u);
  EXPECT_EQ(ResourceKinds::name(kMaxResourceKinds + 3), "kind11");
}

TEST(ResourceKindsTest, FindOrAddAddsAnExtraOnceAndFindsItAfter) {
  // The registry is process-wide: use distinctive names and add only two kinds.
  EXPECT_FALSE(ResourceKinds::find("test.no-such-kind").has_value());
  auto fpga = ResourceKinds::find_or_add("test.fpga");
  ASSERT_TRUE(fpga.is_ok()) << fpga.status().to_string();
  EXPECT_GE(*fpga, 3u);
  EXPECT_LT(*fpga, kMaxResourceKinds);
  const std::size_t count = ResourceKinds::count();
  auto again = ResourceKinds::find_or_add("test.fpga");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(*again, *fpga);
  EXPECT_EQ(ResourceKinds::count(), count);
  EXPECT_EQ(ResourceKinds::find("test.fpga"), *fpga);
  EXPECT_EQ(ResourceKinds::name(*fpga), "test.fpga");

  auto licence = ResourceKinds::find_or_add("test/licence_x-1");
  ASSERT_TRUE(licence.is_ok()) << licence.status().to_string();
  EXPECT_NE(*licence, *fpga);
  EXPECT_EQ(ResourceKinds::name(*licence), "test/licence_x-1");
}

TEST(ResourceKindsTest, RejectsBadNames) {
  auto empty = ResourceKinds::find_or_add("");
  ASSERT_FALSE(empty.is_ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "resource kind name is empty");
  auto spaced = ResourceKinds::find_or_add("my fpga");
  ASSERT_FALSE(spaced.is_ok());
  EXPECT_EQ(spaced.status().message(), "resource kind 'my fpga' may contain only letters, digits, '_', '-', '.', '/'");
  EXPECT_FALSE(ResourceKinds::find("my fpga").has_value());
}

// Exhausting the registry would break every later test that names a new kind,
// so it happens in a child process (a gtest death test) that reports by exit code.
TEST(ResourceKindsDeathTest, NinthKindIsRefusedWithAClearMessage) {
  EXPECT_EXIT(
      {
        for (int i = 0; ResourceKinds::count() < kMaxResourceKinds; ++i) {
          if (!ResourceKinds::find_or_add("test.filler" + std::to_string(i)).is_ok()) std::exit(3);
        }
        auto r = ResourceKinds::find_or_add("test.one-too-many");
        if (r.is_ok()) std::exit(4);
        if (r.status().code() != StatusCode::kResourceExhausted) std::exit(5);
        std::cerr << r.status().message() << std::endl;
        // Existing kinds are still found once the registry is full.
        if (!ResourceKinds::find_or_add("cpu").is_ok()) std::exit(6);
        if (ResourceKinds::count() != kMaxResourceKinds) std::exit(7);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "too many resource kinds: 'test\\.one-too-many' would be kind 9 of at most 8");
}

}  // namespace
}  // namespace sched::core
