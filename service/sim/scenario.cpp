// YAML scenario loading with field paths and line numbers in every error.
#include "sim/scenario.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <set>

#include "config/tree_yaml.hpp"
#include "config/yaml_fields.hpp"
#include "core/quantity.hpp"

namespace sched::sim {
namespace {

using config::check_keys;
using config::FieldPath;
using config::line_of;
using config::read_bool;
using config::read_count;
using config::read_duration;
using config::read_grace;
using config::read_hosts;
using config::read_int;
using config::read_number;
using config::read_string;
using config::read_tree;
using config::read_vector;
using config::scalar_text;

Result<SessionChange> read_session(const FieldPath& ctx, const YAML::Node& n) {
  SCHED_RETURN_IF_ERROR(
      check_keys(ctx, n, {"id", "consumer", "sla", "priority", "demand", "min", "max", "shape", "end"}));
  SessionChange c;
  c.line = line_of(n);
  if (!n["id"]) return ctx.error(n, "missing field 'id'");
  auto id = read_string(ctx / "id", n["id"]);
  if (!id) return id.status();
  c.id = *id;
  if (n["consumer"]) {
    auto s = read_string(ctx / "consumer", n["consumer"]);
    if (!s) return s.status();
    c.consumer = *s;
  }
  if (n["sla"]) {
    auto s = read_string(ctx / "sla", n["sla"]);
    if (!s) return s.status();
    auto cls = core::parse_sla(*s);
    if (!cls) return (ctx / "sla").error(n["sla"], cls.status().message());
    c.sla = *cls;
  }
  if (n["priority"]) {
    auto p = read_int(ctx / "priority", n["priority"]);
    if (!p) return p.status();
    c.priority = *p;
  }
  for (auto [key, field] : {std::pair{"demand", &c.demand}, std::pair{"min", &c.min}, std::pair{"max", &c.max}}) {
    if (!n[key]) continue;
    auto v = read_count(ctx / key, n[key]);
    if (!v) return v.status();
    *field = *v;
  }
  if (n["shape"]) {
    auto v = read_vector(ctx / "shape", n["shape"]);
    if (!v) return v.status();
    if (v->is_zero()) return (ctx / "shape").error(n["shape"], "shape must not be empty");
    c.shape = *v;
  }
  if (n["end"]) {
    auto b = read_bool(ctx / "end", n["end"]);
    if (!b) return b.status();
    c.end = *b;
  }
  return c;
}

Result<std::vector<std::string>> read_names(const FieldPath& ctx, const YAML::Node& n) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) return ctx.error(n, "expected a host name or a list of host names");
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto s = read_string(ctx[i], n[i]);
    if (!s) return s.status();
    out.push_back(*s);
  }
  return out;
}

Result<Step> read_step(const FieldPath& ctx, const YAML::Node& n, std::set<std::string>* host_names) {
  SCHED_RETURN_IF_ERROR(check_keys(
      ctx, n,
      {"label", "advance", "at", "demand", "sessions", "add_hosts", "remove_hosts", "drain", "undrain", "consumers"}));
  Step s;
  s.line = line_of(n);
  if (n["label"]) {
    auto l = read_string(ctx / "label", n["label"]);
    if (!l) return l.status();
    s.label = *l;
  }
  if (n["advance"] && n["at"]) return ctx.error(n, "give either 'advance' or 'at', not both");
  if (n["advance"]) {
    auto d = read_duration(ctx / "advance", n["advance"]);
    if (!d) return d.status();
    s.advance = *d;
  }
  if (n["at"]) {
    auto t = read_string(ctx / "at", n["at"]);
    if (!t) return t.status();
    auto tod = core::parse_time_of_day(*t);
    if (!tod) return (ctx / "at").error(n["at"], tod.status().message());
    s.at_time_of_day = *tod;
  }
  if (n["demand"]) {
    const YAML::Node d = n["demand"];
    if (!d.IsMap()) return (ctx / "demand").error(d, "expected a map of consumer path to slots, e.g. {/A: 20}");
    for (const auto& kv : d) {
      auto path = config::read_key(ctx / "demand", kv.first);
      if (!path) return path.status();
      auto v = read_count(ctx / "demand" / *path, kv.second);
      if (!v) return v.status();
      s.demand.emplace_back(*path, *v);
    }
  }
  if (n["sessions"]) {
    const YAML::Node ss = n["sessions"];
    if (!ss.IsSequence()) return (ctx / "sessions").error(ss, "expected a list of sessions");
    for (std::size_t i = 0; i < ss.size(); ++i) {
      auto c = read_session((ctx / "sessions")[i], ss[i]);
      if (!c) return c.status();
      s.sessions.push_back(std::move(*c));
    }
  }
  if (n["add_hosts"]) {
    auto h = read_hosts(ctx / "add_hosts", n["add_hosts"], host_names);
    if (!h) return h.status();
    s.add_hosts = std::move(*h);
  }
  for (auto [key, field] :
       {std::pair{"remove_hosts", &s.remove_hosts}, std::pair{"drain", &s.drain}, std::pair{"undrain", &s.undrain}}) {
    if (!n[key]) continue;
    auto names = read_names(ctx / key, n[key]);
    if (!names) return names.status();
    *field = std::move(*names);
  }
  if (n["consumers"]) {
    auto t = read_tree(ctx / "consumers", n["consumers"]);
    if (!t) return t.status();
    s.consumers = std::move(*t);
  }
  return s;
}

Result<Scenario> parse_root(const YAML::Node& root, const std::string& source) {
  const FieldPath ctx{&source, ""};
  if (!root.IsDefined() || root.IsNull()) return ctx.error(root, "the scenario is empty");
  SCHED_RETURN_IF_ERROR(check_keys(ctx, root,
                                   {"capacity", "hosts", "slot", "grace", "rebalance", "policy", "placement",
                                    "idle_timeout", "start", "report", "consumers", "steps"}));
  Scenario sc;
  sc.source = source;
  if (root["slot"]) {
    auto v = read_vector(ctx / "slot", root["slot"]);
    if (!v) return v.status();
    if (v->is_zero()) return (ctx / "slot").error(root["slot"], "slot must not be empty");
    sc.config.slot = *v;
  }
  if (root["grace"]) {
    auto g = read_grace(ctx / "grace", root["grace"]);
    if (!g) return g.status();
    for (std::size_t c = 0; c < core::kSlaClassCount; ++c) {
      if (auto d = g->for_class(static_cast<core::SlaClass>(c))) sc.config.sla.grace_ms[c] = *d;
    }
  }
  if (root["idle_timeout"]) {
    auto d = read_duration(ctx / "idle_timeout", root["idle_timeout"]);
    if (!d) return d.status();
    sc.config.sla.interactive_idle_timeout_ms = *d;
  }
  if (root["rebalance"]) {
    auto r = read_rebalance(ctx / "rebalance", root["rebalance"]);
    if (!r) return r.status();
    sc.config.rebalance = *r;
  }
  if (root["policy"]) {
    auto p = read_string(ctx / "policy", root["policy"]);
    if (!p) return p.status();
    if (*p != "hybrid" && *p != "drf") return (ctx / "policy").error(root["policy"], "expected hybrid or drf");
    sc.config.share_policy = *p;
  }
  if (root["placement"]) {
    auto p = read_string(ctx / "placement", root["placement"]);
    if (!p) return p.status();
    auto pp = core::parse_placement_policy(*p);
    if (!pp) return (ctx / "placement").error(root["placement"], pp.status().message());
    sc.config.placement = *pp;
  }
  if (root["start"]) {
    auto t = read_string(ctx / "start", root["start"]);
    if (!t) return t.status();
    // "08:00" or "mon 08:00": the virtual clock starts on a Monday.
    std::string text = *t;
    std::int64_t day = 0;
    if (const auto sp = text.find(' '); sp != std::string::npos) {
      auto w = core::DailyWindow::parse("00:00-01:00", text.substr(0, sp));
      static const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
      std::string d = text.substr(0, sp);
      day = -1;
      for (int i = 0; i < 7; ++i)
        if (d.rfind(kDays[i], 0) == 0) day = i;
      if (!w || day < 0) return (ctx / "start").error(root["start"], "expected \"HH:MM\" or \"mon HH:MM\"");
      text = text.substr(sp + 1);
    }
    auto tod = core::parse_time_of_day(text);
    if (!tod) return (ctx / "start").error(root["start"], tod.status().message());
    sc.start = (4 + day) * 86'400'000LL + *tod * 1000;  // 1970-01-05 was a Monday
  } else {
    sc.start = 4 * 86'400'000LL;
  }

  std::set<std::string> host_names;
  if (root["capacity"] && root["hosts"]) return ctx.error(root, "give either 'capacity' or 'hosts', not both");
  if (root["capacity"]) {
    const YAML::Node c = root["capacity"];
    core::HostSpec h;
    h.name = "local";
    if (c.IsMap()) {
      auto v = read_vector(ctx / "capacity", c);
      if (!v) return v.status();
      h.capacity = *v;
      sc.report_in_slots = false;
    } else {
      auto n = read_count(ctx / "capacity", c);
      if (!n) return ctx.error(c, "capacity: expected a number of slots or a resource map, got " + scalar_text(c));
      h.capacity = sc.config.slot * *n;
      sc.report_in_slots = true;
    }
    host_names.insert(h.name);
    sc.hosts.push_back(h);
  } else if (root["hosts"]) {
    auto hs = read_hosts(ctx / "hosts", root["hosts"], &host_names);
    if (!hs) return hs.status();
    sc.hosts = std::move(*hs);
    sc.report_in_slots = false;
  } else {
    return ctx.error(root, "missing 'capacity' (slots or a resource map) or 'hosts'");
  }
  if (root["report"]) {
    auto r = read_string(ctx / "report", root["report"]);
    if (!r) return r.status();
    if (*r != "slots" && *r != "vectors") return (ctx / "report").error(root["report"], "expected slots or vectors");
    sc.report_in_slots = *r == "slots";
  }
  if (!root["consumers"]) return ctx.error(root, "missing 'consumers'");
  auto tree = read_tree(ctx / "consumers", root["consumers"]);
  if (!tree) return tree.status();
  sc.tree = std::move(*tree);
  if (root["steps"]) {
    const YAML::Node steps = root["steps"];
    if (!steps.IsSequence()) return (ctx / "steps").error(steps, "expected a list of steps");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      auto st = read_step((ctx / "steps")[i], steps[i], &host_names);
      if (!st) return st.status();
      sc.steps.push_back(std::move(*st));
    }
  }
  return sc;
}

}  // namespace

Result<Scenario> parse_scenario(const std::string& text, const std::string& source) {
  auto root = config::load_yaml(text, source);
  if (!root) return root.status();
  return parse_root(*root, source);
}

Result<Scenario> load_scenario(const std::string& path) {
  auto text = config::read_text_file(path, "scenario file");
  if (!text) return text.status();
  return parse_scenario(*text, path);
}

}  // namespace sched::sim
