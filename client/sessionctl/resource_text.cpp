// Formatting of api::ResourceVector through the core's quantity syntax.
#include "client/sessionctl/resource_text.hpp"

#include "core/quantity.hpp"

namespace sched::sessionctl {

Result<core::Resources> to_core(const api::ResourceVector& v) {
  core::Resources r;
  r[core::kCpu] = v.cpu_millis;
  r[core::kMemory] = v.memory_mib;
  r[core::kGpu] = v.gpu_millis;
  for (const auto& [name, amount] : v.extras) {
    auto kind = core::ResourceKinds::find_or_add(name);
    if (!kind) return kind.status();
    r[*kind] = amount;
  }
  return r;
}

namespace {

std::string format_amount(core::ResourceKind kind, std::int64_t amount) {
  return amount < 0 ? "unlimited" : core::format_quantity(kind, amount);
}

}  // namespace

std::string format_resources(const api::ResourceVector& v) {
  if (v.cpu_millis < 0 && v.memory_mib < 0 && v.gpu_millis < 0 && v.extras.empty()) return "unlimited";
  std::string out;
  auto add = [&](const std::string& name, core::ResourceKind kind, std::int64_t amount) {
    if (amount == 0) return;
    if (!out.empty()) out += ' ';
    out += name + "=" + format_amount(kind, amount);
  };
  add("cpu", core::kCpu, v.cpu_millis);
  add("memory", core::kMemory, v.memory_mib);
  add("gpu", core::kGpu, v.gpu_millis);
  // Extras share the gpu's milli-unit syntax; the core registry is not
  // needed to print them, so a vector with too many extras still prints.
  for (const auto& [name, amount] : v.extras) add(name, core::kGpu, amount);
  return out.empty() ? "none" : out;
}

}  // namespace sched::sessionctl
