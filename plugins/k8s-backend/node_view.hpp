// What the backend reads off Node objects and other workloads' pods: the
// capacity a node offers executors, and whether it takes new ones.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "common/status.hpp"
#include "core/resources.hpp"

namespace sched::backend::k8s {

// Which resource names count as which kind.
struct ResourceNames {
  std::string gpu = "nvidia.com/gpu";
};

struct NodeView {
  std::string name;
  core::Resources allocatable;
  bool unschedulable = false;  // cordoned: spec.unschedulable
  bool ready = true;           // the Ready condition (absent counts as ready)
  std::map<std::string, std::string> labels;

  // Takes no new executors: cordoned or not Ready.
  bool closed() const { return unschedulable || !ready; }
  std::string why_closed() const;
};

Result<NodeView> read_node(const nlohmann::json& node, const ResourceNames& names);

// The resources a pod holds on its node: the sum of its containers'
// requests, or its largest init container's when bigger (as the kubelet
// counts them), plus its overhead.
core::Resources pod_requests(const nlohmann::json& pod, const ResourceNames& names);

// True when every `selector` label is on the node with the same value.
bool matches_selector(const std::map<std::string, std::string>& labels,
                      const std::map<std::string, std::string>& selector);

}  // namespace sched::backend::k8s
