// YAML scenario loading with field paths and line numbers in every error.
#include "sim/scenario.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include "core/quantity.hpp"

namespace sched::sim {
namespace {

using core::Resources;

// The field being read, for messages: "steps[2].sessions[0].demand".
struct Ctx {
  const std::string* source;
  std::string field;

  Ctx operator/(const std::string& key) const { return Ctx{source, field.empty() ? key : field + "." + key}; }
  Ctx operator[](std::size_t i) const { return Ctx{source, field + "[" + std::to_string(i) + "]"}; }

  Status error(const YAML::Node& at, const std::string& what) const {
    std::string where = *source;
    if (at.IsDefined() && at.Mark().line >= 0) where += ":" + std::to_string(at.Mark().line + 1);
    return Status::invalid_argument(where + ": " + (field.empty() ? "" : field + ": ") + what);
  }
};

int line_of(const YAML::Node& n) {
  return n.IsDefined() && n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
}

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return "nothing";
}

Status check_keys(const Ctx& ctx, const YAML::Node& map, std::initializer_list<const char*> allowed) {
  if (!map.IsMap()) return ctx.error(map, "expected a map, got " + scalar_text(map));
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return (ctx / key).error(kv.first, "unknown field (expected one of: " + list + ")");
    }
  }
  return Status::ok();
}

Result<double> read_number(const Ctx& ctx, const YAML::Node& n) {
  if (!n.IsScalar()) return ctx.error(n, "expected a number, got " + scalar_text(n));
  const std::string& s = n.Scalar();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
    return ctx.error(n, "expected a number, got '" + s + "'");
  }
  return v;
}

Result<std::int64_t> read_count(const Ctx& ctx, const YAML::Node& n) {
  auto v = read_number(ctx, n);
  if (!v) return v.status();
  if (*v < 0) return ctx.error(n, "must not be negative, got " + n.Scalar());
  if (*v != std::floor(*v)) return ctx.error(n, "expected a whole number, got " + n.Scalar());
  if (*v > 1e12) return ctx.error(n, "is too large: " + n.Scalar());
  return static_cast<std::int64_t>(*v);
}

Result<int> read_int(const Ctx& ctx, const YAML::Node& n) {
  auto v = read_number(ctx, n);
  if (!v) return v.status();
  if (*v != std::floor(*v) || std::abs(*v) > 1e9) return ctx.error(n, "expected a whole number, got " + n.Scalar());
  return static_cast<int>(*v);
}

Result<bool> read_bool(const Ctx& ctx, const YAML::Node& n) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  return ctx.error(n, "expected true or false, got " + scalar_text(n));
}

Result<std::string> read_string(const Ctx& ctx, const YAML::Node& n) {
  if (!n.IsScalar()) return ctx.error(n, "expected text, got " + scalar_text(n));
  return n.Scalar();
}

Result<core::TimeMs> read_duration(const Ctx& ctx, const YAML::Node& n) {
  if (!n.IsScalar()) return ctx.error(n, "expected a duration like 30s, got " + scalar_text(n));
  auto d = core::parse_duration_ms(n.Scalar());
  if (!d) return ctx.error(n, d.status().message());
  return *d;
}

// {cpu: 2, memory: 8Gi, gpu: 1, fpga: 1}: every key is a resource kind.
Result<Resources> read_vector(const Ctx& ctx, const YAML::Node& n, std::uint32_t* named = nullptr) {
  if (!n.IsMap()) return ctx.error(n, "expected a resource map like {cpu: 2, memory: 8Gi}, got " + scalar_text(n));
  Resources r;
  if (named != nullptr) *named = 0;
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    auto kind = core::ResourceKinds::find_or_add(key);
    if (!kind) return (ctx / key).error(kv.first, kind.status().message());
    if (!kv.second.IsScalar())
      return (ctx / key).error(kv.second, "expected a quantity, got " + scalar_text(kv.second));
    auto q = core::parse_quantity(*kind, kv.second.Scalar());
    if (!q) return (ctx / key).error(kv.second, q.status().message());
    r[*kind] = *q;
    if (named != nullptr) *named |= 1u << *kind;
  }
  return r;
}

// A plan amount: a number of slots or a resource map.
Result<core::AmountSpec> read_amount(const Ctx& ctx, const YAML::Node& n) {
  if (n.IsMap()) {
    std::uint32_t named = 0;
    auto v = read_vector(ctx, n, &named);
    if (!v) return v.status();
    return core::AmountSpec::of_vector(*v, named);
  }
  if (!n.IsScalar()) return ctx.error(n, "expected a number of slots or a resource map, got " + scalar_text(n));
  auto v = read_number(ctx, n);
  if (!v) return ctx.error(n, "expected a number of slots or a resource map, got '" + n.Scalar() + "'");
  if (*v < 0) return ctx.error(n, "must not be negative, got " + n.Scalar());
  return core::AmountSpec::of_slots(*v);
}

// grace: 30s  |  grace: {default: 30s, batch: 10s, interactive: 2m}
Result<core::GraceByClass> read_grace(const Ctx& ctx, const YAML::Node& n) {
  core::GraceByClass g;
  if (n.IsScalar()) {
    auto d = read_duration(ctx, n);
    if (!d) return d.status();
    g.any = *d;
    return g;
  }
  if (!n.IsMap()) return ctx.error(n, "expected a duration or a map of SLA class to duration");
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    auto d = read_duration(ctx / key, kv.second);
    if (!d) return d.status();
    if (key == "default") {
      g.any = *d;
      continue;
    }
    auto c = core::parse_sla(key);
    if (!c)
      return (ctx / key).error(kv.first,
                               "unknown SLA class '" + key + "' (expected interactive, streaming, batch or default)");
    g.per_class[static_cast<std::size_t>(*c)] = *d;
  }
  return g;
}

Status read_plan_fields(const Ctx& ctx, const YAML::Node& n, core::PlanSpec* plan) {
  if (n["share"]) {
    auto v = read_number(ctx / "share", n["share"]);
    if (!v) return v.status();
    if (*v <= 0) return (ctx / "share").error(n["share"], "must be a positive number, got " + n["share"].Scalar());
    plan->share = *v;
  }
  for (auto [key, field] :
       {std::pair{"owned", &plan->owned}, std::pair{"limit", &plan->limit}, std::pair{"reserved", &plan->reserved}}) {
    if (!n[key]) continue;
    auto a = read_amount(ctx / key, n[key]);
    if (!a) return a.status();
    *field = *a;
  }
  if (n["borrow"]) {
    auto b = read_bool(ctx / "borrow", n["borrow"]);
    if (!b) return b.status();
    plan->borrow = *b;
  }
  return Status::ok();
}

Result<core::ConsumerSpec> read_consumer(const Ctx& ctx, const YAML::Node& n, int depth) {
  if (depth > 32) return ctx.error(n, "consumer tree is deeper than 32 levels");
  SCHED_RETURN_IF_ERROR(
      check_keys(ctx, n, {"name", "share", "owned", "limit", "reserved", "borrow", "grace", "plans", "children"}));
  core::ConsumerSpec c;
  c.line = line_of(n);
  if (!n["name"]) return ctx.error(n, "missing field 'name'");
  auto name = read_string(ctx / "name", n["name"]);
  if (!name) return name.status();
  c.name = *name;
  SCHED_RETURN_IF_ERROR(read_plan_fields(ctx, n, &c.plan));
  if (n["grace"]) {
    auto g = read_grace(ctx / "grace", n["grace"]);
    if (!g) return g.status();
    c.grace = *g;
  }
  if (n["plans"]) {
    const YAML::Node plans = n["plans"];
    if (!plans.IsSequence()) return (ctx / "plans").error(plans, "expected a list of time-window plans");
    for (std::size_t i = 0; i < plans.size(); ++i) {
      const Ctx pc = (ctx / "plans")[i];
      const YAML::Node p = plans[i];
      SCHED_RETURN_IF_ERROR(check_keys(pc, p, {"window", "days", "share", "owned", "limit", "reserved", "borrow"}));
      if (!p["window"]) return pc.error(p, "missing field 'window' (e.g. \"08:00-18:00\")");
      auto wtext = read_string(pc / "window", p["window"]);
      if (!wtext) return wtext.status();
      std::string days;
      if (p["days"]) {
        auto d = read_string(pc / "days", p["days"]);
        if (!d) return d.status();
        days = *d;
      }
      auto w = core::DailyWindow::parse(*wtext, days);
      if (!w) return (pc / "window").error(p["window"], w.status().message());
      core::WindowPlanSpec wp;
      wp.window = *w;
      wp.line = line_of(p);
      SCHED_RETURN_IF_ERROR(read_plan_fields(pc, p, &wp.plan));
      c.windows.push_back(wp);
    }
  }
  if (n["children"]) {
    const YAML::Node kids = n["children"];
    if (!kids.IsSequence()) return (ctx / "children").error(kids, "expected a list of consumers");
    for (std::size_t i = 0; i < kids.size(); ++i) {
      auto child = read_consumer((ctx / "children")[i], kids[i], depth + 1);
      if (!child) return child.status();
      c.children.push_back(std::move(*child));
    }
  }
  return c;
}

Result<core::TreeSpec> read_tree(const Ctx& ctx, const YAML::Node& n) {
  if (!n.IsSequence()) return ctx.error(n, "expected a list of consumers");
  core::TreeSpec t;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto c = read_consumer(ctx[i], n[i], 0);
    if (!c) return c.status();
    t.consumers.push_back(std::move(*c));
  }
  return t;
}

// hosts: [{name: h1, cpu: 8, memory: 32Gi}, {count: 100, cpu: 32, memory: 128Gi}]
Result<std::vector<core::HostSpec>> read_hosts(const Ctx& ctx, const YAML::Node& n, std::set<std::string>* names) {
  if (!n.IsSequence()) return ctx.error(n, "expected a list of hosts");
  std::vector<core::HostSpec> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const Ctx hc = ctx[i];
    const YAML::Node h = n[i];
    if (!h.IsMap()) return hc.error(h, "expected a host like {name: h1, cpu: 8, memory: 32Gi}");
    std::string name;
    std::int64_t count = 1;
    bool has_count = false;
    YAML::Node resources(YAML::NodeType::Map);
    for (const auto& kv : h) {
      const std::string key = kv.first.as<std::string>();
      if (key == "name") {
        auto s = read_string(hc / "name", kv.second);
        if (!s) return s.status();
        name = *s;
      } else if (key == "count") {
        auto c = read_count(hc / "count", kv.second);
        if (!c) return c.status();
        if (*c < 1 || *c > 1'000'000) return (hc / "count").error(kv.second, "must be between 1 and 1000000");
        count = *c;
        has_count = true;
      } else {
        resources[key] = kv.second;
      }
    }
    auto cap = read_vector(hc, resources);
    if (!cap) return cap.status();  // already names the file, line and field
    if (cap->is_zero()) return hc.error(h, "host has no resources (give cpu, memory, ...)");
    const std::string prefix = name.empty() ? "host" : name;
    for (std::int64_t k = 0; k < count; ++k) {
      core::HostSpec spec;
      spec.name =
          has_count ? prefix + "-" + std::to_string(k + 1) : (name.empty() ? "host-" + std::to_string(i + 1) : name);
      spec.capacity = *cap;
      if (!names->insert(spec.name).second) return hc.error(h, "duplicate host name '" + spec.name + "'");
      out.push_back(std::move(spec));
    }
  }
  return out;
}

Result<SessionChange> read_session(const Ctx& ctx, const YAML::Node& n) {
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

Result<std::vector<std::string>> read_names(const Ctx& ctx, const YAML::Node& n) {
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

Result<Step> read_step(const Ctx& ctx, const YAML::Node& n, std::set<std::string>* host_names) {
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
      const std::string path = kv.first.as<std::string>();
      auto v = read_count(ctx / "demand" / path, kv.second);
      if (!v) return v.status();
      s.demand.emplace_back(path, *v);
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
  const Ctx ctx{&source, ""};
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
    auto b = read_bool(ctx / "rebalance", root["rebalance"]);
    if (!b) return b.status();
    sc.config.rebalance = *b;
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
  // yaml-cpp reports problems by throwing; nothing past this function sees one.
  try {
    const YAML::Node root = YAML::Load(text);
    return parse_root(root, source);
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    return Status::invalid_argument(source + (line > 0 ? ":" + std::to_string(line) : "") +
                                    ": not valid YAML: " + e.msg);
  }
}

Result<Scenario> load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot read scenario file '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_scenario(buf.str(), path);
}

}  // namespace sched::sim
