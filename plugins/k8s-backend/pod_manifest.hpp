// The Pod object for one executor: the launch spec's command, environment
// and image, requests = limits from the executor's resources, our labels
// and annotations, the consumer's node selector and tolerations, an owner
// reference, and the operator's pod template underneath it all.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "backend/executor_backend.hpp"
#include "common/status.hpp"
#include "k8s_config.hpp"

namespace sched::backend::k8s {

// A pod name for the executor, unique per daemon instance: lowercase
// DNS-1123 ("sd-1a2b...-app-1-3"); ids that had to be changed to fit get a
// hash suffix so two ids never share a name.
std::string pod_name(const std::string& instance_id, const std::string& executor_id);

// A label value for any text: the text itself when it is a valid label
// value, otherwise a readable prefix plus a hash (the exact text goes in an
// annotation).
std::string label_value(const std::string& text);

// The cpu and memory of `resources` as a Kubernetes resource map ({"cpu":
// "1500m", "memory": "4Gi"}), zero kinds left out: what an executor pod's
// requests and limits carry, at creation and when resized.
nlohmann::json cpu_memory_quantities(const core::Resources& resources);

// Builds the pod. `node` is set as spec.nodeName (nodes mode: sessiond
// already placed the executor) or left out (pool mode). Fails on backend
// options it does not know, naming them.
Result<nlohmann::json> build_pod(const LaunchRequest& request, const K8sBackendConfig& config, const std::string& ns,
                                 const std::string& instance_id, const std::string& node);

}  // namespace sched::backend::k8s
