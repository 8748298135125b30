// Reading `backend.k8s`, kubeconfig files and the in-cluster service account.
#include "k8s_config.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/yaml_fields.hpp"
#include "kube_quantity.hpp"

namespace sched::backend::k8s {
namespace {

using config::FieldPath;
using nlohmann::json;

constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

Result<std::map<std::string, std::string>> read_string_map(const FieldPath& ctx, const YAML::Node& n) {
  std::map<std::string, std::string> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsMap()) return ctx.error(n, "expected a map of labels, like {disktype: ssd}");
  for (const auto& kv : n) {
    auto k = config::read_key(ctx, kv.first);
    if (!k) return k.status();
    auto v = config::read_string(ctx / *k, kv.second);
    if (!v) return v.status();
    out[*k] = *v;
  }
  return out;
}

Result<json> read_tolerations(const FieldPath& ctx, const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return json::array();
  if (!n.IsSequence()) return ctx.error(n, "expected a list of tolerations, like [{key: gpu, operator: Exists}]");
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsMap()) return ctx[i].error(n[i], "expected a toleration map");
    SCHED_RETURN_IF_ERROR(
        config::check_keys(ctx[i], n[i], {"key", "operator", "value", "effect", "tolerationSeconds"}));
  }
  return yaml_to_json(n);
}

std::string base64_decode(const std::string& in, bool* ok) {
  std::string clean;
  for (char c : in)
    if (c != '\n' && c != '\r' && c != ' ') clean += c;
  std::string out(clean.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  *ok = n >= 0 && clean.size() % 4 == 0;
  if (!*ok) return {};
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (!clean.empty() && clean.back() == '=') --len;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

// A kubeconfig field given as a file (relative to the kubeconfig) or inline
// base64 data.
Result<std::string> file_or_data(const YAML::Node& n, const std::string& file_key, const std::string& data_key,
                                 const std::string& base_dir, const std::string& what) {
  if (n[data_key]) {
    bool ok = false;
    std::string v = base64_decode(n[data_key].as<std::string>(), &ok);
    if (!ok) return Status::invalid_argument(what + ": " + data_key + " is not base64");
    return v;
  }
  if (n[file_key]) {
    std::string p = n[file_key].as<std::string>();
    if (!p.empty() && p[0] != '/') p = base_dir + "/" + p;
    return config::read_text_file(p, what);
  }
  return std::string();
}

const YAML::Node find_named(const YAML::Node& list, const std::string& name, const char* inner) {
  if (list.IsSequence()) {
    for (const auto& e : list)
      if (e["name"] && e["name"].as<std::string>() == name) return e[inner];
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

Result<ApiEndpoint> from_kubeconfig(const std::string& path, const std::string& context_name) {
  auto text = config::read_text_file(path, "kubeconfig");
  if (!text) return text.status();
  auto doc = config::load_yaml(*text, path);
  if (!doc) return doc.status();
  try {
    const YAML::Node& root = *doc;
    std::string ctx_name = context_name;
    if (ctx_name.empty() && root["current-context"]) ctx_name = root["current-context"].as<std::string>();
    if (ctx_name.empty()) return Status::invalid_argument(path + ": no current-context and no context configured");
    const YAML::Node ctx = find_named(root["contexts"], ctx_name, "context");
    if (!ctx.IsDefined()) return Status::invalid_argument(path + ": no context '" + ctx_name + "'");
    const std::string cluster_name = ctx["cluster"] ? ctx["cluster"].as<std::string>() : "";
    const std::string user_name = ctx["user"] ? ctx["user"].as<std::string>() : "";
    const YAML::Node cluster = find_named(root["clusters"], cluster_name, "cluster");
    if (!cluster.IsDefined()) return Status::invalid_argument(path + ": no cluster '" + cluster_name + "'");
    const YAML::Node user = find_named(root["users"], user_name, "user");
    const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));

    ApiEndpoint e;
    if (!cluster["server"]) return Status::invalid_argument(path + ": cluster '" + cluster_name + "' has no server");
    e.server = cluster["server"].as<std::string>();
    while (!e.server.empty() && e.server.back() == '/') e.server.pop_back();
    e.insecure = cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
    auto ca = file_or_data(cluster, "certificate-authority", "certificate-authority-data", dir, "cluster CA");
    if (!ca) return ca.status();
    e.ca_pem = *ca;
    if (user.IsDefined() && user.IsMap()) {
      if (user["exec"] || user["auth-provider"]) {
        return Status::invalid_argument(path + ": user '" + user_name +
                                        "' authenticates through an exec plugin or auth provider, which sessiond "
                                        "does not run; give a token, token file or client certificate");
      }
      if (user["token"]) e.token = user["token"].as<std::string>();
      if (user["tokenFile"]) e.token_file = user["tokenFile"].as<std::string>();
      auto cert = file_or_data(user, "client-certificate", "client-certificate-data", dir, "client certificate");
      if (!cert) return cert.status();
      auto key = file_or_data(user, "client-key", "client-key-data", dir, "client key");
      if (!key) return key.status();
      e.client_cert_pem = *cert;
      e.client_key_pem = *key;
    }
    if (ctx["namespace"]) e.ns = ctx["namespace"].as<std::string>();
    return e;
  } catch (const YAML::Exception& ex) {
    return Status::invalid_argument(path + ": " + ex.what());
  }
}

}  // namespace

json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) a.push_back(yaml_to_json(e));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
        char* end = nullptr;
        const long long i = std::strtoll(s.c_str(), &end, 10);
        if (*end == '\0') return i;
        const double d = std::strtod(s.c_str(), &end);
        if (*end == '\0') return d;
      }
      return s;
    }
    default:
      return nullptr;
  }
}

Result<K8sBackendConfig> read_k8s_backend_config(const YAML::Node* section, const std::string& source) {
  const FieldPath ctx{&source, "backend.k8s"};
  K8sBackendConfig out;
  const YAML::Node n = section != nullptr ? *section : YAML::Node();
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsMap()) return ctx.error(n, "expected a map");
  SCHED_RETURN_IF_ERROR(config::check_keys(ctx, n,
                                           {"kubeconfig",
                                            "context",
                                            "namespace",
                                            "capacity",
                                            "node_selector",
                                            "count_other_pods",
                                            "pool",
                                            "quota",
                                            "pool_host",
                                            "image",
                                            "image_pull_policy",
                                            "service_account",
                                            "pod_template",
                                            "consumers",
                                            "pending_timeout",
                                            "orphan_grace",
                                            "delete_ended_pods",
                                            "qps",
                                            "burst",
                                            "request_workers",
                                            "watch_timeout",
                                            "request_retry_budget",
                                            "gpu_resource"}));
  auto str = [&](const char* key, std::string* into) -> Status {
    if (!n[key]) return Status::ok();
    auto v = config::read_string(ctx / key, n[key]);
    if (!v) return v.status();
    *into = *v;
    return Status::ok();
  };
  SCHED_RETURN_IF_ERROR(str("kubeconfig", &out.kubeconfig));
  SCHED_RETURN_IF_ERROR(str("context", &out.context));
  SCHED_RETURN_IF_ERROR(str("namespace", &out.ns));
  SCHED_RETURN_IF_ERROR(str("quota", &out.quota));
  SCHED_RETURN_IF_ERROR(str("pool_host", &out.pool_host));
  SCHED_RETURN_IF_ERROR(str("image", &out.image));
  SCHED_RETURN_IF_ERROR(str("image_pull_policy", &out.image_pull_policy));
  SCHED_RETURN_IF_ERROR(str("service_account", &out.service_account));
  SCHED_RETURN_IF_ERROR(str("pod_template", &out.pod_template_path));
  SCHED_RETURN_IF_ERROR(str("gpu_resource", &out.gpu_resource));
  if (out.image_pull_policy != "Always" && out.image_pull_policy != "IfNotPresent" &&
      out.image_pull_policy != "Never") {
    return (ctx / "image_pull_policy").error(n["image_pull_policy"], "expected Always, IfNotPresent or Never");
  }
  if (n["capacity"]) {
    auto v = config::read_string(ctx / "capacity", n["capacity"]);
    if (!v) return v.status();
    if (*v == "nodes")
      out.capacity = CapacityMode::kNodes;
    else if (*v == "pool")
      out.capacity = CapacityMode::kPool;
    else
      return (ctx / "capacity").error(n["capacity"], "expected nodes or pool, not '" + *v + "'");
  }
  auto sel = read_string_map(ctx / "node_selector", n["node_selector"]);
  if (!sel) return sel.status();
  out.node_selector = *sel;
  if (n["count_other_pods"]) {
    auto b = config::read_bool(ctx / "count_other_pods", n["count_other_pods"]);
    if (!b) return b.status();
    out.count_other_pods = *b;
  }
  if (n["delete_ended_pods"]) {
    auto b = config::read_bool(ctx / "delete_ended_pods", n["delete_ended_pods"]);
    if (!b) return b.status();
    out.delete_ended_pods = *b;
  }
  if (n["pool"] && !n["pool"].IsNull() && !(n["pool"].IsMap() && n["pool"].size() == 0)) {
    auto v = config::read_vector(ctx / "pool", n["pool"]);
    if (!v) return v.status();
    out.pool = *v;
  }
  if (out.capacity == CapacityMode::kPool && out.pool.is_zero() && out.quota.empty()) {
    return (ctx / "capacity").error(n["capacity"], "pool mode needs pool (a resource map) or quota (a ResourceQuota)");
  }
  if (!out.pool.is_zero() && !out.quota.empty()) {
    return (ctx / "quota").error(n["quota"], "give pool or quota, not both");
  }
  auto dur = [&](const char* key, std::chrono::milliseconds* into) -> Status {
    if (!n[key]) return Status::ok();
    auto d = config::read_duration(ctx / key, n[key]);
    if (!d) return d.status();
    *into = std::chrono::milliseconds(*d);
    return Status::ok();
  };
  SCHED_RETURN_IF_ERROR(dur("pending_timeout", &out.pending_timeout));
  SCHED_RETURN_IF_ERROR(dur("orphan_grace", &out.orphan_grace));
  SCHED_RETURN_IF_ERROR(dur("request_retry_budget", &out.request_retry_budget));
  std::chrono::milliseconds watch{out.watch_timeout};
  SCHED_RETURN_IF_ERROR(dur("watch_timeout", &watch));
  if (watch < std::chrono::seconds(5)) return (ctx / "watch_timeout").error(n["watch_timeout"], "must be at least 5s");
  out.watch_timeout = std::chrono::duration_cast<std::chrono::seconds>(watch);
  for (const char* key : {"qps", "burst"}) {
    if (!n[key]) continue;
    auto v = config::read_number(ctx / key, n[key]);
    if (!v) return v.status();
    if (*v <= 0) return (ctx / key).error(n[key], "must be above 0");
    (std::string(key) == "qps" ? out.qps : out.burst) = *v;
  }
  if (n["request_workers"]) {
    auto v = config::read_int(ctx / "request_workers", n["request_workers"]);
    if (!v) return v.status();
    if (*v < 1 || *v > 64) return (ctx / "request_workers").error(n["request_workers"], "must be 1 to 64");
    out.request_workers = *v;
  }
  if (n["consumers"] && !n["consumers"].IsNull()) {
    const YAML::Node& cs = n["consumers"];
    if (!cs.IsMap()) return (ctx / "consumers").error(cs, "expected a map from consumer path to pod rules");
    for (const auto& kv : cs) {
      auto path = config::read_key(ctx / "consumers", kv.first);
      if (!path) return path.status();
      const FieldPath cctx = ctx / "consumers" / *path;
      if (path->empty() || (*path)[0] != '/') return cctx.error(kv.first, "a consumer path starts with '/'");
      if (!kv.second.IsMap()) return cctx.error(kv.second, "expected {node_selector: ..., tolerations: [...]}");
      SCHED_RETURN_IF_ERROR(config::check_keys(cctx, kv.second, {"node_selector", "tolerations"}));
      ConsumerPodRules r;
      r.prefix = *path;
      while (r.prefix.size() > 1 && r.prefix.back() == '/') r.prefix.pop_back();
      auto s = read_string_map(cctx / "node_selector", kv.second["node_selector"]);
      if (!s) return s.status();
      r.node_selector = *s;
      auto t = read_tolerations(cctx / "tolerations", kv.second["tolerations"]);
      if (!t) return t.status();
      r.tolerations = *t;
      out.consumers.push_back(std::move(r));
    }
  }
  if (!out.pod_template_path.empty()) {
    auto text = config::read_text_file(out.pod_template_path, "pod template");
    if (!text) return (ctx / "pod_template").error(n["pod_template"], text.status().message());
    auto doc = config::load_yaml(*text, out.pod_template_path);
    if (!doc) return doc.status();
    json t = yaml_to_json(*doc);
    if (!t.is_object() || (t.contains("kind") && t["kind"] != "Pod")) {
      return (ctx / "pod_template").error(n["pod_template"], out.pod_template_path + " is not a Pod");
    }
    if (t.contains("spec") && !t["spec"].is_object()) {
      return (ctx / "pod_template").error(n["pod_template"], out.pod_template_path + ": spec is not a map");
    }
    out.pod_template = std::move(t);
  }
  return out;
}

const ConsumerPodRules* rules_for(const K8sBackendConfig& config, const std::string& consumer) {
  const ConsumerPodRules* best = nullptr;
  for (const auto& r : config.consumers) {
    const bool under = r.prefix == "/" || consumer == r.prefix ||
                       (consumer.size() > r.prefix.size() && consumer.compare(0, r.prefix.size(), r.prefix) == 0 &&
                        consumer[r.prefix.size()] == '/');
    if (under && (best == nullptr || r.prefix.size() > best->prefix.size())) best = &r;
  }
  return best;
}

Result<ApiEndpoint> resolve_endpoint(const K8sBackendConfig& config) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  if (config.kubeconfig.empty() && host != nullptr && *host != '\0') {
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    ApiEndpoint e;
    std::string h = host;
    if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
    e.server = "https://" + h + ":" + (port != nullptr && *port != '\0' ? port : "443");
    auto ca = config::read_text_file(std::string(kServiceAccountDir) + "/ca.crt", "service account CA");
    if (!ca) return ca.status();
    e.ca_pem = *ca;
    e.token_file = std::string(kServiceAccountDir) + "/token";
    auto ns = config::read_text_file(std::string(kServiceAccountDir) + "/namespace", "service account namespace");
    if (ns) e.ns = *ns;
    return e;
  }
  std::string path = config.kubeconfig;
  if (path.empty()) {
    const char* env = std::getenv("KUBECONFIG");
    const char* home = std::getenv("HOME");
    if (env != nullptr && *env != '\0') {
      path = env;
      if (path.find(':') != std::string::npos) path.resize(path.find(':'));
    } else if (home != nullptr) {
      path = std::string(home) + "/.kube/config";
    }
  }
  if (path.empty()) {
    return Status::invalid_argument("backend.k8s: no kubeconfig given, KUBECONFIG unset and not running in a cluster");
  }
  return from_kubeconfig(path, config.context);
}

}  // namespace sched::backend::k8s
