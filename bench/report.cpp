// Renders bench/README.md from scheduler-bench's JSON figures, YuniKorn's JSON lines and optional perf summaries.
#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace sched::bench {
namespace {

using json = nlohmann::json;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// 1234567.8 -> "1,234,568": big rates are read by their digits.
std::string grouped(double v) {
  const long long n = std::llround(v);
  const std::string digits = std::to_string(n < 0 ? -n : n);
  std::string s = n < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s.push_back(',');
    s.push_back(digits[i]);
  }
  return s;
}

// A run's fairness snapshot by its label, or null when the run did not take it.
json state_of(json& cluster, const std::string& label) {
  for (const json& s : cluster["states"])
    if (s["label"].get<std::string>() == label) return s;
  return json();
}

// A rate: grouped digits when large, two decimals when small (a slow core still shows what it does).
std::string rate(double v) {
  return v < 100 ? fmt("%.2f", v) : grouped(v);
}

// A latency given in microseconds, in the unit that keeps it readable.
std::string micros(double us) {
  return us >= 10'000 ? fmt("%.1f ms", us / 1000) : fmt("%.1f µs", us);
}

std::string pct(double fraction) {
  return fmt("%.2f %%", 100 * fraction);
}

std::string str(const json& j, const char* key) {
  if (!j.contains(key)) return "?";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string pass_cell(const json& t) {
  return t["pass"].get<bool>() ? "**PASS**" : "**MISS**";
}

std::string target_value(const json& t) {
  const double v = t["value"].get<double>();
  const std::string unit = t["unit"].get<std::string>();
  if (unit == "/s") return rate(v) + " /s";
  if (unit == "ms") return fmt("%.2f ms", v);
  if (unit == "%") return fmt("%.2f %%", v);
  return fmt("%.4f", v);
}

std::string target_goal(const json& t) {
  const std::string unit = t["unit"].get<std::string>();
  const double g = t["target"].get<double>();
  std::string s = t["op"].get<std::string>() + " ";
  if (unit == "/s") return s + grouped(g) + " /s";
  if (unit.empty()) return s + fmt("%g", g);
  return s + fmt("%g", g) + " " + unit;
}

// A perf summary written by run.sh: "children<TAB>self<TAB>symbol" per line, most inclusive time first.
void profile_table(std::ostream& o, const std::string& path, const std::string& title) {
  const std::string text = read_file(path);
  if (text.empty()) return;
  o << "\n**" << title << "**\n\n| inclusive | self | function |\n|---:|---:|---|\n";
  std::istringstream in(text);
  std::string line;
  int rows = 0;
  while (std::getline(in, line) && rows < 15) {
    std::istringstream ls(line);
    std::string children, self, sym;
    if (!std::getline(ls, children, '\t') || !std::getline(ls, self, '\t') || !std::getline(ls, sym)) continue;
    if (sym.size() > 110) sym = sym.substr(0, 107) + "...";
    for (char& c : sym)
      if (c == '|') c = '/';
    o << "| " << children << " | " << self << " | `" << sym << "` |\n";
    ++rows;
  }
}

// Sections other benchmarks write into the same README between
// "<!-- NAME:begin" and "<!-- NAME:end -->" lines (bench/spark/run.sh does):
// carried over verbatim so regenerating this report does not wipe them.
std::string kept_sections(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  const std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string kept;
  std::size_t pos = 0;
  while ((pos = old.find("<!-- ", pos)) != std::string::npos) {
    const std::size_t name_end = old.find(":begin", pos);
    const std::size_t line_end = old.find('\n', pos);
    if (name_end == std::string::npos || name_end > line_end) {
      pos += 5;
      continue;
    }
    const std::string end_marker = "<!-- " + old.substr(pos + 5, name_end - pos - 5) + ":end -->";
    const std::size_t end = old.find(end_marker, name_end);
    if (end == std::string::npos) break;
    kept += "\n" + old.substr(pos, end + end_marker.size() - pos) + "\n";
    pos = end + end_marker.size();
  }
  return kept;
}

// The whole README as text; throws json::exception when a figure is missing.
std::string render(json b, const std::vector<json>& yk, const std::string& yk_status, const std::string& prof_full,
                   const std::string& prof_inc, const std::string& run_cmd, const std::string& source, json rebalance,
                   std::vector<json> seeds) {
  std::ostringstream o;
  // Non-const, so a missing figure reads as null and throws on use instead of being undefined behaviour.
  json& m = b["machine"];
  json& c = b["cluster"];
  json& wl = c["workload"];
  o << "<!-- Generated by bench/run.sh (scheduler-bench report). Edit bench/report.cpp, not this file. -->\n"
    << "# Scheduling core benchmark\n\n"
    << "Figures for the scheduling core (`service/core`) on a generated cluster of " << grouped(wl["hosts"])
    << " hosts, " << grouped(wl["leaves"]) << " leaf consumers and " << grouped(wl["sessions"])
    << " sessions, and side by side with Apache YuniKorn on YuniKorn's own benchmark shape. The benchmark reports "
       "figures; it is not a test and a missed target never fails it. Regenerate this file with `"
    << run_cmd << "`.\n\n";

  o << "## Machine\n\n| | |\n|---|---|\n"
    << "| date (UTC) | " << str(m, "date_utc") << " |\n"
    << "| CPU | " << str(m, "cpu_model") << " |\n"
    << "| cores online | " << str(m, "nproc_online") << " |\n"
    << "| cores the benchmark may use | " << str(m, "cpus_allowed")
    << (m.value("cpus_allowed", 0) == 1 ? " (pinned with `taskset -c 0`: the targets are for one core)" : "") << " |\n"
    << "| memory | " << str(m, "mem_total") << " |\n"
    << "| kernel | " << str(m, "kernel") << " |\n"
    << "| compiler | " << str(m, "compiler") << " (" << str(m, "build") << ") |\n"
    << "| load average at start | " << str(m, "loadavg_at_start") << " |\n";
  if (!source.empty()) o << "| source measured | " << source << " |\n";
  o << "\n";

  o << "## Targets\n\n| figure | measured | target | |\n|---|---:|---:|---|\n";
  for (const json& t : b["targets"]) {
    o << "| " << t["name"].get<std::string>() << " | " << target_value(t) << " | " << target_goal(t) << " | "
      << pass_cell(t) << " |\n";
  }
  o << "\nTargets are the issue's: full pass p99 < 20 ms, > 500,000 incremental decisions/s, Jain > 0.99, "
       "utilisation > 97 % while demand exceeds capacity, all on one core.\n\n";

  // --- workload
  o << "## The generated cluster\n\n"
    << "Seeded (`std::mt19937`, seed " << str(wl, "seed") << "), so every run builds the same cluster.\n\n"
    << "- **Hosts:** " << grouped(wl["hosts"]) << " × " << str(wl, "host") << ". Capacity "
    << grouped(wl["capacity"]["cores"]) << " cores, " << grouped(wl["capacity"]["memory_gib"]) << " GiB, "
    << grouped(wl["capacity"]["gpus"]) << " gpus.\n"
    << "- **Consumers:** three levels, 10 × 10 × 10 = " << grouped(wl["leaves"])
    << " leaves. Shares 1–4 drawn per node. Owned amounts (cpu and memory vectors): the top level owns 50 % of "
       "capacity split by random weights, each parent passes 80 % of its own owned amount to its children, rounded "
       "down so the tree validates (`set_tree` with the capacity check). Gpus are not owned: they go by share "
       "alone. No limits, nothing reserved, everyone may borrow.\n"
    << "- **Sessions:** " << wl["sessions_per_leaf"].get<int>() << " per leaf. SLA classes:";
  for (const auto& [k, v] : wl["sla"].items()) o << " " << k << " " << grouped(v);
  o << ". Priorities 0–2. Executor shapes:";
  for (const auto& [k, v] : wl["shapes"].items()) o << " `" << k << "` " << grouped(v) << ",";
  o.seekp(-1, std::ios_base::cur);
  o << ". The four cpu/memory shapes average 4 GiB per core like the hosts, so both kinds can be used up; the "
       "`cpu2-mem16Gi` shape is there to balance `cpu4-mem8Gi`. Streaming sessions have a minimum of 2 slots.\n"
    << "- **Demand:** 80 % of leaves are heavy (each session wants 16–64 slots), 20 % light (1–8 slots), so the "
       "share split has both demand-capped and hungry consumers; overall demand is "
    << fmt("%.2f", c["states"][0]["demand_over_capacity"]["cpu"].get<double>())
    << "× the cpu capacity. Churn draws a new demand for a random session from its range, or 0 with probability "
       "0.1 (a notebook between cells).\n"
    << "- **Scheduler config:** slot = 1 cpu + 4 GiB, policy `hybrid`, placement `pack`, grace " << str(wl, "grace_ms")
    << " ms for every class (so reclaims happen inside the loops), interactive idle "
    << "timeout " << grouped(wl["interactive_idle_timeout_ms"].get<double>() / 1000) << " s, a `ManualClock`.\n\n";

  // --- full pass
  o << "## Full allocation pass\n\n";
  if (c.contains("first_pass")) {
    o << "- **First pass from an empty cluster** (every grant from scratch): "
      << fmt("%.2f ms", c["first_pass"]["ms"].get<double>()) << ", " << grouped(c["first_pass"]["decisions"]["total"])
      << " decisions.\n";
  }
  if (c.contains("full_pass")) {
    json& f = c["full_pass"];
    o << "- **Steady-state full pass** (`mark_all_dirty()` then `schedule()`, demand above capacity), "
      << f["samples"].get<int>() << " samples after " << f["warmup_passes"].get<int>() << " warm-up passes, "
      << f["churn_changes_between"].get<int>() << " demand changes between samples:\n\n"
      << "| p50 | p90 | p99 | min | max | mean |\n|---:|---:|---:|---:|---:|---:|\n"
      << "| " << fmt("%.2f ms", f["p50_ms"].get<double>()) << " | " << fmt("%.2f ms", f["p90_ms"].get<double>())
      << " | " << fmt("%.2f ms", f["p99_ms"].get<double>()) << " | " << fmt("%.2f ms", f["min_ms"].get<double>())
      << " | " << fmt("%.2f ms", f["max_ms"].get<double>()) << " | " << fmt("%.2f ms", f["mean_ms"].get<double>())
      << " |\n\n"
      << "  Percentiles are nearest-rank; below 100 samples the p99 is the slowest pass. The timed passes made "
      << grouped(f["decisions"]["total"]) << " decisions in all.\n";
  }
  o << "\n";

  // --- incremental
  if (c.contains("incremental")) {
    json& inc = c["incremental"];
    o << "## Incremental decisions\n\n"
      << "One `update_session` (new demand for a random session) then one `schedule()`, the `ManualClock` advanced "
         "1 ms per change so 50 ms grace periods expire and reclaims happen inside the loop.\n\n"
      << "| changes | seconds | changes/s | decisions/s | decisions | changes with decisions |\n"
      << "|---:|---:|---:|---:|---:|---:|\n"
      << "| " << grouped(inc["changes"]) << " | " << fmt("%.2f", inc["seconds"].get<double>()) << " | "
      << rate(inc["changes_per_sec"]) << " | " << rate(inc["decisions_per_sec"]) << " | "
      << grouped(inc["decisions"]["total"]) << " | " << grouped(inc["changes_with_decisions"]) << " |\n\n";
    if (inc["stopped_by_time_budget"].get<bool>()) {
      o << "The loop asked for " << grouped(inc["changes_requested"]) << " changes and stopped at its time budget of "
        << fmt("%g", inc["time_budget_s"].get<double>()) << " s after " << grouped(inc["changes"])
        << "; the rates are over the changes made.\n\n";
    }
    o << "Per change (update + pass): p50 " << micros(inc["latency_us"]["p50"]) << ", p99 "
      << micros(inc["latency_us"]["p99"]) << ", p99.9 " << micros(inc["latency_us"]["p999"]) << ", max "
      << micros(inc["latency_us"]["max"]) << ". Decisions by kind:";
    for (const auto& [k, v] : inc["decisions"].items())
      if (k != "total") o << " " << k << " " << grouped(v) << ",";
    o.seekp(-1, std::ios_base::cur);
    o << "; " << fmt("%.2f", inc["decisions"]["total"].get<double>() / inc["changes"].get<double>())
      << " decisions per change. Decisions per second rise with churn as much as with speed: a scheduler that "
         "revokes and grants back the same slots makes more of them for one change. Changes per second is the "
         "figure that tracks speed alone.\n\n";
    if (inc.contains("latency_bands")) {
      // A mean far above the median is a few slow changes: say how much of
      // the loop's time they are, and so what a steal of the core costs.
      o << "Time by how long a change took:";
      for (const auto& b : inc["latency_bands"]) {
        const double to = b["to_us"].get<double>();
        o << " " << fmt("%g", b["from_us"].get<double>())
          << (to < 0 ? std::string(" µs and more") : "–" + fmt("%g", to) + " µs") << ": "
          << fmt("%.2f", b["changes_pct"].get<double>()) << " % of changes, "
          << fmt("%.1f", b["time_pct"].get<double>()) << " % of the time;";
      }
      o.seekp(-1, std::ios_base::cur);
      o << ". A change the kernel takes the core from for a scheduler tick (4 ms) lands in the last band whatever "
           "it does, so on a busy machine that band is mostly other processes' time.\n\n";
    }
  }

  // --- memory
  json& mem = c["memory"];
  o << "## Memory\n\n"
    << "| RSS before building | RSS after hosts + tree + sessions | delta | after the first pass | peak (VmHWM) |\n"
    << "|---:|---:|---:|---:|---:|\n"
    << "| " << fmt("%.1f MiB", mem["rss_before_kib"].get<double>() / 1024) << " | "
    << fmt("%.1f MiB", mem["rss_after_build_kib"].get<double>() / 1024) << " | "
    << fmt("%.1f MiB", mem["rss_delta_mib"].get<double>()) << " | "
    << fmt("%.1f MiB", mem.value("rss_after_first_pass_kib", 0.0) / 1024) << " | "
    << fmt("%.1f MiB", mem["peak_hwm_mib"].get<double>()) << " |\n\n"
    << "Read from `/proc/self/status` (VmRSS, VmHWM). The peak covers the whole run of the big cluster, the "
       "benchmark's own bookkeeping and the decision vectors included.\n\n";

  // --- fairness and utilisation
  o << "## Fairness and utilisation\n\n"
    << "Measured at three steady states. Before each, the clock is moved past every grace period and idle "
       "timeout and `schedule()` is called until it returns no decisions (20 passes at most).\n\n"
    << "| state | Jain | held ÷ target | target ÷ entitlement | hungry leaves | x min | x max | cpu used | memory "
       "used | gpu used | stranded cpu | stranded memory | session targets (cpu) |\n"
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const json& s : c["states"]) {
    o << "| " << s["label"].get<std::string>() << " | **" << fmt("%.4f", s["jain"].get<double>()) << "** | "
      << fmt("%.4f", s.value("jain_held_vs_scheduler_target", 0.0)) << " | "
      << fmt("%.4f", s.value("jain_scheduler_target_vs_entitlement", 0.0)) << " ("
      << fmt("%.2f", s.value("policy_ratio_min", 0.0)) << "–" << fmt("%.2f", s.value("policy_ratio_max", 0.0)) << ") | "
      << s["hungry_leaves"].get<int>() << " / " << s["leaves"].get<int>() << " | "
      << fmt("%.3f", s["x_min"].get<double>()) << " | " << fmt("%.3f", s["x_max"].get<double>()) << " | "
      << pct(s["utilisation"]["cpu"]) << " | " << pct(s["utilisation"]["memory"]) << " | "
      << pct(s["utilisation"]["gpu"]) << " | " << pct(s["stranded_free_over_capacity"]["cpu"]) << " | "
      << pct(s["stranded_free_over_capacity"]["memory"]) << " | " << pct(s["session_targets_over_capacity"]["cpu"])
      << " |\n";
  }
  o << "\n- **Jain's index** `J = (Σx)² / (n·Σx²)` over the hungry leaves (some session of the leaf wants more "
       "slots than it holds), with `x = dominant share of consumer_held(leaf) / dominant share of its "
       "entitlement`. Dominant shares are against the schedulable capacity (cpu, memory, gpus).\n"
    << "- Two diagnostics split a low Jain in two, with the same formula: **held ÷ target** uses the scheduler's "
       "own `consumer_target(leaf)` as the denominator (does placement realise the split?), **target ÷ "
       "entitlement** compares that target with the independent entitlement (is the split the weighted DRF one?; "
       "the range of the ratio in brackets).\n"
    << "- **Entitlement** is computed by the benchmark itself (`bench/fairness.cpp`), not read from the "
       "scheduler: the design's rules applied from scratch to the demand the benchmark asked for. At each node, "
       "every child first gets `min(demand, owned)` (shrunk alike if those do not fit); the rest of the node's "
       "entitlement is split by weighted DRF: children rise together in dominant share ÷ share from zero, each "
       "along its own demand vector, until its demand is met or a kind it needs runs out (solved by bisection); "
       "then what is left of a kind (gpus, when cpu runs out first) goes by share to the children with demand "
       "left in that kind, as `docs/scheduling.md` says (leftover kinds go to children whose executors can "
       "use them). It is history-free: the hybrid policy lets a borrower keep what it holds until an owner asks, so "
       "after "
       "churn some leaves hold more than this ideal and x spreads.\n"
    << "- **Utilisation** is used ÷ schedulable capacity per kind. **Stranded** is free capacity on hosts where "
       "no executor shape of the mix fits any more (cpu left where memory ran out, or the reverse). **Session "
       "targets** is Σ target × shape over sessions ÷ capacity: what the share split asked for, placed or not.\n\n";

  // --- the same churn with rebalance on
  if (!rebalance.is_null()) {
    json& rc = rebalance["cluster"];
    json& rw = rc["workload"];
    const json mine = state_of(c, "after the incremental loop"), theirs = state_of(rc, "after the incremental loop");
    o << "## With rebalance (threshold " << fmt("%g", rw["rebalance_threshold"].get<double>()) << ", delay "
      << fmt("%g s", rw["rebalance_delay_ms"].get<double>() / 1000) << ")\n\n"
      << "The same cluster and churn (" << grouped(rc["incremental"]["changes"]) << " changes) with `rebalance: "
      << "{threshold: " << fmt("%g", rw["rebalance_threshold"].get<double>())
      << ", delay: " << fmt("%gs", rw["rebalance_delay_ms"].get<double>() / 1000)
      << "}`: a sibling group goes back to the share split once one of its consumers has held less than the "
         "threshold of its part for the delay (docs/scheduling.md). The default mode above lets borrowers keep "
         "what they hold, so after churn its Jain reflects history; this run shows what preempting toward the "
         "split buys and costs. The snapshot moves the clock past the delay too.\n\n"
      << "| mode | changes/s | decisions/s | p99 per change | Jain after the loop | target ÷ entitlement | "
         "cpu used | memory used | gpu used |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    auto row = [&](const char* name, json& cl, const json& st) {
      o << "| " << name << " | " << rate(cl["incremental"]["changes_per_sec"]) << " | "
        << rate(cl["incremental"]["decisions_per_sec"]) << " | " << micros(cl["incremental"]["latency_us"]["p99"])
        << " | **" << fmt("%.4f", st["jain"].get<double>()) << "** | "
        << fmt("%.4f", st.value("jain_scheduler_target_vs_entitlement", 0.0)) << " | " << pct(st["utilisation"]["cpu"])
        << " | " << pct(st["utilisation"]["memory"]) << " | " << pct(st["utilisation"]["gpu"]) << " |\n";
    };
    if (!mine.is_null() && c.contains("incremental")) row("default (borrowers keep)", c, mine);
    if (!theirs.is_null()) row("rebalance", rc, theirs);
    o << "\n";
  }

  // --- the incremental loop on other seeds: how much of a figure is the draw
  if (!seeds.empty()) {
    std::sort(seeds.begin(), seeds.end(), [](const json& x, const json& y) {
      const json& a = x["cluster"]["workload"];
      const json& b = y["cluster"]["workload"];
      return std::pair(a["seed"].get<long>(), a["rebalance"].get<bool>()) <
             std::pair(b["seed"].get<long>(), b["rebalance"].get<bool>());
    });
    o << "## Other seeds\n\n"
      << "The same generator and churn drawn from other seeds (`--seed N --only incremental`, "
      << grouped(seeds.front()["cluster"]["incremental"]["changes"])
      << " changes each), in the default mode and with the rebalance above: how much of a fairness figure is the "
         "draw of one cluster. Revocations are of the incremental loop.\n\n"
      << "| seed | mode | Jain after the first pass | Jain after the loop | target ÷ entitlement | changes/s | "
         "decisions/s | decisions per change | revocations | gpu used |\n"
         "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (json& r : seeds) {
      json& cl = r["cluster"];
      json& inc = cl["incremental"];
      const json first = state_of(cl, "after the first pass"), loop = state_of(cl, "after the incremental loop");
      if (first.is_null() || loop.is_null()) continue;
      const bool reb = cl["workload"]["rebalance"].get<bool>();
      o << "| " << cl["workload"]["seed"].get<long>() << " | " << (reb ? "rebalance" : "default") << " | "
        << fmt("%.4f", first["jain"].get<double>()) << " | **" << fmt("%.4f", loop["jain"].get<double>()) << "** | "
        << fmt("%.4f", loop["jain_scheduler_target_vs_entitlement"].get<double>()) << " | "
        << rate(inc["changes_per_sec"]) << " | " << rate(inc["decisions_per_sec"]) << " | "
        << fmt("%.2f", inc["decisions"]["total"].get<double>() / inc["changes"].get<double>()) << " | "
        << grouped(inc["decisions"].value("revoke", json(0))) << " | " << pct(loop["utilisation"]["gpu"]) << " |\n";
    }
    o << "\n";
  }

  // --- YuniKorn
  o << "## Side by side with YuniKorn\n\n"
    << "YuniKorn core's `BenchmarkScheduling` (see `bench/yunikorn/README.md`): N identical nodes of "
       "`(10000/N + 1)` slots, 10,000 asks of `{memory 10, vcore 1}`, two apps of 5,000 asks in queues `root.a` "
       "(guaranteed memory 100000, vcore 10000) and `root.b` (memory 1000000, vcore 10000). Our mapping:\n\n"
    << "- nodes → hosts `node-<i>:1234` with cpu = slots × 1 core and memory = slots × 10 MiB (vcore 1 → 1 cpu, "
       "memory 10 → 10 MiB);\n"
    << "- queues → two leaf consumers `/a` and `/b`. Primary variant: **owned = the guaranteed amounts** (`/a` "
       "owns 10000 cpu + 100000 MiB, `/b` 10000 cpu + 1000000 MiB). Together they exceed every cluster size, "
       "which YuniKorn accepts; so does `set_tree` without its capacity check, and the hybrid policy guarantees "
       "`min(demand, owned)` = each app's 5,000 slots, which fit. Also run: share-only consumers (no owned, share "
       "1 each), and `pack` placement;\n"
    << "- apps → one batch session each, shape `{cpu 1, memory 10 MiB}`, demand 5,000 slots;\n"
    << "- YuniKorn's fair node order (least used first) → placement `spread`.\n\n"
    << "Timed: from `register_session` of both apps until both hold 5,000 slots (`schedule()` repeated until "
       "then; one pass suffices). Hosts and tree are set up untimed, a fresh scheduler per repetition; the figure "
       "is the median of 10,000 ÷ seconds. YuniKorn's figure is its own (`allocations_per_sec`, median of its "
       "runs) from `bench/yunikorn/run.sh`, on GOMAXPROCS = all cores, not pinned.\n\n";
  std::map<int, json> yk_by_nodes;
  for (const json& y : yk) yk_by_nodes[y["nodes"].get<int>()] = y;
  const json& ours = b.contains("yunikorn_shape") ? b["yunikorn_shape"] : json::array();
  std::vector<std::string> variants;
  for (const json& r : ours) {
    const std::string v = r["variant"].get<std::string>();
    if (std::find(variants.begin(), variants.end(), v) == variants.end()) variants.push_back(v);
  }
  o << "| nodes | slots/node |";
  for (const auto& v : variants) o << " ours: " << v << " |";
  o << " YuniKorn v" << (yk.empty() ? std::string("?") : str(yk[0], "version").substr(1))
    << " | ours ÷ YuniKorn |\n|---:|---:|";
  for (std::size_t i = 0; i < variants.size(); ++i) o << "---:|";
  o << "---:|---:|\n";
  std::map<int, std::vector<json>> by_nodes;
  for (const json& r : ours) by_nodes[r["nodes"].get<int>()].push_back(r);
  for (const auto& [nodes, rows] : by_nodes) {
    o << "| " << grouped(nodes) << " | " << rows[0]["slots_per_node"].get<int>() << " |";
    double primary = 0;
    for (const auto& v : variants) {
      for (const json& r : rows) {
        if (r["variant"] != v) continue;
        const double a = r["allocations_per_sec"].get<double>();
        if (primary == 0) primary = a;
        o << " " << grouped(a) << " /s (" << fmt("%.2f ms", r["median_seconds"].get<double>() * 1e3)
          << (r["complete"].get<bool>() ? "" : ", INCOMPLETE") << ") |";
      }
    }
    auto it = yk_by_nodes.find(nodes);
    if (it != yk_by_nodes.end()) {
      const double y = it->second["allocations_per_sec"].get<double>();
      o << " " << grouped(y) << " /s (" << fmt("%.2f s", it->second["seconds_to_allocate_all"].get<double>()) << ") | "
        << grouped(primary / y) << "× |\n";
    } else {
      o << " – | – |\n";
    }
  }
  if (!yk_status.empty()) o << "\nYuniKorn run: " << yk_status << "\n";
  if (!yk.empty()) {
    o << "\nYuniKorn: " << str(yk[0], "go") << ", GOMAXPROCS " << str(yk[0], "gomaxprocs") << ", " << str(yk[0], "runs")
      << " runs per size; samples:";
    for (const json& y : yk) o << " " << y["nodes"].get<int>() << " nodes " << y["samples"].dump() << ";";
    o.seekp(-1, std::ios_base::cur);
    o << ".\n";
  }
  o << "\nRead the ratio with care. Both sides start the clock with the asks submitted and stop it when every ask "
       "is placed, but YuniKorn's timed window also carries its event system, one allocation per scheduling "
       "cycle, lock and goroutine hand-offs and the callback into the mock resource manager, while ours is one "
       "call into a single-threaded core that grants many slots of one session on one host as one decision. "
       "The figure says how far apart the two are at this shape, not that the designs do the same work.\n\n";

  // --- profile
  if (!prof_full.empty() || !prof_inc.empty()) {
    o << "## Where the time goes\n\n"
      << "`perf record` (frame pointers, a separate build with `-g -fno-omit-frame-pointer`) switched on only "
         "inside the timed code through `--perf-ctl`, so the cluster build and the first pass do not show. "
         "Inclusive and self shares of the samples, scheduling-core functions only (bench and libc frames "
         "dropped).\n";
    profile_table(o, prof_full, "Full pass");
    profile_table(o, prof_inc, "Incremental loop");
    o << "\n";
  }

  // --- method
  o << "## Method\n\n"
    << "- **Timed:** (1) the first `schedule()` after hosts, tree and sessions are in; (2) `schedule()` right "
       "after `mark_all_dirty()` (the call to mark is outside the timer); (3) the incremental loop as a whole "
       "(update + pass + dropping the returned decisions), plus each iteration for the latency percentiles; "
       "(4) for the YuniKorn shape, registering both apps through the pass that places the last slot.\n"
    << "- **Not timed:** generating the workload; building the cluster; drawing the churn (the incremental loop's "
       "changes are drawn before the clock starts); the churn between full passes and the passes that answer it; "
       "settling before a measurement; the fairness and utilisation computations.\n"
    << "- `std::chrono::steady_clock`, one process, one thread; `run.sh` pins it to one core with `taskset -c 0` "
       "when it can. The machine is shared with builds: a busy machine shows as a higher load average above and "
       "slower figures.\n"
    << "- The incremental loop has a time budget (default 60 s): when the core is far slower than the target it "
       "stops early and the rates are over the changes it made.\n"
    << "- Raw figures: `bench/out/scheduler-bench.json` (and `bench/out/yunikorn.jsonl`); `bench/out/` is not "
       "committed.\n\n"
    << "## Running it\n\n```sh\n"
    << "bench/run.sh                    # build (build/ or $BUILD_DIR), run, YuniKorn, profile, regenerate this file\n"
    << "SKIP_YUNIKORN=1 bench/run.sh    # without the YuniKorn run (~1-3 min)\n"
    << "SKIP_PROFILE=1 bench/run.sh     # without the perf profile\n"
    << "SEEDS= bench/run.sh             # without the other seeds\n"
    << "build/bin/scheduler-bench --help\n```\n";

  return o.str();
}

}  // namespace

int render_report(int argc, char** argv) {
  std::string bench_path, yk_path, yk_status, prof_full, prof_inc, out_path, source, run_cmd = "bench/run.sh",
                                                                                     rebalance_path;
  std::vector<std::string> seed_paths;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (v == nullptr) {
      std::cerr << "report: " << a << " needs a value\n";
      return 2;
    }
    ++i;
    if (a == "--bench")
      bench_path = v;
    else if (a == "--yunikorn")
      yk_path = v;
    else if (a == "--rebalance-bench")
      rebalance_path = v;
    else if (a == "--seed-bench")
      seed_paths.emplace_back(v);
    else if (a == "--yunikorn-status")
      yk_status = v;
    else if (a == "--profile-full")
      prof_full = v;
    else if (a == "--profile-incremental")
      prof_inc = v;
    else if (a == "--source")
      source = v;
    else if (a == "--command")
      run_cmd = v;
    else if (a == "--out")
      out_path = v;
    else {
      std::cerr << "report: unknown option " << a << "\n";
      return 2;
    }
  }
  if (bench_path.empty() || out_path.empty()) {
    std::cerr << "report: --bench and --out are required\n";
    return 2;
  }
  json b;
  try {
    b = json::parse(read_file(bench_path));
  } catch (const std::exception& e) {
    std::cerr << "report: cannot parse " << bench_path << ": " << e.what() << "\n";
    return 1;
  }
  json rebalance;
  if (!rebalance_path.empty()) {
    try {
      rebalance = json::parse(read_file(rebalance_path));
    } catch (const std::exception& e) {
      std::cerr << "report: cannot parse " << rebalance_path << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::vector<json> seeds;
  for (const std::string& path : seed_paths) {
    try {
      seeds.push_back(json::parse(read_file(path)));
    } catch (const std::exception& e) {
      std::cerr << "report: cannot parse " << path << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::vector<json> yk;
  if (!yk_path.empty()) {
    std::istringstream in(read_file(yk_path));
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] != '{') continue;
      try {
        yk.push_back(json::parse(line));
      } catch (...) {
      }
    }
  }

  std::string text;
  try {
    text = render(b, yk, yk_status, prof_full, prof_inc, run_cmd, source, rebalance, seeds);
  } catch (const json::exception& e) {
    std::cerr << "report: " << bench_path << " lacks a figure the report needs (a partial --only run?): " << e.what()
              << "\n";
    return 1;
  }
  text += kept_sections(out_path);
  std::ofstream f(out_path);
  f << text;
  if (!f) {
    std::cerr << "report: cannot write " << out_path << "\n";
    return 1;
  }
  std::cout << "report written to " << out_path << "\n";
  return 0;
}

}  // namespace sched::bench
