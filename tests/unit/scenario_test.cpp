// Tests scenario parsing (fields, defaults, errors with file:line: field) and the Simulator's replay.
#include "sim/scenario.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "sim/simulator.hpp"

namespace sched::sim {
namespace {

using core::AmountSpec;
using core::Resources;
using core::SlaClass;
using json = nlohmann::ordered_json;

constexpr std::int64_t kDayMs = 86'400'000;

// Raw strings open with a newline for readability; line 1 is the line after it.
std::string Yaml(const char* text) {
  return text[0] == '\n' ? std::string(text + 1) : std::string(text);
}

Scenario Parse(const std::string& yaml) {
  auto r = parse_scenario(yaml, "x.yaml");
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? std::move(*r) : Scenario();
}

void ExpectError(const std::string& yaml, const std::string& message) {
  auto r = parse_scenario(yaml, "x.yaml");
  ASSERT_FALSE(r.is_ok()) << "expected: " << message;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), message);
}

// gtest only (the tests link no gmock): substring and prefix checks that print both strings.
void ExpectContains(const std::string& text, const std::string& part) {
  EXPECT_PRED_FORMAT2(::testing::IsSubstring, part, text);
}
void ExpectStartsWith(const std::string& text, const std::string& prefix) {
  EXPECT_EQ(text.substr(0, prefix.size()), prefix) << "in: " << text;
}

double Slots(const std::optional<AmountSpec>& a) {
  EXPECT_TRUE(a.has_value());
  EXPECT_TRUE(a && a->in_slots);
  return a ? a->slots : -1;
}

TEST(ParseScenarioTest, CapacityInSlotsWithAShapedSlot) {
  const Scenario sc = Parse(Yaml(R"(
capacity: 20
slot: {cpu: 1, memory: 4Gi}
consumers:
  - {name: A, owned: 4}
)"));
  EXPECT_EQ(sc.source, "x.yaml");
  EXPECT_EQ(sc.config.slot, Resources::cpu_mem(1000, 4096));
  ASSERT_EQ(sc.hosts.size(), 1u);
  EXPECT_EQ(sc.hosts[0].name, "local");
  EXPECT_EQ(sc.hosts[0].capacity, Resources::cpu_mem(20'000, 81'920));
  EXPECT_TRUE(sc.report_in_slots);
  EXPECT_EQ(sc.start, 4 * kDayMs);  // Monday 00:00
  EXPECT_TRUE(sc.steps.empty());
}

TEST(ParseScenarioTest, DefaultSlotIsOneCpu) {
  const Scenario sc = Parse("capacity: 8\nconsumers: []\n");
  EXPECT_EQ(sc.config.slot, Resources::of(core::kCpu, 1000));
  EXPECT_EQ(sc.hosts[0].capacity, Resources::of(core::kCpu, 8000));
  EXPECT_TRUE(sc.tree.consumers.empty());
}

TEST(ParseScenarioTest, CapacityAsAVectorReportsVectors) {
  const Scenario sc = Parse(Yaml(R"(
capacity: {cpu: 16, memory: 64Gi}
consumers:
  - {name: A, owned: {cpu: 4, memory: 16Gi}}
)"));
  ASSERT_EQ(sc.hosts.size(), 1u);
  EXPECT_EQ(sc.hosts[0].capacity, Resources::cpu_mem(16'000, 65'536));
  EXPECT_FALSE(sc.report_in_slots);
  const auto& owned = sc.tree.consumers[0].plan.owned;
  ASSERT_TRUE(owned.has_value());
  EXPECT_FALSE(owned->in_slots);
  EXPECT_EQ(owned->vec, Resources::cpu_mem(4000, 16'384));
}

TEST(ParseScenarioTest, HostsWithCountExpandToNumberedNames) {
  const Scenario sc = Parse(Yaml(R"(
hosts:
  - {name: node, count: 3, cpu: 8, memory: 32Gi}
  - {name: big, cpu: 64, memory: 256Gi, gpu: 4}
  - {cpu: 2}
consumers:
  - {name: A}
)"));
  ASSERT_EQ(sc.hosts.size(), 5u);
  EXPECT_EQ(sc.hosts[0].name, "node-1");
  EXPECT_EQ(sc.hosts[1].name, "node-2");
  EXPECT_EQ(sc.hosts[2].name, "node-3");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sc.hosts[i].capacity, Resources::cpu_mem(8000, 32'768));
  EXPECT_EQ(sc.hosts[3].name, "big");
  EXPECT_EQ(sc.hosts[3].capacity, Resources::cpu_mem(64'000, 262'144) + Resources::of(core::kGpu, 4000));
  EXPECT_EQ(sc.hosts[4].name, "host-3");  // unnamed: by its position in the list
  EXPECT_EQ(sc.hosts[4].capacity, Resources::of(core::kCpu, 2000));
  EXPECT_FALSE(sc.report_in_slots);
}

TEST(ParseScenarioTest, ReportOverridesTheDefault) {
  EXPECT_TRUE(Parse("hosts: [{cpu: 4}]\nreport: slots\nconsumers: []\n").report_in_slots);
  EXPECT_FALSE(Parse("capacity: 4\nreport: vectors\nconsumers: []\n").report_in_slots);
}

TEST(ParseScenarioTest, SchedulerOptions) {
  const Scenario sc = Parse(Yaml(R"(
capacity: 4
rebalance: true
policy: drf
placement: spread
idle_timeout: 2m
start: tue 08:30
consumers: []
)"));
  EXPECT_TRUE(sc.config.rebalance.on);
  EXPECT_EQ(sc.config.share_policy, "drf");
  EXPECT_EQ(sc.config.placement, core::PlacementPolicy::kSpread);
  EXPECT_EQ(sc.config.sla.interactive_idle_timeout_ms, 120'000);
  EXPECT_EQ(sc.start, 5 * kDayMs + (8 * 3600 + 30 * 60) * 1000);
  const core::RebalanceRule r =
      Parse("capacity: 4\nrebalance: {threshold: 0.8, delay: 30s}\nconsumers: []\n").config.rebalance;
  EXPECT_TRUE(r.on);
  EXPECT_DOUBLE_EQ(r.threshold, 0.8);
  EXPECT_EQ(r.delay_ms, 30'000);
  EXPECT_EQ(Parse("capacity: 4\nstart: \"09:15\"\nconsumers: []\n").start, 4 * kDayMs + (9 * 3600 + 15 * 60) * 1000);
}

TEST(ParseScenarioTest, GraceScalarAppliesToEveryClass) {
  const Scenario sc = Parse("capacity: 4\ngrace: 45s\nconsumers: []\n");
  EXPECT_EQ(sc.config.sla.grace_ms, (std::array<core::TimeMs, 3>{45'000, 45'000, 45'000}));
}

TEST(ParseScenarioTest, GracePerClassMap) {
  const Scenario sc = Parse("capacity: 4\ngrace: {batch: 10s, default: 1m}\nconsumers: []\n");
  EXPECT_EQ(sc.config.sla.grace_ms[static_cast<std::size_t>(SlaClass::kInteractive)], 60'000);
  EXPECT_EQ(sc.config.sla.grace_ms[static_cast<std::size_t>(SlaClass::kStreaming)], 60'000);
  EXPECT_EQ(sc.config.sla.grace_ms[static_cast<std::size_t>(SlaClass::kBatch)], 10'000);
  // Without a default, unnamed classes keep the built-in grace.
  const Scenario partial = Parse("capacity: 4\ngrace: {interactive: 5s}\nconsumers: []\n");
  EXPECT_EQ(partial.config.sla.grace_ms, (std::array<core::TimeMs, 3>{5'000, 30'000, 30'000}));
}

TEST(ParseScenarioTest, ConsumerFieldsPlansAndLines) {
  const Scenario sc = Parse(Yaml(R"(
capacity: 20
consumers:
  - {name: A, share: 1.5, owned: 4, limit: 10, reserved: 1, borrow: false, grace: 10s}
  - name: B
    grace: {default: 20s, batch: 5s}
    plans:
      - {window: "08:00-18:00", days: mon-fri, owned: 12, share: 2}
      - window: "22:00-06:00"
        borrow: no
    children:
      - {name: B1, owned: 4}
      - name: B2
)"));
  ASSERT_EQ(sc.tree.consumers.size(), 2u);
  const core::ConsumerSpec& a = sc.tree.consumers[0];
  EXPECT_EQ(a.name, "A");
  EXPECT_EQ(a.line, 3);
  EXPECT_EQ(a.plan.share, 1.5);
  EXPECT_EQ(Slots(a.plan.owned), 4);
  EXPECT_EQ(Slots(a.plan.limit), 10);
  EXPECT_EQ(Slots(a.plan.reserved), 1);
  EXPECT_EQ(a.plan.borrow, false);
  EXPECT_EQ(a.grace.any, 10'000);
  EXPECT_TRUE(a.windows.empty());

  const core::ConsumerSpec& b = sc.tree.consumers[1];
  EXPECT_EQ(b.line, 4);
  EXPECT_FALSE(b.plan.share.has_value());
  EXPECT_FALSE(b.plan.owned.has_value());
  EXPECT_EQ(b.grace.any, 20'000);
  EXPECT_EQ(b.grace.per_class[static_cast<std::size_t>(SlaClass::kBatch)], 5'000);
  EXPECT_FALSE(b.grace.per_class[static_cast<std::size_t>(SlaClass::kInteractive)].has_value());
  ASSERT_EQ(b.windows.size(), 2u);
  EXPECT_EQ(b.windows[0].window.to_string(), "08:00-18:00 mon,tue,wed,thu,fri");
  EXPECT_EQ(b.windows[0].line, 7);
  EXPECT_EQ(Slots(b.windows[0].plan.owned), 12);
  EXPECT_EQ(b.windows[0].plan.share, 2.0);
  EXPECT_EQ(b.windows[1].window.to_string(), "22:00-06:00");
  EXPECT_EQ(b.windows[1].line, 8);
  EXPECT_EQ(b.windows[1].plan.borrow, false);
  EXPECT_FALSE(b.windows[1].plan.owned.has_value());
  ASSERT_EQ(b.children.size(), 2u);
  EXPECT_EQ(b.children[0].name, "B1");
  EXPECT_EQ(b.children[0].line, 11);
  EXPECT_EQ(b.children[1].name, "B2");
  EXPECT_EQ(b.children[1].line, 12);
}

TEST(ParseScenarioTest, Steps) {
  const Scenario sc = Parse(Yaml(R"(
hosts:
  - {name: node, count: 2, cpu: 8}
consumers:
  - {name: A}
steps:
  - {label: first, demand: {/A: 20, /B/B1: 0}}
  - advance: 1h30m
    sessions:
      - {id: s1, consumer: /A, sla: interactive, priority: 2, demand: 5, min: 1, max: 8, shape: {cpu: 2, memory: 8Gi}}
      - {id: s1, end: true}
  - {at: "08:30", drain: node-1, undrain: [node-2], add_hosts: [{name: extra, cpu: 4}], remove_hosts: [a, b]}
  - consumers:
      - {name: C, owned: 2}
)"));
  ASSERT_EQ(sc.steps.size(), 4u);
  const Step& s0 = sc.steps[0];
  EXPECT_EQ(s0.line, 6);
  EXPECT_EQ(s0.label, "first");
  EXPECT_EQ(s0.demand, (std::vector<std::pair<std::string, std::int64_t>>{{"/A", 20}, {"/B/B1", 0}}));
  EXPECT_FALSE(s0.advance.has_value());

  const Step& s1 = sc.steps[1];
  EXPECT_EQ(s1.line, 7);
  EXPECT_EQ(s1.advance, 5'400'000);
  ASSERT_EQ(s1.sessions.size(), 2u);
  const SessionChange& c = s1.sessions[0];
  EXPECT_EQ(c.line, 9);
  EXPECT_EQ(c.id, "s1");
  EXPECT_EQ(c.consumer, "/A");
  EXPECT_EQ(c.sla, SlaClass::kInteractive);
  EXPECT_EQ(c.priority, 2);
  EXPECT_EQ(c.demand, 5);
  EXPECT_EQ(c.min, 1);
  EXPECT_EQ(c.max, 8);
  EXPECT_EQ(c.shape, Resources::cpu_mem(2000, 8192));
  EXPECT_FALSE(c.end);
  const SessionChange& end = s1.sessions[1];
  EXPECT_EQ(end.line, 10);
  EXPECT_TRUE(end.end);
  EXPECT_FALSE(end.consumer.has_value());
  EXPECT_FALSE(end.demand.has_value());

  const Step& s2 = sc.steps[2];
  EXPECT_EQ(s2.at_time_of_day, 8 * 3600 + 30 * 60);
  EXPECT_EQ(s2.drain, std::vector<std::string>{"node-1"});
  EXPECT_EQ(s2.undrain, std::vector<std::string>{"node-2"});
  ASSERT_EQ(s2.add_hosts.size(), 1u);
  EXPECT_EQ(s2.add_hosts[0].name, "extra");
  EXPECT_EQ(s2.add_hosts[0].capacity, Resources::of(core::kCpu, 4000));
  EXPECT_EQ(s2.remove_hosts, (std::vector<std::string>{"a", "b"}));

  const Step& s3 = sc.steps[3];
  ASSERT_TRUE(s3.consumers.has_value());
  ASSERT_EQ(s3.consumers->consumers.size(), 1u);
  EXPECT_EQ(s3.consumers->consumers[0].name, "C");
  EXPECT_EQ(s3.consumers->consumers[0].line, 13);
}

// --- Errors: "file:line: field.path: what" -------------------------------------------------

TEST(ParseScenarioErrorTest, NonNumericOwnedNamesTheNestedField) {
  ExpectError(Yaml(R"(
capacity: 20
consumers:
  - {name: A, owned: 4}
  - name: B
    owned: 16
    children:
      - {name: B1, owned: abc}
)"),
              "x.yaml:7: consumers[1].children[0].owned: expected a number of slots or a resource map, got 'abc'");
}

TEST(ParseScenarioErrorTest, UnknownFields) {
  ExpectError("capacity: 20\ncolour: blue\nconsumers: []\n",
              "x.yaml:2: colour: unknown field (expected one of: capacity, hosts, slot, grace, rebalance, policy, "
              "placement, idle_timeout, start, report, consumers, steps)");
  ExpectError(Yaml(R"(
capacity: 20
consumers:
  - {name: A, owned: 4, colour: red}
)"),
              "x.yaml:3: consumers[0].colour: unknown field (expected one of: name, share, owned, limit, reserved, "
              "borrow, grace, plans, children)");
  ExpectError(Yaml(R"(
capacity: 20
consumers:
  - {name: A}
steps:
  - {demand: {/A: 1}}
  - {advanse: 30s}
)"),
              "x.yaml:6: steps[1].advanse: unknown field (expected one of: label, advance, at, demand, sessions, "
              "add_hosts, remove_hosts, drain, undrain, consumers)");
  ExpectError(Yaml(R"(
capacity: 20
consumers:
  - name: A
    plans:
      - {window: "08:00-18:00", owned: 2, colour: red}
)"),
              "x.yaml:5: consumers[0].plans[0].colour: unknown field (expected one of: window, days, share, owned, "
              "limit, reserved, borrow)");
}

TEST(ParseScenarioErrorTest, NegativeAmounts) {
  ExpectError(Yaml(R"(
capacity: 20
consumers:
  - {name: A, owned: 4}
steps:
  - demand: {/A: -5}
)"),
              "x.yaml:5: steps[0].demand./A: must not be negative, got -5");
  ExpectError(Yaml(R"(
capacity: 20
consumers:
  - {name: A, owned: 4}
steps:
  - sessions:
      - {id: s1, consumer: /A, demand: -3}
)"),
              "x.yaml:6: steps[0].sessions[0].demand: must not be negative, got -3");
  ExpectError("capacity: 20\nconsumers:\n  - {name: A, owned: -4}\n",
              "x.yaml:3: consumers[0].owned: must not be negative, got -4");
  ExpectError("capacity: 20\nconsumers:\n  - {name: A, owned: {cpu: -2}}\n",
              "x.yaml:3: consumers[0].owned.cpu: '-2' is negative");
  ExpectError("capacity: 20\nconsumers:\n  - {name: A, share: 0}\n",
              "x.yaml:3: consumers[0].share: must be a positive number, got 0");
}

TEST(ParseScenarioErrorTest, FractionalDemand) {
  ExpectError("capacity: 20\nconsumers: [{name: A}]\nsteps:\n  - demand: {/A: 1.5}\n",
              "x.yaml:4: steps[0].demand./A: expected a whole number, got 1.5");
}

TEST(ParseScenarioErrorTest, BadSlaClass) {
  ExpectError(
      Yaml(R"(
capacity: 20
consumers:
  - {name: A, owned: 4}
steps:
  - sessions:
      - {id: s1, consumer: /A, sla: gold}
)"),
      "x.yaml:6: steps[0].sessions[0].sla: unknown SLA class 'gold' (expected interactive, streaming or batch)");
}

TEST(ParseScenarioErrorTest, BadGraceClass) {
  auto r = parse_scenario("capacity: 20\ngrace: {batch: 10s, gold: 5s}\nconsumers: []\n", "x.yaml");
  ASSERT_FALSE(r.is_ok());
  ExpectStartsWith(r.status().message(),
                   "x.yaml:2: grace.gold: unknown SLA class 'gold' (expected interactive, streaming, "
                   "batch or default)");
  ExpectContains(r.status().message(), "default");
  ExpectError("capacity: 20\ngrace: {batch: soon}\nconsumers: []\n",
              "x.yaml:2: grace.batch: 'soon' is not a duration (e.g. 30s, 5m, 1h30m)");
}

TEST(ParseScenarioErrorTest, CapacityErrors) {
  ExpectError(Yaml(R"(
capacity: 20
hosts:
  - {name: h, cpu: 4}
consumers:
  - {name: A, owned: 4}
)"),
              "x.yaml:1: give either 'capacity' or 'hosts', not both");
  ExpectError("consumers: []\n", "x.yaml:1: missing 'capacity' (slots or a resource map) or 'hosts'");
  ExpectError("capacity: abc\nconsumers: []\n",
              "x.yaml:1: capacity: expected a number of slots or a resource map, got 'abc'");
  ExpectError("capacity: {cpu: 4, memory: 4Xi}\nconsumers: []\n",
              "x.yaml:1: capacity.memory: '4Xi': unknown memory unit (use Ki, Mi, Gi, Ti, k, m, g, t or M, G, T)");
  ExpectError("capacity: {cpu: 4, bad kind: 1}\nconsumers: []\n",
              "x.yaml:1: capacity.bad kind: resource kind 'bad kind' may contain only letters, digits, '_', '-', '.', "
              "'/'");
  ExpectError("slot: {}\ncapacity: 4\nconsumers: []\n", "x.yaml:1: slot: slot must not be empty");
}

TEST(ParseScenarioErrorTest, HostErrors) {
  ExpectError(Yaml(R"(
hosts:
  - {name: node, count: 3, cpu: 4}
  - {name: node-2, cpu: 4}
consumers: []
)"),
              "x.yaml:3: hosts[1]: duplicate host name 'node-2'");
  ExpectError("hosts:\n  - {name: h}\nconsumers: []\n",
              "x.yaml:2: hosts[0]: host has no resources (give cpu, memory, ...)");
  ExpectError("hosts:\n  - {name: h, count: 0, cpu: 1}\nconsumers: []\n",
              "x.yaml:2: hosts[0].count: must be between 1 and 1000000");
  ExpectError("hosts: {cpu: 4}\nconsumers: []\n", "x.yaml:1: hosts: expected a list of hosts");
}

TEST(ParseScenarioErrorTest, HostResourceErrorNamesTheFieldOnce) {
  // The message should read like every other: one "file:line:" prefix and the field path.
  ExpectError("hosts:\n  - {name: h, count: 2, cpu: abc}\nconsumers: []\n",
              "x.yaml:2: hosts[0].cpu: 'abc' is not a number");
}

TEST(ParseScenarioErrorTest, MissingOrMalformedConsumers) {
  ExpectError("capacity: 20\nsteps: []\n", "x.yaml:1: missing 'consumers'");
  ExpectError("capacity: 20\nconsumers: {name: A}\n", "x.yaml:2: consumers: expected a list of consumers");
  ExpectError("capacity: 20\nconsumers:\n  - {owned: 4}\n", "x.yaml:3: consumers[0]: missing field 'name'");
  ExpectError("capacity: 20\nconsumers:\n  - A\n", "x.yaml:3: consumers[0]: expected a map, got 'A'");
  ExpectError("capacity: 20\nconsumers:\n  - {name: A, children: B}\n",
              "x.yaml:3: consumers[0].children: expected a list of consumers");
}

TEST(ParseScenarioErrorTest, BadWindow) {
  ExpectError(Yaml(R"(
capacity: 20
consumers:
  - name: A
    owned: 4
    plans:
      - {window: "08:00-25:00", owned: 8}
)"),
              "x.yaml:6: consumers[0].plans[0].window: '25:00' is not a time of day (HH:MM or HH:MM:SS, 00:00 to "
              "24:00)");
  ExpectError(Yaml(R"(
capacity: 20
consumers:
  - name: A
    plans:
      - {owned: 8}
)"),
              "x.yaml:5: consumers[0].plans[0]: missing field 'window' (e.g. \"08:00-18:00\")");
}

TEST(ParseScenarioErrorTest, StepErrors) {
  ExpectError("capacity: 4\nconsumers: []\nsteps:\n  - {advance: 30x}\n",
              "x.yaml:4: steps[0].advance: '30x': unknown duration unit 'x' (use ms, s, m, h, d)");
  ExpectError("capacity: 4\nconsumers: []\nsteps:\n  - {advance: 30s, at: \"08:00\"}\n",
              "x.yaml:4: steps[0]: give either 'advance' or 'at', not both");
  ExpectError("capacity: 4\nconsumers: []\nsteps:\n  - {at: \"8:61\"}\n",
              "x.yaml:4: steps[0].at: '8:61' is not a time of day (HH:MM or HH:MM:SS, 00:00 to 24:00)");
  ExpectError("capacity: 4\nconsumers: []\nsteps:\n  - sessions:\n      - {consumer: /A}\n",
              "x.yaml:5: steps[0].sessions[0]: missing field 'id'");
  ExpectError("capacity: 4\nconsumers: []\nsteps:\n  - sessions:\n      - {id: s, shape: {}}\n",
              "x.yaml:5: steps[0].sessions[0].shape: shape must not be empty");
  ExpectError("capacity: 4\nconsumers: []\nsteps: {a: 1}\n", "x.yaml:3: steps: expected a list of steps");
  ExpectError("capacity: 4\nconsumers: []\nsteps:\n  - {sessions: [{id: s, end: maybe}]}\n",
              "x.yaml:4: steps[0].sessions[0].end: expected true or false, got 'maybe'");
}

TEST(ParseScenarioErrorTest, InvalidYamlSyntax) {
  ExpectError(Yaml(R"(
capacity: 20
consumers:
  - {name: A, owned: 4
  - name: B
)"),
              "x.yaml:4: not valid YAML: end of map flow not found");
  auto tabs = parse_scenario("capacity: 20\nconsumers:\n\t- {name: A}\n", "x.yaml");
  ASSERT_FALSE(tabs.is_ok());
  ExpectStartsWith(tabs.status().message(), "x.yaml:3: not valid YAML: ");
}

TEST(ParseScenarioErrorTest, EmptyOrScalarDocument) {
  ExpectError("", "x.yaml: the scenario is empty");
  ExpectError("# only a comment\n", "x.yaml: the scenario is empty");
  ExpectError("hello\n", "x.yaml:1: expected a map, got 'hello'");
}

TEST(ParseScenarioErrorTest, OptionValues) {
  ExpectError("capacity: 4\npolicy: fair\nconsumers: []\n", "x.yaml:2: policy: expected hybrid or drf");
  ExpectError("capacity: 4\nplacement: best\nconsumers: []\n",
              "x.yaml:2: placement: unknown placement policy 'best' (expected pack or spread)");
  ExpectError("capacity: 4\nrebalance: sometimes\nconsumers: []\n",
              "x.yaml:2: rebalance: expected true or false, got 'sometimes'");
  ExpectError("capacity: 4\nrebalance: {threshold: 1.5}\nconsumers: []\n",
              "x.yaml:2: rebalance.threshold: must be above 0 and at most 1");
  ExpectError("capacity: 4\nrebalance: {delay: soon}\nconsumers: []\n",
              "x.yaml:2: rebalance.delay: 'soon' is not a duration (e.g. 30s, 5m, 1h30m)");
  ExpectError("capacity: 4\nrebalance: {every: 5s}\nconsumers: []\n",
              "x.yaml:2: rebalance.every: unknown field (expected one of: threshold, delay)");
  ExpectError("capacity: 4\nreport: pies\nconsumers: []\n", "x.yaml:2: report: expected slots or vectors");
  ExpectError("capacity: 4\nstart: someday 08:00\nconsumers: []\n",
              "x.yaml:2: start: expected \"HH:MM\" or \"mon HH:MM\"");
}

// YAML allows a map as a key; converting one to text throws, which must not
// escape the parser.
TEST(ParseScenarioErrorTest, MapAsDemandKey) {
  ExpectError("capacity: 4\nconsumers: [{name: A}]\nsteps:\n  - demand: {{x: 1}: 3}\n",
              "x.yaml:4: steps[0].demand: a key must be plain text, got a map");
}

TEST(LoadScenarioTest, MissingFile) {
  auto r = load_scenario("/nonexistent/dir/none.yaml");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "cannot read scenario file '/nonexistent/dir/none.yaml'");
}

// --- Simulator ------------------------------------------------------------------------------

std::vector<StepReport> RunAll(Simulator& sim) {
  std::vector<StepReport> out;
  Status st = sim.start();
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  if (!st.is_ok()) return out;
  while (true) {
    StepReport r;
    auto more = sim.step(&r);
    EXPECT_TRUE(more.is_ok()) << more.status().to_string();
    if (!more.is_ok() || !*more) break;
    out.push_back(std::move(r));
  }
  return out;
}

TEST(SimulatorTest, ReferenceScenario) {
  auto sc = load_scenario(std::string(SCHED_SOURCE_DIR) + "/examples/scenarios/reference.yaml");
  ASSERT_TRUE(sc.is_ok()) << sc.status().to_string();
  Simulator sim(std::move(*sc));
  const std::vector<StepReport> steps = RunAll(sim);
  ASSERT_EQ(steps.size(), 4u);

  const json expected_alloc[] = {
      json::parse(R"({"/A": 20, "/B/B1": 0, "/B/B2": 0})"),
      json::parse(R"({"/A": 4, "/B/B1": 16, "/B/B2": 0})"),
      json::parse(R"({"/A": 0, "/B/B1": 20, "/B/B2": 0})"),
      json::parse(R"({"/A": 0, "/B/B1": 8, "/B/B2": 12})"),
  };
  const double expected_time_s[] = {0, 30, 30, 60};
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    EXPECT_EQ(steps[i].step, static_cast<int>(i));
    EXPECT_EQ(steps[i].json["step"], i);
    EXPECT_EQ(steps[i].json["alloc"], expected_alloc[i]) << steps[i].json.dump();
    EXPECT_DOUBLE_EQ(steps[i].time_s, expected_time_s[i]);
    EXPECT_EQ(steps[i].json["time_s"], expected_time_s[i]);
  }
  EXPECT_EQ(steps[0].label, "A wants 20");
  EXPECT_EQ(steps[0].json["label"], "A wants 20");
  EXPECT_EQ(steps[0].json["preempted"], json::array());
  EXPECT_EQ(steps[2].json["preempted"], json::array());
  EXPECT_FALSE(steps[0].json.contains("sessions"));  // only consumer-level demand

  // T1: B reclaims its 16 from A, for /B (the owner), with the 30 s grace.
  const json& pre = steps[1].json["preempted"];
  ASSERT_EQ(pre.size(), 1u) << pre.dump();
  EXPECT_EQ(pre[0]["session"], "/A");
  EXPECT_EQ(pre[0]["consumer"], "/A");
  EXPECT_EQ(pre[0]["slots"], 16);
  EXPECT_EQ(pre[0]["reason"], "ownership");
  EXPECT_EQ(pre[0]["for"], "/B");
  EXPECT_EQ(pre[0]["at_s"], 0);
  EXPECT_EQ(pre[0]["deadline_s"], 30);
  EXPECT_EQ(pre[0]["host"], "local");

  const json& pre3 = steps[3].json["preempted"];
  ASSERT_EQ(pre3.size(), 1u) << pre3.dump();
  EXPECT_EQ(pre3[0]["session"], "/B/B1");
  EXPECT_EQ(pre3[0]["slots"], 12);
  EXPECT_EQ(pre3[0]["reason"], "ownership");
  EXPECT_EQ(pre3[0]["for"], "/B/B2");
  EXPECT_EQ(pre3[0]["deadline_s"], 60);

  // The step after the last reports that there are no more.
  StepReport r;
  auto more = sim.step(&r);
  ASSERT_TRUE(more.is_ok());
  EXPECT_FALSE(*more);
}

TEST(SimulatorTest, RunWritesOneJsonLinePerStep) {
  auto sc = load_scenario(std::string(SCHED_SOURCE_DIR) + "/examples/scenarios/reference.yaml");
  ASSERT_TRUE(sc.is_ok()) << sc.status().to_string();
  Simulator sim(std::move(*sc));
  std::ostringstream out;
  std::ostringstream timeline;
  Status st = sim.run(out, &timeline, false);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  std::istringstream lines(out.str());
  std::vector<json> parsed;
  for (std::string line; std::getline(lines, line);) parsed.push_back(json::parse(line));
  ASSERT_EQ(parsed.size(), 4u);
  EXPECT_EQ(parsed[3]["alloc"], json::parse(R"({"/A": 0, "/B/B1": 8, "/B/B2": 12})"));
  ExpectContains(timeline.str(), "T1  t=30s  (B1 wants 20: B reclaims its 16 from A)");
}

TEST(SimulatorTest, NewSessionWithoutAConsumerFailsWhenItsStepRuns) {
  const std::string yaml = Yaml(R"(
capacity: 20
consumers:
  - {name: A, owned: 4}
steps:
  - {demand: {/A: 2}}
  - sessions:
      - {id: s1, demand: 3}
)");
  // Parsing cannot know whether s1 exists yet; the simulator can.
  Simulator sim(Parse(yaml));
  ASSERT_TRUE(sim.start().is_ok());
  StepReport r;
  auto first = sim.step(&r);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_TRUE(*first);
  auto second = sim.step(&r);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(second.status().message(), "x.yaml:7: steps[1].sessions[0]: session 's1' is new: give its 'consumer'");

  Simulator again(Parse(yaml));
  std::ostringstream out;
  const Status st = again.run(out, nullptr, false);
  EXPECT_EQ(st.message(), "x.yaml:7: steps[1].sessions[0]: session 's1' is new: give its 'consumer'");
  // The step before the bad one was still reported.
  const std::string printed = out.str();
  EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 1);
}

TEST(SimulatorTest, UnknownConsumerPathInDemand) {
  Simulator sim(Parse("capacity: 20\nconsumers:\n  - {name: A}\nsteps:\n  - demand: {/Z: 3}\n"));
  std::ostringstream out;
  const Status st = sim.run(out, nullptr, false);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "x.yaml:5: steps[0].demand./Z: unknown consumer path '/Z'");
}

TEST(SimulatorTest, TreeThatDoesNotFitTheCapacityFailsAtStart) {
  Simulator sim(Parse("capacity: 20\nconsumers:\n  - {name: A, owned: 40}\n"));
  const Status st = sim.start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "x.yaml: consumers: top-level consumers own 40 slots in total, more than the capacity of 20 slots");
}

TEST(SimulatorTest, TreeRuleErrorsNameTheFileTheConsumerAndItsLine) {
  Simulator sim(Parse("capacity: 20\nconsumers:\n  - {name: A, owned: 4}\n  - {name: B, owned: 4, limit: 2}\n"));
  const Status st = sim.start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  ExpectContains(st.message(), "x.yaml");
  ExpectContains(st.message(), "/B (line 4)");
  ExpectContains(st.message(), "limit (2 slots) is below owned (4 slots)");
}

TEST(SimulatorTest, ExplicitSessionsAreReported) {
  Simulator sim(Parse(Yaml(R"(
capacity: 10
consumers:
  - {name: A, owned: 10}
steps:
  - sessions:
      - {id: s1, consumer: /A, demand: 4}
  - sessions:
      - {id: s1, demand: 12}
  - sessions:
      - {id: s1, end: true}
)")));
  const std::vector<StepReport> steps = RunAll(sim);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].json["alloc"], json::parse(R"({"/A": 4})"));
  EXPECT_EQ(steps[0].json["sessions"], json::parse(R"({"s1": 4})"));
  EXPECT_EQ(steps[1].json["alloc"], json::parse(R"({"/A": 10})"));
  EXPECT_EQ(steps[1].json["sessions"], json::parse(R"({"s1": 10})"));
  EXPECT_EQ(steps[2].json["alloc"], json::parse(R"({"/A": 0})"));
  EXPECT_EQ(steps[2].json["sessions"], json::object());
}

TEST(SimulatorTest, VectorCapacityReportsResourceObjects) {
  Simulator sim(Parse(Yaml(R"(
capacity: {cpu: 8, memory: 32Gi}
slot: {cpu: 1, memory: 4Gi}
consumers:
  - {name: A}
steps:
  - sessions:
      - {id: s1, consumer: /A, demand: 2}
)")));
  const std::vector<StepReport> steps = RunAll(sim);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].json["alloc"], json::parse(R"({"/A": {"cpu": 2, "memory": "8Gi"}})"));
  EXPECT_EQ(steps[0].json["sessions"], json::parse(R"({"s1": {"slots": 2, "amount": {"cpu": 2, "memory": "8Gi"}}})"));
}

TEST(SimulatorTest, AdvanceAndAtMoveTheVirtualClock) {
  Simulator sim(Parse(Yaml(R"(
capacity: 4
consumers:
  - {name: A}
steps:
  - {advance: 90s}
  - {at: "08:30"}
  - {at: "08:00"}
)")));
  const std::vector<StepReport> steps = RunAll(sim);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_DOUBLE_EQ(steps[0].time_s, 90);
  EXPECT_DOUBLE_EQ(steps[1].time_s, 8 * 3600 + 30 * 60);
  EXPECT_DOUBLE_EQ(steps[2].time_s, 86'400 + 8 * 3600);  // 08:00 has passed today: tomorrow's
}

}  // namespace
}  // namespace sched::sim
