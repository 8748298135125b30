// The registry of resource backends by name.
#include "backend/executor_backend.hpp"

#include <mutex>

namespace sched::backend {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, BackendFactory> factories;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

Status register_backend(const std::string& name, BackendFactory factory) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  if (!r.factories.emplace(name, std::move(factory)).second) {
    return Status::already_exists("backend '" + name + "' is registered twice");
  }
  return Status::ok();
}

Result<std::unique_ptr<ExecutorBackend>> create_backend(const std::string& name, const BackendContext& context) {
  BackendFactory factory;
  {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    auto it = r.factories.find(name);
    if (it == r.factories.end()) {
      std::string known;
      for (const auto& [n, f] : r.factories) known += (known.empty() ? "" : ", ") + n;
      return Status::invalid_argument("unknown backend '" + name + "' (known: " + known + ")");
    }
    factory = it->second;
  }
  return factory(context);
}

std::vector<std::string> backend_names() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [n, f] : r.factories) out.push_back(n);
  return out;
}

}  // namespace sched::backend
