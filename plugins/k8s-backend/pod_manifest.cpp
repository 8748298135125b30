// Building executor pods.
#include "pod_manifest.hpp"

#include <cctype>
#include <functional>

#include "common/stable_hash.hpp"
#include "kube_quantity.hpp"
#include "pod_view.hpp"

namespace sched::backend::k8s {
namespace {

using nlohmann::json;

std::string short_hash(const std::string& s) {
  return hex16(fnv1a(s)).substr(0, 10);
}

bool is_label_value(const std::string& s) {
  if (s.size() > 63) return false;
  if (s.empty()) return true;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

const char* const kKnownOptions[] = {"k8s.ownerApiVersion", "k8s.ownerKind",      "k8s.ownerName",
                                     "k8s.ownerUid",        "k8s.serviceAccount", "k8s.imagePullPolicy"};

// Merges `extra` (a string map) into the object at `into`.
void merge_map(json& into, const std::map<std::string, std::string>& extra) {
  if (!into.is_object()) into = json::object();
  for (const auto& [k, v] : extra) into[k] = v;
}

}  // namespace

std::string pod_name(const std::string& instance_id, const std::string& executor_id) {
  std::string id;
  bool changed = false;
  for (char c : executor_id) {
    const auto u = static_cast<unsigned char>(c);
    if (std::islower(u) || std::isdigit(u) || c == '-') {
      id += c;
    } else if (std::isupper(u)) {
      id += static_cast<char>(std::tolower(u));
      changed = true;
    } else {
      id += '-';
      changed = true;
    }
  }
  std::string base = instance_id + "-" + id;
  for (char& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (base.size() > 200) {
    base.resize(200);
    changed = true;
  }
  if (changed) base += "-" + short_hash(executor_id);
  while (!base.empty() && base.back() == '-') base.pop_back();
  return base;
}

std::string label_value(const std::string& text) {
  if (is_label_value(text)) return text;
  std::string readable;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    readable += std::isalnum(u) || c == '-' || c == '_' || c == '.' ? c : '.';
    if (readable.size() >= 40) break;
  }
  while (!readable.empty() && !std::isalnum(static_cast<unsigned char>(readable.front()))) readable.erase(0, 1);
  while (!readable.empty() && !std::isalnum(static_cast<unsigned char>(readable.back()))) readable.pop_back();
  return (readable.empty() ? "x" : readable) + "-h" + short_hash(text);
}

json cpu_memory_quantities(const core::Resources& resources) {
  json amounts = json::object();
  if (resources[core::kCpu] > 0) amounts["cpu"] = base_to_kube_quantity(core::kCpu, resources[core::kCpu]);
  if (resources[core::kMemory] > 0) amounts["memory"] = base_to_kube_quantity(core::kMemory, resources[core::kMemory]);
  return amounts;
}

Result<json> build_pod(const LaunchRequest& req, const K8sBackendConfig& config, const std::string& ns,
                       const std::string& instance_id, const std::string& node) {
  for (const auto& [k, v] : req.backend_options) {
    if (k.rfind("k8s.", 0) != 0) continue;  // another backend's
    bool known = false;
    for (const char* o : kKnownOptions) known = known || k == o;
    if (!known) {
      std::string list;
      for (const char* o : kKnownOptions) list += (list.empty() ? "" : ", ") + std::string(o);
      return Status::invalid_argument("unknown backend option '" + k + "' (known: " + list + ")");
    }
  }
  auto opt = [&](const char* k) -> std::string {
    auto it = req.backend_options.find(k);
    return it == req.backend_options.end() ? std::string() : it->second;
  };
  if (req.command.empty()) return Status::invalid_argument("the launch spec has no command");

  json pod = config.pod_template.is_object() ? config.pod_template : json::object();
  pod["apiVersion"] = "v1";
  pod["kind"] = "Pod";
  json& meta = pod["metadata"];
  if (!meta.is_object()) meta = json::object();
  meta.erase("generateName");
  meta.erase("resourceVersion");
  meta.erase("uid");
  meta["name"] = pod_name(instance_id, req.executor_id);
  meta["namespace"] = ns;
  std::string consumer_label = req.consumer;
  if (!consumer_label.empty() && consumer_label[0] == '/') consumer_label.erase(0, 1);
  for (char& c : consumer_label)
    if (c == '/') c = '.';
  merge_map(meta["labels"], {{kInstanceLabel, instance_id},
                             {kExecutorLabel, label_value(req.executor_id)},
                             {kSessionLabel, label_value(req.session_id)},
                             {kConsumerLabel, label_value(consumer_label.empty() ? "root" : consumer_label)},
                             {"spark-role", "executor"}});
  merge_map(meta["annotations"], {{kExecutorIdAnnotation, req.executor_id},
                                  {kSessionIdAnnotation, req.session_id},
                                  {kConsumerAnnotation, req.consumer}});
  const std::string owner_name = opt("k8s.ownerName");
  const std::string owner_uid = opt("k8s.ownerUid");
  if (!owner_name.empty() || !owner_uid.empty()) {
    if (owner_name.empty() || owner_uid.empty()) {
      return Status::invalid_argument("backend options k8s.ownerName and k8s.ownerUid go together");
    }
    const std::string api = opt("k8s.ownerApiVersion").empty() ? "v1" : opt("k8s.ownerApiVersion");
    const std::string kind = opt("k8s.ownerKind").empty() ? "Pod" : opt("k8s.ownerKind");
    meta["ownerReferences"] = json::array({{{"apiVersion", api},
                                            {"kind", kind},
                                            {"name", owner_name},
                                            {"uid", owner_uid},
                                            {"controller", true},
                                            {"blockOwnerDeletion", false}}});
  }

  json& spec = pod["spec"];
  if (!spec.is_object()) spec = json::object();
  spec["restartPolicy"] = "Never";  // a failed executor is the daemon's to replace, not the kubelet's
  if (!node.empty()) spec["nodeName"] = node;
  const std::string sa = opt("k8s.serviceAccount").empty() ? config.service_account : opt("k8s.serviceAccount");
  if (!sa.empty()) spec["serviceAccountName"] = sa;
  std::map<std::string, std::string> selector;
  json tolerations = json::array();
  if (const ConsumerPodRules* r = rules_for(config, req.consumer)) {
    selector = r->node_selector;
    tolerations = r->tolerations;
  }
  if (!selector.empty()) merge_map(spec["nodeSelector"], selector);
  if (!tolerations.empty()) {
    json& t = spec["tolerations"];
    if (!t.is_array()) t = json::array();
    for (const json& x : tolerations) t.push_back(x);
  }

  json& containers = spec["containers"];
  if (!containers.is_array()) containers = json::array();
  json* c = nullptr;
  for (json& x : containers)
    if (x.is_object() && x.value("name", "") == kExecutorContainer) c = &x;
  if (c == nullptr) {
    containers.insert(containers.begin(), json{{"name", kExecutorContainer}});
    c = &containers[0];
  }
  const std::string image = !req.image.empty() ? req.image : c->value("image", config.image);
  if (image.empty()) {
    return Status::invalid_argument(
        "no executor image: set backend.k8s.image, the pod template's executor container image, or the session's "
        "launch image");
  }
  (*c)["image"] = image;
  const std::string pull = opt("k8s.imagePullPolicy");
  if (!pull.empty())
    (*c)["imagePullPolicy"] = pull;
  else if (!c->contains("imagePullPolicy"))
    (*c)["imagePullPolicy"] = config.image_pull_policy;
  (*c)["command"] = req.command;
  (*c)["args"] = json::array();
  if (!req.working_dir.empty()) (*c)["workingDir"] = req.working_dir;
  json& env = (*c)["env"];
  if (!env.is_array()) env = json::array();
  for (const auto& [k, v] : req.env) {
    // The launch spec wins over the template's variable of the same name.
    for (auto it = env.begin(); it != env.end();) it = it->value("name", "") == k ? env.erase(it) : it + 1;
    env.push_back({{"name", k}, {"value", v}});
  }
  env.push_back({{"name", "SESSIOND_EXECUTOR_ID"}, {"value", req.executor_id}});
  env.push_back({{"name", "SESSIOND_SESSION_ID"}, {"value", req.session_id}});
  env.push_back({{"name", "SESSIOND_SLOTS"}, {"value", std::to_string(req.slots)}});
  json amounts = cpu_memory_quantities(req.resources);
  if (req.resources[core::kGpu] > 0) {
    if (req.resources[core::kGpu] % 1000 != 0) {
      return Status::invalid_argument("Kubernetes cannot give a fraction of a GPU (" +
                                      std::to_string(req.resources[core::kGpu]) + " milli-GPUs asked)");
    }
    amounts[config.gpu_resource] = std::to_string(req.resources[core::kGpu] / 1000);
  }
  json& res = (*c)["resources"];
  if (!res.is_object()) res = json::object();
  // requests = limits: the Guaranteed QoS class, so an executor is never the
  // first evicted under memory pressure and gets the CPU it was granted.
  merge_map(res["requests"], {});
  merge_map(res["limits"], {});
  for (const auto& [k, v] : amounts.items()) {
    res["requests"][k] = v;
    res["limits"][k] = v;
  }
  return pod;
}

}  // namespace sched::backend::k8s
