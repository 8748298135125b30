// The Kubernetes backend's pure parts: quantities, reading nodes and pods,
// building executor pods, request pacing and the configuration section.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>

#include "k8s_config.hpp"
#include "kube_quantity.hpp"
#include "node_view.hpp"
#include "pod_manifest.hpp"
#include "pod_view.hpp"
#include "request_pacing.hpp"

namespace sched::backend::k8s {
namespace {

using nlohmann::json;

TEST(KubeQuantity, ReadsEverySuffix) {
  EXPECT_EQ(*kube_quantity_to_base(core::kCpu, "500m", Rounding::kDown), 500);
  EXPECT_EQ(*kube_quantity_to_base(core::kCpu, "4", Rounding::kDown), 4000);
  EXPECT_EQ(*kube_quantity_to_base(core::kCpu, "0.1", Rounding::kDown), 100);
  EXPECT_EQ(*kube_quantity_to_base(core::kCpu, "1e3", Rounding::kDown), 1000000);
  EXPECT_EQ(*kube_quantity_to_base(core::kMemory, "4Gi", Rounding::kDown), 4096);
  EXPECT_EQ(*kube_quantity_to_base(core::kMemory, "16393216Ki", Rounding::kDown), 16009);
  EXPECT_EQ(*kube_quantity_to_base(core::kMemory, "1G", Rounding::kDown), 953);
  EXPECT_EQ(*kube_quantity_to_base(core::kMemory, "1G", Rounding::kUp), 954);
  EXPECT_EQ(*kube_quantity_to_base(core::kMemory, "1073741824", Rounding::kDown), 1024);
  EXPECT_FALSE(kube_quantity_to_base(core::kCpu, "4 cores", Rounding::kDown).is_ok());
  EXPECT_FALSE(kube_quantity_to_base(core::kCpu, "", Rounding::kDown).is_ok());
  EXPECT_FALSE(kube_quantity_to_base(core::kCpu, "-1", Rounding::kDown).is_ok());
  EXPECT_EQ(base_to_kube_quantity(core::kCpu, 1500), "1500m");
  EXPECT_EQ(base_to_kube_quantity(core::kCpu, 2000), "2");
  EXPECT_EQ(base_to_kube_quantity(core::kMemory, 8192), "8192Mi");
}

json node_json(bool unschedulable, const char* ready) {
  return json::parse(R"({"metadata":{"name":"n1","labels":{"zone":"a"}},
    "spec":{"unschedulable":)" +
                     std::string(unschedulable ? "true" : "false") + R"(},
    "status":{"allocatable":{"cpu":"7800m","memory":"30Gi","nvidia.com/gpu":"2","pods":"110"},
              "conditions":[{"type":"Ready","status":")" +
                     ready + R"("}]}})");
}

TEST(NodeView, ReadsAllocatableCordonAndReadiness) {
  auto n = read_node(node_json(false, "True"), ResourceNames{});
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(n->name, "n1");
  EXPECT_EQ(n->allocatable[core::kCpu], 7800);
  EXPECT_EQ(n->allocatable[core::kMemory], 30 * 1024);
  EXPECT_EQ(n->allocatable[core::kGpu], 2000);
  EXPECT_FALSE(n->closed());
  EXPECT_TRUE(read_node(node_json(true, "True"), ResourceNames{})->closed());
  auto not_ready = read_node(node_json(false, "False"), ResourceNames{});
  EXPECT_TRUE(not_ready->closed());
  EXPECT_EQ(not_ready->why_closed(), "node not Ready");
  EXPECT_FALSE(read_node(json::object(), ResourceNames{}).is_ok());
}

TEST(NodeView, PodRequestsCountInitContainersAndLimits) {
  const json pod = json::parse(R"({"spec":{
    "containers":[{"resources":{"requests":{"cpu":"250m","memory":"1Gi"}}},
                  {"resources":{"limits":{"cpu":"1","memory":"512Mi"}}}],
    "initContainers":[{"resources":{"requests":{"cpu":"2"}}}],
    "overhead":{"memory":"100Mi"}}})");
  const core::Resources r = pod_requests(pod, ResourceNames{});
  EXPECT_EQ(r[core::kCpu], 2000);           // the init container's 2 cores beat 1.25
  EXPECT_EQ(r[core::kMemory], 1536 + 100);  // limits stand in for missing requests
}

TEST(PodView, ReadsTheExecutorContainersRequests) {
  // A resize changes the spec's requests; adoption compares them with the
  // executor's slots. Only the executor container counts.
  PodView v = read_pod(json::parse(R"({"metadata":{"name":"p"},"spec":{"containers":[
      {"name":"sidecar","resources":{"requests":{"cpu":"7","memory":"7Gi"}}},
      {"name":"executor","resources":{"requests":{"cpu":"1500m","memory":"3Gi","nvidia.com/gpu":"1"},
                                      "limits":{"cpu":"1500m","memory":"3Gi"}}}]}})"));
  EXPECT_EQ(v.requests[core::kCpu], 1500);
  EXPECT_EQ(v.requests[core::kMemory], 3072);
  EXPECT_EQ(v.requests[core::kGpu], 0);
  PodView none = read_pod(json::parse(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"executor"}]}})"));
  EXPECT_TRUE(none.requests.is_zero());
}

TEST(PodView, ClassifiesPhasesAndReasons) {
  auto pod = [](const std::string& status) {
    return json::parse(R"({"metadata":{"name":"p","uid":"u","labels":{"session-scheduler.io/instance":"sd-1"},
      "annotations":{"session-scheduler.io/executor-id":"app-1-3"}},"spec":{"nodeName":"n1"},"status":)" +
                       status + "}");
  };
  PodView running =
      read_pod(pod(R"({"phase":"Running","containerStatuses":[{"name":"executor","state":{"running":{}}}]})"));
  EXPECT_EQ(running.phase, PodPhase::kRunning);
  EXPECT_EQ(running.executor_id, "app-1-3");
  EXPECT_EQ(running.instance, "sd-1");
  EXPECT_EQ(running.node, "n1");

  PodView oom = read_pod(pod(
      R"({"phase":"Failed","containerStatuses":[{"name":"executor","state":{"terminated":{"exitCode":137,"reason":"OOMKilled"}}}]})"));
  EXPECT_EQ(oom.phase, PodPhase::kFailed);
  EXPECT_EQ(oom.exit_code, 137);
  EXPECT_EQ(oom.describe(), "OOMKilled (exit 137)");

  PodView evicted =
      read_pod(pod(R"({"phase":"Failed","reason":"Evicted","message":"The node was low on resource: memory."})"));
  EXPECT_EQ(evicted.describe(), "Evicted: The node was low on resource: memory.");

  PodView unschedulable = read_pod(pod(
      R"({"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/3 nodes"}]})"));
  EXPECT_EQ(unschedulable.phase, PodPhase::kPending);
  EXPECT_EQ(unschedulable.reason, "Unschedulable");

  PodView pulling = read_pod(pod(
      R"({"phase":"Pending","containerStatuses":[{"name":"executor","state":{"waiting":{"reason":"ImagePullBackOff"}}}]})"));
  EXPECT_EQ(pulling.reason, "ImagePullBackOff");

  // The container ended while the pod still says Running.
  PodView ended = read_pod(pod(
      R"({"phase":"Running","containerStatuses":[{"name":"executor","state":{"terminated":{"exitCode":1,"reason":"Error"}}}]})"));
  EXPECT_EQ(ended.phase, PodPhase::kFailed);
}

LaunchRequest request() {
  LaunchRequest r;
  r.executor_id = "app-7_X-1";
  r.session_id = "app-7_X";
  r.consumer = "/bank/risk";
  r.host = "node-3";
  r.slots = 2;
  r.resources = core::Resources::cpu_mem(2000, 8192);
  r.command = {"/opt/spark/bin/executor", "--cores", "2"};
  r.env = {{"SPARK_EXECUTOR_ID", "1"}};
  return r;
}

TEST(PodManifest, BuildsAGuaranteedPodBoundToItsNode) {
  K8sBackendConfig c;
  c.image = "spark-executor:4";
  auto pod = build_pod(request(), c, "spark", "sd-abc", "node-3");
  ASSERT_TRUE(pod.is_ok()) << pod.status().message();
  const json& p = *pod;
  const std::string name = p["metadata"]["name"];
  EXPECT_EQ(name.rfind("sd-abc-app-7-x-1-", 0), 0U) << name;  // changed to fit: a hash keeps it unique
  EXPECT_NE(name, pod_name("sd-abc", "app-7_x-1"));
  EXPECT_EQ(p["metadata"]["namespace"], "spark");
  EXPECT_EQ(p["metadata"]["labels"][kInstanceLabel], "sd-abc");
  EXPECT_EQ(p["metadata"]["labels"][kConsumerLabel], "bank.risk");
  EXPECT_EQ(p["metadata"]["annotations"][kExecutorIdAnnotation], "app-7_X-1");
  EXPECT_EQ(p["spec"]["nodeName"], "node-3");
  EXPECT_EQ(p["spec"]["restartPolicy"], "Never");
  const json& c0 = p["spec"]["containers"][0];
  EXPECT_EQ(c0["image"], "spark-executor:4");
  EXPECT_EQ(c0["resources"]["requests"], c0["resources"]["limits"]);
  EXPECT_EQ(c0["resources"]["requests"]["cpu"], "2");
  EXPECT_EQ(c0["resources"]["requests"]["memory"], "8192Mi");
  EXPECT_EQ(c0["command"][0], "/opt/spark/bin/executor");
}

TEST(PodManifest, LayersOverTheTemplateWithConsumerRulesAndOwner) {
  K8sBackendConfig c;
  c.pod_template = json::parse(R"({"metadata":{"labels":{"team":"x"}},
    "spec":{"priorityClassName":"spark","containers":[{"name":"sidecar","image":"log:1"},
            {"name":"executor","image":"tmpl:1","env":[{"name":"SPARK_EXECUTOR_ID","value":"old"},{"name":"A","value":"b"}]}]}})");
  ConsumerPodRules rules;
  rules.prefix = "/bank";
  rules.node_selector = {{"pool", "bank"}};
  rules.tolerations = json::parse(R"([{"key":"bank","operator":"Exists","effect":"NoSchedule"}])");
  c.consumers.push_back(rules);
  LaunchRequest r = request();
  r.resources[core::kGpu] = 1000;
  r.backend_options = {{"k8s.ownerName", "driver-0"}, {"k8s.ownerUid", "1234"}, {"other.x", "ignored"}};
  auto pod = build_pod(r, c, "spark", "sd-abc", "");
  ASSERT_TRUE(pod.is_ok()) << pod.status().message();
  const json& p = *pod;
  EXPECT_EQ(p["metadata"]["labels"]["team"], "x");
  EXPECT_EQ(p["spec"]["priorityClassName"], "spark");
  EXPECT_FALSE(p["spec"].contains("nodeName"));  // pool mode: Kubernetes places it
  EXPECT_EQ(p["spec"]["nodeSelector"]["pool"], "bank");
  EXPECT_EQ(p["spec"]["tolerations"][0]["key"], "bank");
  EXPECT_EQ(p["metadata"]["ownerReferences"][0]["kind"], "Pod");
  EXPECT_EQ(p["metadata"]["ownerReferences"][0]["uid"], "1234");
  const json& exec = p["spec"]["containers"][1];
  EXPECT_EQ(exec["name"], "executor");
  EXPECT_EQ(exec["image"], "tmpl:1");
  EXPECT_EQ(exec["resources"]["limits"]["nvidia.com/gpu"], "1");
  int ids = 0;
  for (const json& e : exec["env"])
    if (e["name"] == "SPARK_EXECUTOR_ID") {
      ++ids;
      EXPECT_EQ(e["value"], "1");
    }
  EXPECT_EQ(ids, 1);
}

TEST(PodManifest, RejectsWhatKubernetesCannotRun) {
  K8sBackendConfig c;
  LaunchRequest r = request();
  auto no_image = build_pod(r, c, "ns", "sd", "n");
  ASSERT_FALSE(no_image.is_ok());
  EXPECT_NE(no_image.status().message().find("no executor image"), std::string::npos);
  c.image = "img";
  r.backend_options = {{"k8s.ownr", "x"}};
  auto unknown = build_pod(r, c, "ns", "sd", "n");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("unknown backend option 'k8s.ownr'"), std::string::npos);
  r.backend_options.clear();
  r.resources[core::kGpu] = 500;
  EXPECT_FALSE(build_pod(r, c, "ns", "sd", "n").is_ok());
}

TEST(PodManifest, LabelValuesAlwaysValid) {
  EXPECT_EQ(label_value("app-1"), "app-1");
  const std::string long_id(100, 'a');
  const std::string v = label_value(long_id);
  EXPECT_LE(v.size(), 63U);
  EXPECT_NE(label_value("a/b"), label_value("a.b"));
}

TEST(RequestPacing, TokenBucketHoldsTheRate) {
  TokenBucket bucket(10, 5);
  const auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(bucket.reserve(t0), Clock::duration::zero());
  // The sixth and seventh wait 100 ms and 200 ms.
  EXPECT_NEAR(std::chrono::duration<double>(bucket.reserve(t0)).count(), 0.1, 1e-6);
  EXPECT_NEAR(std::chrono::duration<double>(bucket.reserve(t0)).count(), 0.2, 1e-6);
  // A second later ten more tokens have come, minus the two borrowed.
  const auto t1 = t0 + std::chrono::seconds(1);
  int free = 0;
  while (bucket.reserve(t1) == Clock::duration::zero()) ++free;
  EXPECT_EQ(free, 5);  // capped at the burst
}

TEST(RequestPacing, BackoffGrowsWithJitterAndCap) {
  Backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 42);
  for (int i = 0; i < 8; ++i) {
    const auto w = b.next();
    const double top = std::min(100.0 * (1 << i), 1000.0);
    EXPECT_GE(w.count(), top / 2 - 1);
    EXPECT_LE(w.count(), top);
  }
  EXPECT_EQ(b.next(std::chrono::milliseconds(5000)).count(), 5000);  // Retry-After wins
}

Result<K8sBackendConfig> config_from(const std::string& text) {
  const YAML::Node n = YAML::Load(text);
  return read_k8s_backend_config(&n, "sessiond.yaml");
}

TEST(K8sConfig, ReadsAndValidates) {
  auto c = config_from(R"(
namespace: spark
capacity: nodes
node_selector: {pool: spark}
qps: 20
burst: 40
pending_timeout: 90s
consumers:
  /gpu: {node_selector: {gpu: "true"}, tolerations: [{key: gpu, operator: Exists}]}
  /gpu/vision: {node_selector: {gpu: a100}}
)");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->ns, "spark");
  EXPECT_EQ(c->qps, 20);
  EXPECT_EQ(c->pending_timeout, std::chrono::seconds(90));
  EXPECT_EQ(rules_for(*c, "/gpu/vision/alice")->node_selector.at("gpu"), "a100");
  EXPECT_EQ(rules_for(*c, "/gpu/nlp")->node_selector.at("gpu"), "true");
  EXPECT_EQ(rules_for(*c, "/gpux"), nullptr);

  auto bad = config_from("capacity: cloud\n");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("sessiond.yaml:1: backend.k8s.capacity: expected nodes or pool"),
            std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(config_from("capacity: pool\n").is_ok());  // neither pool nor quota
  EXPECT_FALSE(config_from("qps: 0\n").is_ok());
  auto twice = config_from("qps: 1\npending_timeout: 5m\nqps: 2\n");
  ASSERT_FALSE(twice.is_ok());
  EXPECT_NE(twice.status().message().find("sessiond.yaml:3: backend.k8s.qps: given twice (first on line 1)"),
            std::string::npos)
      << twice.status().message();
  EXPECT_FALSE(config_from("nodeselector: {}\n").is_ok());
  EXPECT_FALSE(config_from("consumers: {gpu: {}}\n").is_ok());
  EXPECT_FALSE(config_from("consumers: {/gpu: {tolerations: [{key: a, colour: red}]}}\n").is_ok());
}

TEST(K8sConfig, ReadsAKubeconfigWithInlineCredentials) {
  const std::string path = ::testing::TempDir() + "/kubeconfig-test";
  {
    std::ofstream out(path);
    out << R"(apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443/", certificate-authority-data: "LS0tLS1CRUdJTg=="}
users:
- name: u
  user: {token: secret-token}
contexts:
- name: test
  context: {cluster: c, user: u, namespace: spark}
)";
  }
  K8sBackendConfig c;
  c.kubeconfig = path;
  auto e = resolve_endpoint(c);
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  EXPECT_EQ(e->server, "https://127.0.0.1:6443");
  EXPECT_EQ(e->ca_pem, "-----BEGIN");
  EXPECT_EQ(e->token, "secret-token");
  EXPECT_EQ(e->ns, "spark");
  c.context = "nope";
  EXPECT_FALSE(resolve_endpoint(c).is_ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace sched::backend::k8s
