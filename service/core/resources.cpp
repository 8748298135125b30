// Resource kinds and vector arithmetic.
#include "core/resources.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <vector>

#include "core/quantity.hpp"

namespace sched::core {
namespace {

struct KindTable {
  std::mutex mu;
  std::vector<std::string> names{"cpu", "memory", "gpu"};
};

KindTable& kinds() {
  static KindTable table;
  return table;
}

}  // namespace

Result<ResourceKind> ResourceKinds::find_or_add(std::string_view name) {
  if (name.empty()) return Status::invalid_argument("resource kind name is empty");
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/')) {
      return Status::invalid_argument("resource kind '" + std::string(name) +
                                      "' may contain only letters, digits, '_', '-', '.', '/'");
    }
  }
  auto& t = kinds();
  std::lock_guard<std::mutex> lock(t.mu);
  for (std::size_t i = 0; i < t.names.size(); ++i)
    if (t.names[i] == name) return i;
  if (t.names.size() >= kMaxResourceKinds) {
    return Status::resource_exhausted("too many resource kinds: '" + std::string(name) + "' would be kind " +
                                      std::to_string(t.names.size() + 1) + " of at most " +
                                      std::to_string(kMaxResourceKinds));
  }
  t.names.emplace_back(name);
  return t.names.size() - 1;
}

std::optional<ResourceKind> ResourceKinds::find(std::string_view name) {
  auto& t = kinds();
  std::lock_guard<std::mutex> lock(t.mu);
  for (std::size_t i = 0; i < t.names.size(); ++i)
    if (t.names[i] == name) return i;
  return std::nullopt;
}

std::string ResourceKinds::name(ResourceKind kind) {
  auto& t = kinds();
  std::lock_guard<std::mutex> lock(t.mu);
  if (kind < t.names.size()) return t.names[kind];
  return "kind" + std::to_string(kind);
}

std::size_t ResourceKinds::count() {
  auto& t = kinds();
  std::lock_guard<std::mutex> lock(t.mu);
  return t.names.size();
}

std::string Resources::to_string() const {
  std::string out;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    if (v_[k] == 0) continue;
    if (!out.empty()) out += ", ";
    out += ResourceKinds::name(k) + "=" + format_quantity(k, v_[k]);
  }
  return out.empty() ? "none" : out;
}

DominantShare::DominantShare(const Resources& total) {
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k)
    inv_[k] = total[k] > 0 ? 1.0 / static_cast<double>(total[k]) : 0.0;
}

}  // namespace sched::core
