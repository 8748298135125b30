// YAML field readers with file, line and field path in every error.
#include "config/yaml_fields.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/quantity.hpp"

namespace sched::config {

using core::Resources;
int line_of(const YAML::Node& n) {
  return n.IsDefined() && n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
}

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return "nothing";
}

Result<std::string> read_key(const FieldPath& ctx, const YAML::Node& key) {
  if (!key.IsScalar()) return ctx.error(key, "a key must be plain text, got " + scalar_text(key));
  return key.Scalar();
}

Status check_keys(const FieldPath& ctx, const YAML::Node& map, std::initializer_list<const char*> allowed) {
  if (!map.IsMap()) return ctx.error(map, "expected a map, got " + scalar_text(map));
  // yaml-cpp keeps both copies of a repeated key and lookups see only the
  // first: an operator's later line would be silently ignored.
  std::map<std::string, int> seen;
  for (const auto& kv : map) {
    auto k = read_key(ctx, kv.first);
    if (!k) return k.status();
    const std::string& key = *k;
    auto [first, fresh] = seen.emplace(key, line_of(kv.first));
    if (!fresh) {
      return (ctx / key).error(kv.first, "given twice (first on line " + std::to_string(first->second) + ")");
    }
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

Result<double> read_number(const FieldPath& ctx, const YAML::Node& n) {
  if (!n.IsScalar()) return ctx.error(n, "expected a number, got " + scalar_text(n));
  const std::string& s = n.Scalar();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
    return ctx.error(n, "expected a number, got '" + s + "'");
  }
  return v;
}

Result<std::int64_t> read_count(const FieldPath& ctx, const YAML::Node& n) {
  auto v = read_number(ctx, n);
  if (!v) return v.status();
  if (*v < 0) return ctx.error(n, "must not be negative, got " + n.Scalar());
  if (*v != std::floor(*v)) return ctx.error(n, "expected a whole number, got " + n.Scalar());
  if (*v > 1e12) return ctx.error(n, "is too large: " + n.Scalar());
  return static_cast<std::int64_t>(*v);
}

Result<int> read_int(const FieldPath& ctx, const YAML::Node& n) {
  auto v = read_number(ctx, n);
  if (!v) return v.status();
  if (*v != std::floor(*v) || std::abs(*v) > 1e9) return ctx.error(n, "expected a whole number, got " + n.Scalar());
  return static_cast<int>(*v);
}

Result<bool> read_bool(const FieldPath& ctx, const YAML::Node& n) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  return ctx.error(n, "expected true or false, got " + scalar_text(n));
}

Result<std::string> read_string(const FieldPath& ctx, const YAML::Node& n) {
  if (!n.IsScalar()) return ctx.error(n, "expected text, got " + scalar_text(n));
  return n.Scalar();
}

Result<core::TimeMs> read_duration(const FieldPath& ctx, const YAML::Node& n) {
  if (!n.IsScalar()) return ctx.error(n, "expected a duration like 30s, got " + scalar_text(n));
  auto d = core::parse_duration_ms(n.Scalar());
  if (!d) return ctx.error(n, d.status().message());
  return *d;
}

Result<Resources> read_vector(const FieldPath& ctx, const YAML::Node& n, std::uint32_t* named) {
  if (!n.IsMap()) return ctx.error(n, "expected a resource map like {cpu: 2, memory: 8Gi}, got " + scalar_text(n));
  Resources r;
  if (named != nullptr) *named = 0;
  for (const auto& kv : n) {
    auto k = read_key(ctx, kv.first);
    if (!k) return k.status();
    const std::string& key = *k;
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

Result<core::AmountSpec> read_amount(const FieldPath& ctx, const YAML::Node& n) {
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

Result<YAML::Node> load_yaml(const std::string& text, const std::string& source) {
  // yaml-cpp reports problems by throwing; nothing past this function sees one.
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    return Status::invalid_argument(source + (line > 0 ? ":" + std::to_string(line) : "") +
                                    ": not valid YAML: " + e.msg);
  }
}

Result<std::string> read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot read " + what + " '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace sched::config
