// The `backend.k8s` section of sessiond's configuration, and where the API
// server is and how to authenticate to it (kubeconfig or the in-cluster
// service account).
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "core/resources.hpp"

namespace YAML {
class Node;
}

namespace sched::backend::k8s {

// Node selector and tolerations for the pods of one consumer subtree.
struct ConsumerPodRules {
  std::string prefix;  // "/gpu-team"; the longest matching prefix wins
  std::map<std::string, std::string> node_selector;
  nlohmann::json tolerations = nlohmann::json::array();
};

enum class CapacityMode : std::uint8_t {
  kNodes,  // every (selected) node is a host: allocatable minus other pods' requests
  kPool,   // one host: a fixed pool or a namespace's ResourceQuota; Kubernetes places the pods
};

// See plugins/k8s-backend/README.md for each field.
struct K8sBackendConfig {
  std::string kubeconfig;  // empty: in-cluster, else $KUBECONFIG, else ~/.kube/config
  std::string context;     // kubeconfig context; empty: current-context
  std::string ns;          // executor namespace; empty: the service account's, else "default"
  CapacityMode capacity = CapacityMode::kNodes;
  std::map<std::string, std::string> node_selector;
  bool count_other_pods = true;
  core::Resources pool;
  std::string quota;
  std::string pool_host = "pool";
  std::string image;
  std::string image_pull_policy = "IfNotPresent";
  std::string service_account;
  std::string pod_template_path;
  nlohmann::json pod_template;  // null when none
  std::vector<ConsumerPodRules> consumers;
  std::chrono::milliseconds pending_timeout{5 * 60 * 1000};
  std::chrono::milliseconds orphan_grace{2000};
  bool delete_ended_pods = true;
  double qps = 50;
  double burst = 100;
  int request_workers = 4;
  std::chrono::seconds watch_timeout{300};
  std::chrono::milliseconds request_retry_budget{60000};
  std::string gpu_resource = "nvidia.com/gpu";
};

Result<K8sBackendConfig> read_k8s_backend_config(const YAML::Node* section, const std::string& source);

// The rules for `consumer` (longest prefix on a path boundary), or null.
const ConsumerPodRules* rules_for(const K8sBackendConfig& config, const std::string& consumer);

// Where the API server is and who we are to it.
struct ApiEndpoint {
  std::string server;  // https://10.0.0.1:443
  std::string ca_pem;  // empty: the system's trust store
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;       // a bearer token, or
  std::string token_file;  // one re-read as it rotates (projected service-account tokens)
  bool insecure = false;   // insecure-skip-tls-verify
  std::string ns;          // the namespace the kubeconfig context or service account names
};

// In-cluster when `kubeconfig` is empty and KUBERNETES_SERVICE_HOST is set;
// otherwise the kubeconfig file ($KUBECONFIG, ~/.kube/config by default).
Result<ApiEndpoint> resolve_endpoint(const K8sBackendConfig& config);

// YAML to JSON with scalar types guessed as Kubernetes' YAML does (quoted
// stays a string; true/false, numbers and null become themselves).
nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace sched::backend::k8s
