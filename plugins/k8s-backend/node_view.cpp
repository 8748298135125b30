// Reading Node objects and pod requests.
#include "node_view.hpp"

#include <nlohmann/json.hpp>

#include "kube_quantity.hpp"

namespace sched::backend::k8s {
namespace {

using nlohmann::json;

// Fills the kinds the scheduler knows from a {"cpu": "4", "memory": ...} map.
core::Resources read_resource_map(const json& m, const ResourceNames& names, Rounding rounding) {
  core::Resources r;
  if (!m.is_object()) return r;
  auto take = [&](const char* key, core::ResourceKind kind) {
    auto it = m.find(key);
    if (it == m.end() || !it->is_string()) return;
    auto v = kube_quantity_to_base(kind, it->get<std::string>(), rounding);
    if (v) r[kind] = *v;
  };
  take("cpu", core::kCpu);
  take("memory", core::kMemory);
  take(names.gpu.c_str(), core::kGpu);
  return r;
}

core::Resources container_requests(const json& c, const ResourceNames& names) {
  const json& res = c.value("resources", json::object());
  // Requests default to limits when only limits are given.
  core::Resources r = read_resource_map(res.value("limits", json::object()), names, Rounding::kUp);
  const core::Resources req = read_resource_map(res.value("requests", json::object()), names, Rounding::kUp);
  for (core::ResourceKind k = 0; k < core::kMaxResourceKinds; ++k)
    if (req[k] != 0) r[k] = req[k];
  return r;
}

}  // namespace

std::string NodeView::why_closed() const {
  if (unschedulable) return "node cordoned";
  if (!ready) return "node not Ready";
  return "";
}

Result<NodeView> read_node(const json& node, const ResourceNames& names) {
  NodeView v;
  const json& meta = node.value("metadata", json::object());
  v.name = meta.value("name", "");
  if (v.name.empty()) return Status::invalid_argument("a Node without a name");
  if (meta.contains("labels") && meta["labels"].is_object()) {
    for (const auto& [k, x] : meta["labels"].items())
      if (x.is_string()) v.labels[k] = x.get<std::string>();
  }
  const json& spec = node.value("spec", json::object());
  v.unschedulable = spec.value("unschedulable", false);
  const json& status = node.value("status", json::object());
  v.allocatable = read_resource_map(status.value("allocatable", json::object()), names, Rounding::kDown);
  for (const json& c : status.value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") v.ready = c.value("status", "") == "True";
  }
  return v;
}

core::Resources pod_requests(const json& pod, const ResourceNames& names) {
  const json& spec = pod.value("spec", json::object());
  core::Resources sum;
  for (const json& c : spec.value("containers", json::array())) sum += container_requests(c, names);
  core::Resources init;
  for (const json& c : spec.value("initContainers", json::array()))
    init = core::Resources::max(init, container_requests(c, names));
  sum = core::Resources::max(sum, init);
  sum += read_resource_map(spec.value("overhead", json::object()), names, Rounding::kUp);
  return sum;
}

bool matches_selector(const std::map<std::string, std::string>& labels,
                      const std::map<std::string, std::string>& selector) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace sched::backend::k8s
