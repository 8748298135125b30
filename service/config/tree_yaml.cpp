// Consumer trees and host lists read from YAML.
#include "config/tree_yaml.hpp"

namespace sched::config {
namespace {

Status read_plan_fields(const FieldPath& ctx, const YAML::Node& n, core::PlanSpec* plan) {
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

Result<core::ConsumerSpec> read_consumer(const FieldPath& ctx, const YAML::Node& n, int depth) {
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
      const FieldPath pc = (ctx / "plans")[i];
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

}  // namespace

Result<core::GraceByClass> read_grace(const FieldPath& ctx, const YAML::Node& n) {
  core::GraceByClass g;
  if (n.IsScalar()) {
    auto d = read_duration(ctx, n);
    if (!d) return d.status();
    g.any = *d;
    return g;
  }
  if (!n.IsMap()) return ctx.error(n, "expected a duration or a map of SLA class to duration");
  for (const auto& kv : n) {
    auto k = read_key(ctx, kv.first);
    if (!k) return k.status();
    const std::string& key = *k;
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

Result<core::RebalanceRule> read_rebalance(const FieldPath& ctx, const YAML::Node& n) {
  core::RebalanceRule r;
  if (n.IsScalar()) {
    auto b = read_bool(ctx, n);
    if (!b) return b.status();
    r.on = *b;
    return r;
  }
  if (!n.IsMap()) return ctx.error(n, "expected true, false or a map with threshold and delay");
  SCHED_RETURN_IF_ERROR(check_keys(ctx, n, {"threshold", "delay"}));
  r.on = true;
  if (n["threshold"]) {
    auto v = read_number(ctx / "threshold", n["threshold"]);
    if (!v) return v.status();
    if (!(*v > 0 && *v <= 1)) return (ctx / "threshold").error(n["threshold"], "must be above 0 and at most 1");
    r.threshold = *v;
  }
  if (n["delay"]) {
    auto d = read_duration(ctx / "delay", n["delay"]);
    if (!d) return d.status();
    r.delay_ms = *d;
  }
  return r;
}

Result<core::TreeSpec> read_tree(const FieldPath& ctx, const YAML::Node& n) {
  if (!n.IsSequence()) return ctx.error(n, "expected a list of consumers");
  core::TreeSpec t;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto c = read_consumer(ctx[i], n[i], 0);
    if (!c) return c.status();
    t.consumers.push_back(std::move(*c));
  }
  return t;
}

Result<std::vector<core::HostSpec>> read_hosts(const FieldPath& ctx, const YAML::Node& n,
                                               std::set<std::string>* names) {
  if (!n.IsSequence()) return ctx.error(n, "expected a list of hosts");
  std::vector<core::HostSpec> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const FieldPath hc = ctx[i];
    const YAML::Node h = n[i];
    if (!h.IsMap()) return hc.error(h, "expected a host like {name: h1, cpu: 8, memory: 32Gi}");
    std::string name;
    std::int64_t count = 1;
    bool has_count = false;
    YAML::Node resources(YAML::NodeType::Map);
    for (const auto& kv : h) {
      auto k = read_key(hc, kv.first);
      if (!k) return k.status();
      const std::string& key = *k;
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

Result<core::TreeSpec> parse_tree_text(const std::string& text, const std::string& source) {
  auto root = load_yaml(text, source);
  if (!root) return root.status();
  const FieldPath ctx{&source, ""};
  if (root->IsMap()) {
    SCHED_RETURN_IF_ERROR(check_keys(ctx, *root, {"consumers"}));
    return read_tree(ctx / "consumers", (*root)["consumers"]);
  }
  if (!root->IsDefined() || root->IsNull()) return ctx.error(*root, "the tree is empty (expected a list of consumers)");
  return read_tree(ctx / "consumers", *root);
}

}  // namespace sched::config
