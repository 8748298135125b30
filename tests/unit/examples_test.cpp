// Every example scenario replays without error, and its steps settle.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "sim/simulator.hpp"

namespace sched::sim {
namespace {

TEST(ExamplesTest, EveryScenarioReplays) {
  const std::filesystem::path dir = std::filesystem::path(SCHED_SOURCE_DIR) / "examples" / "scenarios";
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++seen;
    SCOPED_TRACE(entry.path().string());
    auto sc = load_scenario(entry.path().string());
    ASSERT_TRUE(sc.is_ok()) << sc.status().to_string();
    const std::size_t steps = sc->steps.size();
    Simulator sim(std::move(*sc));
    std::ostringstream json;
    const Status st = sim.run(json, nullptr, false);
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    std::size_t lines = 0;
    for (char c : json.str()) lines += c == '\n' ? 1 : 0;
    EXPECT_EQ(lines, steps);
    EXPECT_EQ(sim.scheduler().pending_revocations(), 0u) << "every step settles";
  }
  EXPECT_GE(seen, 3);
}

}  // namespace
}  // namespace sched::sim
