// Kubernetes resource quantities ("500m", "4Gi", "16393216Ki", "1e3") read
// into the scheduler's base units, and written back for pod requests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "core/resources.hpp"

namespace sched::backend::k8s {

// The quantity's value in its plain unit (cores, bytes, devices).
Result<long double> parse_kube_quantity(std::string_view text);

// Into base units of `kind` (millicores, MiB, milli-units). Capacity rounds
// down and requests round up, so a host is never thought bigger than it is.
enum class Rounding : std::uint8_t { kDown, kUp };
Result<std::int64_t> kube_quantity_to_base(core::ResourceKind kind, std::string_view text, Rounding rounding);

// Base units of `kind` as a Kubernetes quantity: "1500m", "8192Mi", "1".
std::string base_to_kube_quantity(core::ResourceKind kind, std::int64_t base_units);

}  // namespace sched::backend::k8s
