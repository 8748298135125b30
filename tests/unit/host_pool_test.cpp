// Tests HostPool: membership, draining, usage accounting and best-fit / spread placement.
#include "core/host_pool.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sched::core {
namespace {

constexpr std::int64_t kGi = 1024;

HostSpec Host(std::string name, std::int64_t cores, std::int64_t mem_gib = 0) {
  HostSpec h;
  h.name = std::move(name);
  h.capacity = Resources::cpu_mem(cores * 1000, mem_gib * kGi);
  return h;
}

int Add(HostPool& pool, const HostSpec& spec) {
  auto r = pool.add(spec);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : -1;
}

Resources Cores(std::int64_t n) {
  return Resources::of(kCpu, n * 1000);
}

TEST(HostPoolTest, AddAssignsIndicesAndSumsCapacity) {
  HostPool pool;
  EXPECT_EQ(Add(pool, Host("h1", 8, 32)), 0);
  EXPECT_EQ(Add(pool, Host("h2", 4, 16)), 1);
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.schedulable_capacity(), Resources::cpu_mem(12000, 48 * kGi));
  EXPECT_EQ(pool.free_total(), pool.schedulable_capacity());
  EXPECT_EQ(*pool.find("h2"), 1);
  EXPECT_EQ(pool.host(0).name, "h1");
  EXPECT_TRUE(pool.host(0).schedulable());
}

TEST(HostPoolTest, AddErrors) {
  HostPool pool;
  Add(pool, Host("h1", 8));
  auto dup = pool.add(Host("h1", 4));
  ASSERT_FALSE(dup.is_ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "host h1 already exists");
  EXPECT_EQ(pool.schedulable_capacity(), Cores(8));  // the duplicate changed nothing

  auto empty = pool.add(Host("", 4));
  ASSERT_FALSE(empty.is_ok());
  EXPECT_EQ(empty.status().message(), "host name is empty");
  HostSpec negative = Host("h2", 4);
  negative.capacity[kMemory] = -1;
  auto neg = pool.add(negative);
  ASSERT_FALSE(neg.is_ok());
  EXPECT_EQ(neg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(neg.status().message(), "host h2: negative capacity");
  EXPECT_EQ(pool.size(), 1u);
}

TEST(HostPoolTest, RemoveAndReAddKeepsTheIndex) {
  HostPool pool;
  Add(pool, Host("h1", 8));
  Add(pool, Host("h2", 4));
  pool.use(0, Cores(3));
  ASSERT_TRUE(pool.remove("h1").is_ok());
  EXPECT_FALSE(pool.host(0).up);
  EXPECT_FALSE(pool.host(0).schedulable());
  EXPECT_EQ(pool.schedulable_capacity(), Cores(4));
  EXPECT_EQ(pool.free_total(), Cores(4));
  EXPECT_EQ(pool.find_fit(Cores(1), PlacementPolicy::kSpread), 1);
  EXPECT_EQ(pool.room_for(0, Cores(1)), 0);

  const Status again = pool.remove("h1");
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_EQ(again.message(), "host h1 is already gone");
  const Status unknown = pool.remove("zz");
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(), "unknown host 'zz'");

  // Back with a new size and nothing in use.
  EXPECT_EQ(Add(pool, Host("h1", 16)), 0);
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_TRUE(pool.host(0).up);
  EXPECT_TRUE(pool.host(0).used.is_zero());
  EXPECT_EQ(pool.host(0).capacity, Cores(16));
  EXPECT_EQ(pool.schedulable_capacity(), Cores(20));
  EXPECT_EQ(pool.free_total(), Cores(20));
  EXPECT_EQ(pool.find_fit(Cores(10), PlacementPolicy::kPack), 0);
}

TEST(HostPoolTest, ReAddAfterRemovingADrainedHostIsNotDraining) {
  HostPool pool;
  Add(pool, Host("h1", 8));
  ASSERT_TRUE(pool.set_draining("h1", true).is_ok());
  ASSERT_TRUE(pool.remove("h1").is_ok());
  EXPECT_EQ(Add(pool, Host("h1", 8)), 0);
  EXPECT_FALSE(pool.host(0).draining);
  EXPECT_EQ(pool.schedulable_capacity(), Cores(8));
}

TEST(HostPoolTest, DrainExcludesFromCapacityAndPlacement) {
  HostPool pool;
  Add(pool, Host("h1", 8));
  Add(pool, Host("h2", 4));
  ASSERT_TRUE(pool.set_draining("h1", true).is_ok());
  EXPECT_TRUE(pool.host(0).draining);
  EXPECT_TRUE(pool.host(0).up);
  EXPECT_EQ(pool.schedulable_capacity(), Cores(4));
  EXPECT_EQ(pool.free_total(), Cores(4));
  EXPECT_EQ(pool.find_fit(Cores(2), PlacementPolicy::kSpread), 1);
  EXPECT_EQ(pool.find_fit(Cores(2), PlacementPolicy::kPack), 1);
  EXPECT_EQ(pool.find_fit(Cores(6), PlacementPolicy::kPack), -1);
  EXPECT_EQ(pool.room_for(0, Cores(1)), 0);
  // Draining twice is a no-op, not a double subtraction.
  ASSERT_TRUE(pool.set_draining("h1", true).is_ok());
  EXPECT_EQ(pool.schedulable_capacity(), Cores(4));

  ASSERT_TRUE(pool.set_draining("h1", false).is_ok());
  EXPECT_EQ(pool.schedulable_capacity(), Cores(12));
  EXPECT_EQ(pool.find_fit(Cores(6), PlacementPolicy::kPack), 0);
  ASSERT_TRUE(pool.set_draining("h1", false).is_ok());
  EXPECT_EQ(pool.schedulable_capacity(), Cores(12));
}

TEST(HostPoolTest, DrainErrors) {
  HostPool pool;
  Add(pool, Host("h1", 8));
  const Status unknown = pool.set_draining("nope", true);
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(), "unknown host 'nope'");
  ASSERT_TRUE(pool.remove("h1").is_ok());
  const Status gone = pool.set_draining("h1", true);
  EXPECT_EQ(gone.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(gone.message(), "host h1 is gone");
}

TEST(HostPoolTest, UseAndUnuseTrackFreeRoom) {
  HostPool pool;
  Add(pool, Host("h1", 8, 32));
  Add(pool, Host("h2", 4, 16));
  pool.use(0, Resources::cpu_mem(2000, 8 * kGi));
  pool.use(1, Resources::cpu_mem(1000, 1 * kGi));
  EXPECT_EQ(pool.host(0).used, Resources::cpu_mem(2000, 8 * kGi));
  EXPECT_EQ(pool.host(0).free(), Resources::cpu_mem(6000, 24 * kGi));
  EXPECT_EQ(pool.free_total(), Resources::cpu_mem(9000, 39 * kGi));
  EXPECT_EQ(pool.schedulable_capacity(), Resources::cpu_mem(12000, 48 * kGi));
  pool.unuse(0, Resources::cpu_mem(2000, 8 * kGi));
  EXPECT_TRUE(pool.host(0).used.is_zero());
  EXPECT_EQ(pool.free_total(), Resources::cpu_mem(11000, 47 * kGi));
}

TEST(HostPoolTest, UseOnADrainingHostCountsOnceItIsBack) {
  // Executors on a draining host still use it; free_total ignores the host until undrained.
  HostPool pool;
  Add(pool, Host("h1", 8));
  Add(pool, Host("h2", 4));
  ASSERT_TRUE(pool.set_draining("h1", true).is_ok());
  pool.use(0, Cores(3));
  EXPECT_EQ(pool.free_total(), Cores(4));
  ASSERT_TRUE(pool.set_draining("h1", false).is_ok());
  EXPECT_EQ(pool.free_total(), Cores(9));
  pool.unuse(0, Cores(3));
  EXPECT_EQ(pool.free_total(), Cores(12));
}

TEST(HostPoolTest, RoomKeptForFreeGpusIsNotOfferedToCpuOnlyShapes) {
  HostPool pool;
  HostSpec g = Host("g1", 32, 128);
  g.capacity[kGpu] = 4'000;
  Add(pool, g);
  Add(pool, Host("c1", 32, 128));
  const Resources small = Resources::cpu_mem(1000, 4 * kGi);
  Resources gpu = Resources::cpu_mem(4000, 16 * kGi);
  gpu[kGpu] = 1'000;
  EXPECT_EQ(pool.room_for(0, small), 32);
  const std::uint64_t before = pool.room_epoch(gpu);
  HostPool::Keep keep{};
  keep[kGpu] = gpu;
  pool.set_keep(keep);
  // Four free gpus keep 16 cores and 64 GiB; gpu work and gpu-less hosts are untouched.
  EXPECT_EQ(pool.room_for(0, small), 16);
  EXPECT_EQ(pool.room_for(0, gpu), 4);
  EXPECT_EQ(pool.room_for(1, small), 32);
  EXPECT_EQ(pool.room_epoch(gpu), before);
  // Two gpus taken: two are kept for.
  pool.use(0, gpu * 2);
  EXPECT_EQ(pool.room_for(0, small), 16);
  // Cpu short of what the free gpus need: none is left to cpu-only work.
  pool.use(0, Resources::cpu_mem(20'000, 80 * kGi));
  EXPECT_EQ(pool.room_for(0, small), 0);
  EXPECT_EQ(pool.room_for(0, gpu), 1);
  EXPECT_EQ(pool.total_room(small), 32);
  // Nothing waits any more: the room is everyone's again.
  pool.set_keep(HostPool::Keep{});
  EXPECT_EQ(pool.room_for(0, small), 4);
  EXPECT_EQ(pool.total_room(small), 36);
}

TEST(HostPoolTest, PackPicksTheFullestHostThatFits) {
  HostPool pool;
  Add(pool, Host("roomy", 8));   // free 8
  Add(pool, Host("tight", 8));   // free 3
  Add(pool, Host("middle", 8));  // free 5
  pool.use(1, Cores(5));
  pool.use(2, Cores(3));
  EXPECT_EQ(pool.find_fit(Cores(1), PlacementPolicy::kPack), 1);
  EXPECT_EQ(pool.find_fit(Cores(3), PlacementPolicy::kPack), 1);  // an exact fit counts
  EXPECT_EQ(pool.find_fit(Cores(4), PlacementPolicy::kPack), 2);
  EXPECT_EQ(pool.find_fit(Cores(6), PlacementPolicy::kPack), 0);
  EXPECT_EQ(pool.find_fit(Cores(9), PlacementPolicy::kPack), -1);
  // The index follows usage: once "tight" is full, the next fullest is "middle".
  pool.use(1, Cores(3));
  EXPECT_EQ(pool.find_fit(Cores(1), PlacementPolicy::kPack), 2);
}

TEST(HostPoolTest, SpreadPicksTheEmptiestHost) {
  HostPool pool;
  Add(pool, Host("a", 8));
  Add(pool, Host("b", 8));
  Add(pool, Host("c", 8));
  pool.use(0, Cores(5));
  pool.use(2, Cores(1));
  EXPECT_EQ(pool.find_fit(Cores(1), PlacementPolicy::kSpread), 1);
  pool.use(1, Cores(4));
  EXPECT_EQ(pool.find_fit(Cores(1), PlacementPolicy::kSpread), 2);
  EXPECT_EQ(pool.find_fit(Cores(7), PlacementPolicy::kSpread), 2);
  EXPECT_EQ(pool.find_fit(Cores(8), PlacementPolicy::kSpread), -1);
}

// A cpu-heavy executor goes to the host it leaves balanced, even when many
// hosts that are just as full come before it: placing it on any of those
// would strand their memory.
TEST(HostPoolTest, PackFindsTheBalancedHostFarDownTheOrder) {
  HostPool pool;
  for (int i = 0; i < 300; ++i) Add(pool, Host("h" + std::to_string(i), 8, 32));
  for (int i = 0; i < 299; ++i) pool.use(i, Resources::cpu_mem(4000, 0));  // free: 4 cpu, 32 GiB
  pool.use(299, Resources::cpu_mem(4000, 24 * kGi));                       // free: 4 cpu, 8 GiB
  const Resources cpu_heavy = Resources::cpu_mem(4000, 8 * kGi);
  // Every host has room for exactly one; only the last is left empty rather than memory-only.
  EXPECT_EQ(pool.find_fit(cpu_heavy, PlacementPolicy::kPack), 299);
}

TEST(HostPoolTest, MemoryBoundHostIsSkipped) {
  const Resources shape = Resources::cpu_mem(1000, 4 * kGi);
  {
    // Pack would try the host with the least free cpu first, but its memory is short.
    HostPool pool;
    Add(pool, Host("small-mem", 2, 1));
    Add(pool, Host("big", 8, 32));
    EXPECT_EQ(pool.find_fit(shape, PlacementPolicy::kPack), 1);
  }
  {
    // Spread would try the host with the most free cpu first, but its memory is short.
    HostPool pool;
    Add(pool, Host("many-cores", 16, 2));
    Add(pool, Host("few-cores", 4, 32));
    EXPECT_EQ(pool.find_fit(shape, PlacementPolicy::kSpread), 1);
  }
  {
    HostPool pool;
    Add(pool, Host("a", 16, 2));
    Add(pool, Host("b", 2, 2));
    EXPECT_EQ(pool.find_fit(shape, PlacementPolicy::kPack), -1);
    EXPECT_EQ(pool.find_fit(shape, PlacementPolicy::kSpread), -1);
  }
}

TEST(HostPoolTest, ShapeWithoutCpu) {
  // A gpu-only shape: every host passes the cpu index; only the gpu host fits.
  HostPool pool;
  Add(pool, Host("cpu-only", 8));
  HostSpec g = Host("gpu", 4);
  g.capacity[kGpu] = 2000;
  Add(pool, g);
  EXPECT_EQ(pool.find_fit(Resources::of(kGpu, 1000), PlacementPolicy::kPack), 1);
  EXPECT_EQ(pool.find_fit(Resources::of(kGpu, 1000), PlacementPolicy::kSpread), 1);
  EXPECT_EQ(pool.room_for(1, Resources::of(kGpu, 500)), 4);
  EXPECT_EQ(pool.room_for(0, Resources::of(kGpu, 500)), 0);
}

TEST(HostPoolTest, RoomForCountsWholeShapes) {
  HostPool pool;
  Add(pool, Host("h1", 8, 16));
  const Resources shape = Resources::cpu_mem(2000, 3 * kGi);
  EXPECT_EQ(pool.room_for(0, shape), 4);  // cpu-bound: 8/2 vs 16/3
  pool.use(0, shape);
  EXPECT_EQ(pool.room_for(0, shape), 3);
  pool.use(0, Resources::of(kMemory, 10 * kGi));
  EXPECT_EQ(pool.room_for(0, shape), 1);  // memory-bound: 3 GiB left
  pool.use(0, Resources::of(kMemory, 1));
  EXPECT_EQ(pool.room_for(0, shape), 0);  // a MiB short of one shape
  pool.unuse(0, Resources::of(kMemory, 1));
  ASSERT_TRUE(pool.set_draining("h1", true).is_ok());
  EXPECT_EQ(pool.room_for(0, shape), 0);  // draining
}

TEST(HostPoolTest, SetCapacityResizesAndKeepsUsage) {
  HostPool pool;
  Add(pool, Host("h1", 8));
  pool.use(0, Cores(2));
  ASSERT_TRUE(pool.set_capacity("h1", Cores(4)).is_ok());
  EXPECT_EQ(pool.schedulable_capacity(), Cores(4));
  EXPECT_EQ(pool.free_total(), Cores(2));
  EXPECT_EQ(pool.find_fit(Cores(3), PlacementPolicy::kPack), -1);
  EXPECT_EQ(pool.find_fit(Cores(2), PlacementPolicy::kPack), 0);
  const Status neg = pool.set_capacity("h1", Cores(-1));
  EXPECT_EQ(neg.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(neg.message(), "host h1: negative capacity");
  EXPECT_EQ(pool.set_capacity("zz", Cores(1)).message(), "unknown host 'zz'");
}

TEST(PlacementPolicyTest, ParseAndName) {
  EXPECT_EQ(*parse_placement_policy("pack"), PlacementPolicy::kPack);
  EXPECT_EQ(*parse_placement_policy("spread"), PlacementPolicy::kSpread);
  auto bad = parse_placement_policy("best");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(), "unknown placement policy 'best' (expected pack or spread)");
  EXPECT_EQ(placement_policy_name(PlacementPolicy::kPack), "pack");
  EXPECT_EQ(placement_policy_name(PlacementPolicy::kSpread), "spread");
}

}  // namespace
}  // namespace sched::core
