// Reading executor pods' phases and termination reasons.
#include "pod_view.hpp"

#include <nlohmann/json.hpp>

#include "kube_quantity.hpp"

namespace sched::backend::k8s {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The executor container's status, or the first container's.
const json* executor_status(const json& status) {
  auto it = status.find("containerStatuses");
  if (it == status.end() || !it->is_array() || it->empty()) return nullptr;
  for (const json& c : *it)
    if (str(c, "name") == kExecutorContainer) return &c;
  return &(*it)[0];
}

}  // namespace

std::string PodView::describe() const {
  std::string out = reason.empty() ? (phase == PodPhase::kSucceeded ? "Completed" : "pod ended") : reason;
  if (exit_code != -1000) out += " (exit " + std::to_string(exit_code) + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

PodView read_pod(const json& pod) {
  PodView v;
  static const json kEmpty = json::object();
  const json& meta = pod.contains("metadata") ? pod["metadata"] : kEmpty;
  v.name = str(meta, "name");
  v.uid = str(meta, "uid");
  v.deleting = meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null();
  if (meta.contains("annotations") && meta["annotations"].is_object())
    v.executor_id = str(meta["annotations"], kExecutorIdAnnotation);
  if (meta.contains("labels") && meta["labels"].is_object()) v.instance = str(meta["labels"], kInstanceLabel);
  const json& spec = pod.contains("spec") ? pod["spec"] : kEmpty;
  v.node = str(spec, "nodeName");
  for (const json& c : spec.value("containers", json::array())) {
    if (str(c, "name") != kExecutorContainer || !c.contains("resources") || !c["resources"].is_object()) continue;
    const json& req = c["resources"].value("requests", json::object());
    for (const auto& [key, kind] : {std::pair{"cpu", core::kCpu}, std::pair{"memory", core::kMemory}}) {
      if (!req.contains(key) || !req[key].is_string()) continue;
      auto q = kube_quantity_to_base(kind, req[key].get<std::string>(), Rounding::kUp);
      if (q) v.requests[kind] = *q;
    }
  }
  const json& status = pod.contains("status") ? pod["status"] : kEmpty;
  const std::string phase = str(status, "phase");
  if (phase == "Running")
    v.phase = PodPhase::kRunning;
  else if (phase == "Succeeded")
    v.phase = PodPhase::kSucceeded;
  else if (phase == "Failed")
    v.phase = PodPhase::kFailed;
  v.reason = str(status, "reason");  // Evicted, NodeLost, DeadlineExceeded
  v.message = str(status, "message");
  if (const json* c = executor_status(status)) {
    const json& state = c->contains("state") ? (*c)["state"] : kEmpty;
    if (state.contains("terminated")) {
      const json& t = state["terminated"];
      if (t.contains("exitCode") && t["exitCode"].is_number_integer()) v.exit_code = t["exitCode"].get<int>();
      if (v.reason.empty()) v.reason = str(t, "reason");
      if (v.message.empty()) v.message = str(t, "message");
      // The container ended though the pod is not marked yet (restartPolicy
      // Never makes the pod follow).
      if (v.phase == PodPhase::kRunning || v.phase == PodPhase::kPending)
        v.phase = v.exit_code == 0 ? PodPhase::kSucceeded : PodPhase::kFailed;
    } else if (state.contains("waiting") && v.phase == PodPhase::kPending) {
      v.reason = str(state["waiting"], "reason");  // ImagePullBackOff, CreateContainerConfigError
      v.message = str(state["waiting"], "message");
    } else if (v.phase == PodPhase::kRunning && !state.contains("running")) {
      v.phase = PodPhase::kPending;  // the pod runs but our container does not yet
    }
  }
  if (v.phase == PodPhase::kPending && v.reason.empty()) {
    for (const json& cond : status.value("conditions", json::array())) {
      if (str(cond, "type") == "PodScheduled" && str(cond, "status") == "False") {
        v.reason = str(cond, "reason");  // Unschedulable
        v.message = str(cond, "message");
      }
    }
  }
  return v;
}

}  // namespace sched::backend::k8s
