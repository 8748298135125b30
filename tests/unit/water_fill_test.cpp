// Tests WaterFill::fill: weighted progressive filling (DRF) with rooms, starting levels and exhausted kinds.
#include "core/water_fill.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sched::core {
namespace {

FracResources Frac(double cpu, double mem = 0, double gpu = 0) {
  FracResources f;
  f[kCpu] = cpu;
  f[kMemory] = mem;
  f[kGpu] = gpu;
  return f;
}

FillClaim Claim(FracResources room, double weight = 1.0, FracResources start = {}) {
  FillClaim c;
  c.room = room;
  c.weight = weight;
  c.start = start;
  return c;
}

std::vector<FracResources> Fill(const FracResources& pool, const Resources& total,
                                const std::vector<FillClaim>& claims) {
  WaterFill wf;
  std::vector<FracResources> out(claims.size(), Frac(-1, -1, -1));  // fill must overwrite stale contents
  wf.fill(pool, DominantShare(total), claims, out);
  return out;
}

constexpr double kTol = 1e-6;

TEST(WaterFillTest, EqualWeightsSplitEqually) {
  const auto out = Fill(Frac(100), Resources::of(kCpu, 100), {Claim(Frac(100)), Claim(Frac(100))});
  EXPECT_NEAR(out[0][kCpu], 50, kTol);
  EXPECT_NEAR(out[1][kCpu], 50, kTol);
  const auto three = Fill(Frac(100), Resources::of(kCpu, 100), {Claim(Frac(90)), Claim(Frac(90)), Claim(Frac(90))});
  for (const auto& o : three) EXPECT_NEAR(o[kCpu], 100.0 / 3, kTol);
}

TEST(WaterFillTest, WeightsSplitInProportion) {
  const auto out = Fill(Frac(100), Resources::of(kCpu, 100), {Claim(Frac(100), 1), Claim(Frac(100), 3)});
  EXPECT_NEAR(out[0][kCpu], 25, kTol);
  EXPECT_NEAR(out[1][kCpu], 75, kTol);
}

TEST(WaterFillTest, RoomCapsAndTheSurplusFlowsToOthers) {
  const auto out = Fill(Frac(100), Resources::of(kCpu, 100), {Claim(Frac(10)), Claim(Frac(100)), Claim(Frac(30), 2)});
  EXPECT_NEAR(out[0][kCpu], 10, kTol);
  EXPECT_NEAR(out[2][kCpu], 30, kTol);
  EXPECT_NEAR(out[1][kCpu], 60, kTol);
}

TEST(WaterFillTest, EveryoneFullWhenThePoolIsLarge) {
  const auto out = Fill(Frac(100), Resources::of(kCpu, 100), {Claim(Frac(10)), Claim(Frac(20), 5)});
  EXPECT_NEAR(out[0][kCpu], 10, kTol);
  EXPECT_NEAR(out[1][kCpu], 20, kTol);
}

TEST(WaterFillTest, StartingLevelsAreEvenedOutFirst) {
  // A already holds 30: of 50 more, B catches up to 30 and the last 20 split evenly.
  const auto out =
      Fill(Frac(50), Resources::of(kCpu, 100), {Claim(Frac(100), 1, Frac(30)), Claim(Frac(100), 1, Frac(0))});
  EXPECT_NEAR(out[0][kCpu], 10, kTol);
  EXPECT_NEAR(out[1][kCpu], 40, kTol);
}

TEST(WaterFillTest, ClaimantFarAboveGetsNothing) {
  const auto out =
      Fill(Frac(40), Resources::of(kCpu, 100), {Claim(Frac(100), 1, Frac(60)), Claim(Frac(100), 1, Frac(0))});
  EXPECT_NEAR(out[0][kCpu], 0, kTol);
  EXPECT_NEAR(out[1][kCpu], 40, kTol);
}

TEST(WaterFillTest, StartingLevelsAreDividedByWeight) {
  // Levels start/weight: A at 20/2 = 10, B at 0. Of 40: B reaches 10 first, then 2:1.
  const auto out =
      Fill(Frac(40), Resources::of(kCpu, 100), {Claim(Frac(100), 2, Frac(20)), Claim(Frac(100), 1, Frac(0))});
  EXPECT_NEAR(out[0][kCpu], 20, kTol);
  EXPECT_NEAR(out[1][kCpu], 20, kTol);
}

TEST(WaterFillTest, DrfEqualisesDominantShares) {
  // The DRF paper's example: 9 cpu, 18 GB; A's tasks are <1 cpu, 4 GB>, B's <3 cpu, 1 GB>.
  const Resources total = Resources::cpu_mem(9, 18);
  const auto out = Fill(FracResources(total), total, {Claim(Frac(9, 36)), Claim(Frac(27, 9))});
  EXPECT_NEAR(out[0][kCpu], 3, kTol);
  EXPECT_NEAR(out[0][kMemory], 12, kTol);
  EXPECT_NEAR(out[1][kCpu], 6, kTol);
  EXPECT_NEAR(out[1][kMemory], 2, kTol);
  const DominantShare ds(total);
  EXPECT_NEAR(ds.of(out[0]), 2.0 / 3, kTol);
  EXPECT_NEAR(ds.of(out[1]), 2.0 / 3, kTol);
}

TEST(WaterFillTest, WeightedDrf) {
  // Weights 1:2 with shapes pointing at different kinds: dominant shares 1:2.
  const Resources total = Resources::cpu_mem(100, 100);
  const auto out = Fill(FracResources(total), total, {Claim(Frac(100, 10), 1), Claim(Frac(10, 100), 2)});
  const DominantShare ds(total);
  EXPECT_NEAR(ds.of(out[1]), 2 * ds.of(out[0]), kTol);
  // A's cpu + B's cpu cannot exceed 100, and neither can memory; here memory binds first.
  EXPECT_NEAR(out[0][kMemory] + out[1][kMemory], 100, kTol);
  EXPECT_LE(out[0][kCpu] + out[1][kCpu], 100 + kTol);
}

TEST(WaterFillTest, ExhaustedKindStopsOnlyThoseWhoNeedIt) {
  // One gpu in the pool: A (cpu+gpu) stops when it runs out; B (cpu only) takes the rest of the cpu.
  const Resources total = Resources::of(kCpu, 10) + Resources::of(kGpu, 10);
  const auto out = Fill(Frac(10, 0, 1), total, {Claim(Frac(10, 0, 10)), Claim(Frac(10))});
  EXPECT_NEAR(out[0][kGpu], 1, kTol);
  EXPECT_NEAR(out[0][kCpu], 1, kTol);
  EXPECT_NEAR(out[1][kCpu], 9, kTol);
  EXPECT_NEAR(out[1][kGpu], 0, kTol);
}

TEST(WaterFillTest, ZeroWeightGetsNothing) {
  const auto out = Fill(Frac(100), Resources::of(kCpu, 100), {Claim(Frac(100), 0), Claim(Frac(60), 1)});
  EXPECT_TRUE(out[0].is_zero());
  EXPECT_NEAR(out[1][kCpu], 60, kTol);
}

TEST(WaterFillTest, ZeroRoomAndUnknownKindsGetNothing) {
  // C wants only gpus, which the cluster (the norm) does not have.
  const auto out =
      Fill(Frac(100, 0, 5), Resources::of(kCpu, 100), {Claim(Frac(0)), Claim(Frac(100)), Claim(Frac(0, 0, 5))});
  EXPECT_TRUE(out[0].is_zero());
  EXPECT_NEAR(out[1][kCpu], 100, kTol);
  EXPECT_TRUE(out[2].is_zero());
}

TEST(WaterFillTest, EmptyPoolOrNoClaims) {
  const auto none = Fill(Frac(0), Resources::of(kCpu, 100), {Claim(Frac(10)), Claim(Frac(20))});
  EXPECT_TRUE(none[0].is_zero());
  EXPECT_TRUE(none[1].is_zero());
  const auto negative = Fill(Frac(-5), Resources::of(kCpu, 100), {Claim(Frac(10))});
  EXPECT_TRUE(negative[0].is_zero());
  EXPECT_TRUE(Fill(Frac(10), Resources::of(kCpu, 100), {}).empty());
}

TEST(WaterFillTest, ReusedObjectGivesTheSameAnswer) {
  // The scratch vectors are reused between calls; a second call must not see the first's state.
  WaterFill wf;
  const DominantShare norm(Resources::of(kCpu, 100));
  std::vector<FillClaim> big = {Claim(Frac(100)), Claim(Frac(100), 3), Claim(Frac(5))};
  std::vector<FracResources> out(3);
  wf.fill(Frac(100), norm, big, out);
  std::vector<FillClaim> small = {Claim(Frac(100))};
  std::vector<FracResources> out1(1);
  wf.fill(Frac(40), norm, small, out1);
  EXPECT_NEAR(out1[0][kCpu], 40, kTol);
  std::vector<FracResources> again(3);
  wf.fill(Frac(100), norm, big, again);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(again[i], out[i]);
}

std::string Describe(const FracResources& f, std::size_t kinds) {
  std::ostringstream o;
  o << "(";
  for (std::size_t k = 0; k < kinds; ++k) o << (k ? ", " : "") << f[k];
  o << ")";
  return o.str();
}

// Random inputs: no part beyond its room, no kind beyond the pool, parts along the room,
// and no one left short while every kind it needs still has some left.
TEST(WaterFillTest, PropertiesOnSeededRandomInputs) {
  WaterFill wf;
  for (unsigned seed = 1; seed <= 400; ++seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> n_claims(1, 7);
    std::uniform_int_distribution<std::size_t> n_kinds(1, 3);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const std::size_t kinds = n_kinds(rng);
    Resources total;
    FracResources pool;
    for (std::size_t k = 0; k < kinds; ++k) {
      total[k] = 100 + static_cast<std::int64_t>(unit(rng) * 10'000);
      pool[k] = unit(rng) < 0.1 ? 0.0 : unit(rng) * static_cast<double>(total[k]);
    }
    const int n = n_claims(rng);
    std::vector<FillClaim> claims(static_cast<std::size_t>(n));
    for (auto& c : claims) {
      for (std::size_t k = 0; k < kinds; ++k) {
        c.room[k] = unit(rng) < 0.3 ? 0.0 : unit(rng) * static_cast<double>(total[k]) * 0.8;
        c.start[k] = unit(rng) < 0.5 ? 0.0 : unit(rng) * static_cast<double>(total[k]) * 0.3;
      }
      c.weight = unit(rng) < 0.1 ? 0.0 : 0.1 + unit(rng) * 5;
    }
    std::vector<FracResources> out(claims.size());
    wf.fill(pool, DominantShare(total), claims, out);

    const std::string ctx = "seed " + std::to_string(seed) + " pool " + Describe(pool, kinds);
    FracResources sum;
    for (std::size_t i = 0; i < claims.size(); ++i) {
      const FracResources& room = claims[i].room;
      const FracResources& part = out[i];
      sum += part;
      double frac = -1;  // part = room * frac
      for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
        ASSERT_GE(part[k], -1e-9) << ctx << " claim " << i;
        ASSERT_LE(part[k], room[k] * (1 + 1e-9) + 1e-9)
            << ctx << " claim " << i << " room " << Describe(room, kinds) << " part " << Describe(part, kinds);
        if (room[k] > 0) {
          const double f = part[k] / room[k];
          if (frac < 0) frac = f;
          ASSERT_NEAR(f, frac, 1e-9) << ctx << " claim " << i << ": part not along its room";
        } else {
          ASSERT_EQ(part[k], 0.0) << ctx << " claim " << i;
        }
      }
      if (claims[i].weight == 0) {
        ASSERT_TRUE(part.is_zero()) << ctx << " claim " << i << " has zero weight";
      }
    }
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
      ASSERT_LE(sum[k], pool[k] * (1 + 1e-6) + 1e-9) << ctx << " kind " << k << " over the pool";
    }
    // Work conservation: someone short of its room must need an exhausted kind.
    for (std::size_t i = 0; i < claims.size(); ++i) {
      if (claims[i].weight == 0) continue;
      bool short_of_room = false;
      for (std::size_t k = 0; k < kinds; ++k) {
        if (out[i][k] < claims[i].room[k] * (1 - 1e-6) - 1e-9) short_of_room = true;
      }
      if (!short_of_room) continue;
      bool needs_exhausted = false;
      for (std::size_t k = 0; k < kinds; ++k) {
        if (claims[i].room[k] > 0 && pool[k] - sum[k] <= 1e-6 * std::max(1.0, pool[k])) needs_exhausted = true;
      }
      ASSERT_TRUE(needs_exhausted) << ctx << " claim " << i << " room " << Describe(claims[i].room, kinds) << " got "
                                   << Describe(out[i], kinds) << " while the pool has " << Describe(pool - sum, kinds)
                                   << " left";
    }
  }
}

// One kind: everyone still growing when the pool ran out ends at the same level
// (start + part) / weight; the full ones stopped at or below it, and those given
// nothing already started at or above it.
TEST(WaterFillTest, SingleKindLevelsAreEqualAmongTheUnsatisfied) {
  WaterFill wf;
  for (unsigned seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const Resources total = Resources::of(kCpu, 1000);
    const FracResources pool = Frac(200 + unit(rng) * 800);
    std::vector<FillClaim> claims(5);
    for (auto& c : claims) {
      const double start = unit(rng) < 0.5 ? 0 : unit(rng) * 100;
      c = Claim(Frac(unit(rng) * 400), 0.5 + unit(rng) * 3, Frac(start));
    }
    std::vector<FracResources> out(claims.size());
    wf.fill(pool, DominantShare(total), claims, out);
    double level = -1;
    for (std::size_t i = 0; i < claims.size(); ++i) {
      const bool full = out[i][kCpu] >= claims[i].room[kCpu] - 1e-6;
      if (!full && out[i][kCpu] > 1e-9) {
        const double l = (claims[i].start[kCpu] + out[i][kCpu]) / claims[i].weight;
        if (level < 0) level = l;
        EXPECT_NEAR(l, level, 1e-6) << "seed " << seed << " claim " << i;
      }
    }
    if (level < 0) continue;  // everyone full, or the pool was empty
    for (std::size_t i = 0; i < claims.size(); ++i) {
      const bool full = out[i][kCpu] >= claims[i].room[kCpu] - 1e-6;
      const double l = (claims[i].start[kCpu] + out[i][kCpu]) / claims[i].weight;
      if (full) {
        EXPECT_LE(l, level + 1e-6) << "seed " << seed << " claim " << i << " is full above the common level";
      } else if (out[i][kCpu] <= 1e-9) {
        EXPECT_GE(l, level - 1e-6) << "seed " << seed << " claim " << i << " got nothing below the common level";
      }
    }
  }
}

}  // namespace
}  // namespace sched::core
