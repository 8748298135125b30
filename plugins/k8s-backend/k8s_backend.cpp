// The Kubernetes backend's moving parts: the pod, node and other-pods
// watches, the request workers, and the timer that gives up on pods pending
// too long.
#include "k8s_backend.hpp"

#include <yaml-cpp/yaml.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/event_log.hpp"
#include "node_view.hpp"
#include "pod_manifest.hpp"
#include "pod_view.hpp"
#include "watch_loop.hpp"

namespace sched::backend {

using k8s::Clock;
using nlohmann::json;

namespace {

constexpr std::size_t kLatencySamples = 100000;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void keep_sample(std::vector<double>& v, double x) {
  if (v.size() >= kLatencySamples) v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(kLatencySamples / 10));
  v.push_back(x);
}

}  // namespace

class K8sBackend::Core : public std::enable_shared_from_this<K8sBackend::Core> {
 public:
  Core(k8s::K8sBackendConfig config, std::unique_ptr<k8s::KubeClient> client, std::string ns, std::string instance)
      : config_(std::move(config)), client_(std::move(client)), ns_(std::move(ns)), instance_(std::move(instance)) {
    names_.gpu = config_.gpu_resource;
  }

  // --- hosts -------------------------------------------------------------------
  Result<std::vector<core::HostSpec>> hosts() {
    if (config_.capacity == k8s::CapacityMode::kPool) return pool_hosts();
    SCHED_RETURN_IF_ERROR(watch_nodes());
    std::lock_guard lock(mu_);
    std::vector<core::HostSpec> out;
    for (const auto& [name, node] : nodes_) out.push_back(spec_of(node));
    return out;
  }

  void watch_hosts(HostSink sink) {
    std::lock_guard lock(mu_);
    host_sink_ = std::move(sink);
    for (const auto& [name, node] : nodes_) emit_host(name, /*always=*/true);
  }

  // --- executors ---------------------------------------------------------------
  Status start(EventSink sink) {
    {
      std::lock_guard lock(mu_);
      sink_ = std::move(sink);
    }
    const std::string selector = std::string(k8s::kInstanceLabel) + "=" + instance_;
    pods_ = std::make_unique<k8s::WatchLoop>(
        client_.get(), "pods", "/api/v1/namespaces/" + ns_ + "/pods", "labelSelector=" + k8s::url_encode(selector),
        config_.watch_timeout,
        k8s::WatchLoop::Handlers{[this](const std::vector<json>& items) { on_pod_list(items); },
                                 [this](const std::string& type, const json& obj) { on_pod_event(type, obj); }});
    SCHED_RETURN_IF_ERROR(pods_->start().with_context("watching executor pods in namespace " + ns_));
    for (int i = 0; i < config_.request_workers; ++i) workers_.emplace_back([this] { work(); });
    timer_ = std::thread([this] { tick(); });
    return Status::ok();
  }

  Result<ReconcileResult> reconcile(const std::vector<KnownExecutor>& known) {
    ReconcileResult out;
    std::lock_guard lock(mu_);
    std::set<std::string> known_ids;
    std::map<std::string, const k8s::PodView*> by_executor;
    for (const auto& [name, pod] : seen_) by_executor.emplace(pod.executor_id, &pod);  // the first by name wins
    for (const auto& k : known) {
      known_ids.insert(k.executor_id);
      auto found = by_executor.find(k.executor_id);
      const k8s::PodView* pod = found == by_executor.end() ? nullptr : found->second;
      if (pod == nullptr || pod->ended() || pod->deleting) {
        out.gone.push_back(k.executor_id);
        if (pod != nullptr && config_.delete_ended_pods && !pod->deleting)
          queue_delete(pod->name, std::chrono::milliseconds(0));
        continue;
      }
      Tracked t;
      t.pod = pod->name;
      t.node = pod->node;
      t.create_sent = true;
      t.created = true;
      t.running = pod->phase == k8s::PodPhase::kRunning;
      t.launched = Clock::now();
      t.size = pod->requests;
      t.want = k.resources;
      tracked_[k.executor_id] = t;
      // A resize the daemon asked for just before it died may never have
      // reached the API server.
      queue_resize_if_needed(k.executor_id, tracked_[k.executor_id]);
      out.adopted.push_back(k.executor_id);
      log_event(LogLevel::kInfo, "k8s_pod_adopted", {{"executor", k.executor_id}, {"pod", pod->name}});
    }
    for (const auto& [name, pod] : seen_) {
      if (known_ids.count(pod.executor_id) != 0 || pod.deleting) continue;
      queue_delete(name, config_.orphan_grace);
      ++out.orphans_stopped;
      ++orphans_deleted_;
      log_event(LogLevel::kWarn, "k8s_orphan_deleted", {{"pod", name}, {"executor", pod.executor_id}});
    }
    reconciled_ = true;
    return out;
  }

  Status launch(const LaunchRequest& req) {
    const std::string node = config_.capacity == k8s::CapacityMode::kNodes ? req.host : std::string();
    auto pod = k8s::build_pod(req, config_, ns_, instance_, node);
    if (!pod) return pod.status();
    std::lock_guard lock(mu_);
    if (tracked_.count(req.executor_id) != 0) {
      return Status::already_exists("executor " + req.executor_id + " already has a pod");
    }
    Tracked t;
    t.pod = (*pod)["metadata"]["name"].get<std::string>();
    t.node = node;
    t.launched = Clock::now();
    t.size = t.want = req.resources;
    tracked_[req.executor_id] = t;
    enqueue([this, id = req.executor_id, body = pod->dump()] { create_pod(id, body); });
    return Status::ok();
  }

  Status resize(const std::string& id, const core::Resources& resources) {
    std::lock_guard lock(mu_);
    auto it = tracked_.find(id);
    if (it == tracked_.end() || it->second.stop_requested) return Status::ok();
    it->second.want = resources;
    queue_resize_if_needed(id, it->second);  // not created yet: create_pod() looks again
    return Status::ok();
  }

  Status stop(const std::string& id, std::chrono::milliseconds grace) {
    std::lock_guard lock(mu_);
    auto it = tracked_.find(id);
    if (it == tracked_.end()) return Status::ok();
    Tracked& t = it->second;
    if (t.stop_requested && grace >= t.stop_grace) return Status::ok();
    t.stop_requested = true;
    t.stop_grace = grace;
    if (!t.create_sent) return Status::ok();    // create_pod() sees it and creates nothing
    if (t.created) queue_delete(t.pod, grace);  // else: create_pod() deletes once the create returns
    return Status::ok();
  }

  void shutdown() {
    {
      std::lock_guard lock(mu_);
      if (shut_) return;
      shut_ = true;
      sink_ = nullptr;
      host_sink_ = nullptr;
      work_cv_.notify_all();
    }
    client_->stop();
    if (pods_) pods_->join();
    if (nodes_loop_) nodes_loop_->join();
    if (quota_loop_) quota_loop_->join();
    if (others_loop_) others_loop_->join();
    for (auto& w : workers_) w.join();
    workers_.clear();
    if (timer_.joinable()) timer_.join();
  }

  k8s::BackendStats stats() {
    std::lock_guard lock(mu_);
    k8s::BackendStats s = stats_;
    s.client = client_->stats();
    s.orphans_deleted = orphans_deleted_;
    for (const auto* loop : {pods_.get(), nodes_loop_.get(), others_loop_.get(), quota_loop_.get()}) {
      if (loop == nullptr) continue;
      s.watch_relists += loop->relists();
      s.watch_resumes += loop->resumes();
    }
    return s;
  }

 private:
  struct Tracked {
    std::string pod;
    std::string node;
    Clock::time_point launched;
    bool create_sent = false;
    bool created = false;
    bool running = false;
    bool reported_end = false;
    bool stop_requested = false;
    std::chrono::milliseconds stop_grace{0};
    std::string waiting;  // why it is still pending, for the timeout's message
    // cpu and memory: what the pod's spec has (as far as we know), and what
    // the executor's slots take now. They differ until a resize lands.
    core::Resources size, want;
    bool resize_queued = false;
  };
  struct OtherPod {
    std::string node;
    core::Resources requests;
  };
  struct Emitted {
    core::Resources capacity;
    bool closed = false;
  };

  // --- pool mode -------------------------------------------------------------
  // One host, sized by the configured vector or by a ResourceQuota that is
  // watched, so an operator who raises or lowers the quota changes the pool
  // without a restart (lowered: the engine revokes what no longer fits).
  Result<std::vector<core::HostSpec>> pool_hosts() {
    core::HostSpec h;
    h.name = config_.pool_host;
    h.capacity = config_.pool;
    if (!config_.quota.empty()) {
      SCHED_RETURN_IF_ERROR(watch_quota());
      std::lock_guard lock(mu_);
      auto it = nodes_.find(config_.pool_host);
      if (it == nodes_.end()) {
        return Status::failed_precondition(quota_name() + ": " +
                                           (quota_problem_.empty() ? "not found" : quota_problem_));
      }
      h = spec_of(it->second);
    }
    return std::vector<core::HostSpec>{h};
  }

  std::string quota_name() const { return "ResourceQuota " + ns_ + "/" + config_.quota; }

  Status watch_quota() {
    {
      std::lock_guard lock(mu_);
      if (quota_loop_) return Status::ok();
    }
    quota_loop_ = std::make_unique<k8s::WatchLoop>(
        client_.get(), "quota", "/api/v1/namespaces/" + ns_ + "/resourcequotas",
        "fieldSelector=" + k8s::url_encode("metadata.name=" + config_.quota), config_.watch_timeout,
        k8s::WatchLoop::Handlers{[this](const std::vector<json>& items) {
                                   if (!items.empty()) on_quota("LISTED", items.front());
                                 },
                                 [this](const std::string& type, const json& obj) { on_quota(type, obj); }});
    return quota_loop_->start().with_context("watching " + quota_name());
  }

  // The quota's hard requests limits as the pool's allocatable.
  void on_quota(const std::string& type, const json& q) {
    std::lock_guard lock(mu_);
    if (type == "DELETED") {
      // Keep the last size: taking every executor away because a quota
      // object went missing would be worse than running on as before.
      log_event(LogLevel::kWarn, "k8s_quota_deleted", {{"quota", config_.quota}, {"kept", "last capacity"}});
      return;
    }
    const json hard = q.is_object() ? q.value("status", json::object()).value("hard", json::object()) : json();
    json flat = json::object();
    for (const char* k : {"cpu", "memory"}) {
      if (hard.contains(std::string("requests.") + k))
        flat[k] = hard[std::string("requests.") + k];
      else if (hard.contains(k))
        flat[k] = hard[k];
    }
    if (hard.contains("requests." + config_.gpu_resource))
      flat[config_.gpu_resource] = hard["requests." + config_.gpu_resource];
    json node = {{"metadata", {{"name", config_.pool_host}}}, {"status", {{"allocatable", flat}}}};
    auto v = k8s::read_node(node, names_);
    if (!v || v->allocatable.is_zero()) {
      quota_problem_ = v ? "sets no cpu or memory requests limit" : v.status().message();
      log_event(LogLevel::kWarn, "k8s_quota_unusable",
                {{"quota", config_.quota}, {"problem", quota_problem_}, {"kept", "last capacity"}});
      return;
    }
    quota_problem_.clear();
    const bool changed =
        nodes_.count(config_.pool_host) == 0 || !(nodes_[config_.pool_host].allocatable == v->allocatable);
    nodes_[config_.pool_host] = std::move(*v);
    if (changed && type != "LISTED")
      log_event(LogLevel::kInfo, "k8s_quota_changed",
                {{"quota", config_.quota}, {"capacity", nodes_[config_.pool_host].allocatable.to_string()}});
    emit_host(config_.pool_host);
  }

  // --- nodes ----------------------------------------------------------------------
  Status watch_nodes() {
    {
      std::lock_guard lock(mu_);
      if (nodes_loop_) return Status::ok();
    }
    std::string node_query;
    if (!config_.node_selector.empty()) {
      std::string sel;
      for (const auto& [k, v] : config_.node_selector) sel += (sel.empty() ? "" : ",") + k + "=" + v;
      node_query = "labelSelector=" + k8s::url_encode(sel);
    }
    if (config_.count_other_pods) {
      // Every pod that holds room on a node and is not one of ours.
      const std::string labels = std::string(k8s::kInstanceLabel) + "!=" + instance_;
      const std::string fields = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed";
      others_loop_ = std::make_unique<k8s::WatchLoop>(
          client_.get(), "other pods", "/api/v1/pods",
          "labelSelector=" + k8s::url_encode(labels) + "&fieldSelector=" + k8s::url_encode(fields),
          config_.watch_timeout,
          k8s::WatchLoop::Handlers{[this](const std::vector<json>& items) { on_others_list(items); },
                                   [this](const std::string& type, const json& obj) { on_other_event(type, obj); }});
      SCHED_RETURN_IF_ERROR(others_loop_->start().with_context("watching other workloads' pods"));
    }
    nodes_loop_ = std::make_unique<k8s::WatchLoop>(
        client_.get(), "nodes", "/api/v1/nodes", node_query, config_.watch_timeout,
        k8s::WatchLoop::Handlers{[this](const std::vector<json>& items) { on_node_list(items); },
                                 [this](const std::string& type, const json& obj) { on_node_event(type, obj); }});
    return nodes_loop_->start().with_context("watching nodes");
  }

  core::HostSpec spec_of(const k8s::NodeView& node) const {
    core::HostSpec h;
    h.name = node.name;
    h.capacity = node.allocatable;
    auto o = others_sum_.find(node.name);
    if (o != others_sum_.end()) h.capacity = core::Resources::max(h.capacity - o->second, core::Resources{});
    for (const char* key : {"topology.kubernetes.io/zone", "kubernetes.io/arch"}) {
      auto l = node.labels.find(key);
      if (l != node.labels.end()) h.attributes[key] = l->second;
    }
    return h;
  }

  // REQUIRES: mu_ held.
  void emit_host(const std::string& name, bool always = false) {
    auto it = nodes_.find(name);
    if (it == nodes_.end()) return;
    const core::HostSpec spec = spec_of(it->second);
    const bool closed = it->second.closed();
    auto e = emitted_.find(name);
    if (!always && e != emitted_.end() && e->second.capacity == spec.capacity && e->second.closed == closed) return;
    if (!host_sink_) return;
    emitted_[name] = Emitted{spec.capacity, closed};
    HostEvent ev;
    ev.kind = HostEvent::Kind::kUpsert;
    ev.host = spec;
    ev.cordoned = closed;
    ev.detail = closed ? it->second.why_closed() : "node schedulable";
    host_sink_(std::move(ev));
  }

  // REQUIRES: mu_ held.
  void node_removed(const std::string& name) {
    nodes_.erase(name);
    emitted_.erase(name);
    if (!host_sink_) return;
    HostEvent ev;
    ev.kind = HostEvent::Kind::kRemoved;
    ev.host.name = name;
    ev.detail = "node deleted";
    host_sink_(std::move(ev));
  }

  void on_node_list(const std::vector<json>& items) {
    std::lock_guard lock(mu_);
    std::set<std::string> now;
    for (const json& item : items) {
      auto v = k8s::read_node(item, names_);
      if (!v) continue;
      now.insert(v->name);
      nodes_[v->name] = std::move(*v);
    }
    std::vector<std::string> gone;
    for (const auto& [name, n] : nodes_)
      if (now.count(name) == 0) gone.push_back(name);
    for (const auto& name : gone) node_removed(name);
    for (const auto& name : now) emit_host(name);
  }

  void on_node_event(const std::string& type, const json& obj) {
    auto v = k8s::read_node(obj, names_);
    if (!v) return;
    std::lock_guard lock(mu_);
    if (type == "DELETED") {
      node_removed(v->name);
      return;
    }
    const std::string name = v->name;
    nodes_[name] = std::move(*v);
    emit_host(name);
  }

  // REQUIRES: mu_ held.
  void resum(const std::string& node) {
    core::Resources sum;
    for (const auto& [uid, p] : others_)
      if (p.node == node) sum += p.requests;
    others_sum_[node] = sum;
  }

  void on_others_list(const std::vector<json>& items) {
    std::lock_guard lock(mu_);
    std::set<std::string> touched;
    for (const auto& [uid, p] : others_) touched.insert(p.node);
    others_.clear();
    for (const json& item : items) {
      const json& meta = item.value("metadata", json::object());
      const std::string node = item.value("spec", json::object()).value("nodeName", "");
      others_[meta.value("uid", "")] = OtherPod{node, k8s::pod_requests(item, names_)};
      touched.insert(node);
    }
    for (const auto& n : touched) {
      resum(n);
      emit_host(n);
    }
  }

  void on_other_event(const std::string& type, const json& obj) {
    const json& meta = obj.value("metadata", json::object());
    const std::string uid = meta.value("uid", "");
    const std::string node = obj.value("spec", json::object()).value("nodeName", "");
    std::lock_guard lock(mu_);
    std::set<std::string> touched{node};
    auto it = others_.find(uid);
    if (it != others_.end()) touched.insert(it->second.node);
    if (type == "DELETED") {
      others_.erase(uid);
    } else {
      others_[uid] = OtherPod{node, k8s::pod_requests(obj, names_)};
    }
    for (const auto& n : touched) {
      resum(n);
      emit_host(n);
    }
  }

  // --- executor pods ------------------------------------------------------------------
  void emit(ExecutorEventKind kind, const std::string& id, const std::string& pod, int code, std::string detail) {
    if (!sink_) return;
    ExecutorEvent ev;
    ev.kind = kind;
    ev.executor_id = id;
    ev.backend_id = pod.empty() ? "" : "pod:" + ns_ + "/" + pod;
    ev.exit_code = code;
    ev.detail = std::move(detail);
    sink_(std::move(ev));
  }

  void on_pod_list(const std::vector<json>& items) {
    std::lock_guard lock(mu_);
    std::map<std::string, k8s::PodView> now;
    for (const json& item : items) {
      k8s::PodView v = k8s::read_pod(item);
      if (v.instance != instance_ || v.name.empty()) continue;
      now[v.name] = v;
    }
    // Pods we knew that are not there any more went while we were not watching.
    std::vector<k8s::PodView> vanished;
    for (const auto& [name, pod] : seen_)
      if (now.count(name) == 0) vanished.push_back(pod);
    seen_ = now;
    for (const auto& [name, pod] : now) pod_changed(pod);
    for (const auto& pod : vanished) pod_gone(pod);
  }

  void on_pod_event(const std::string& type, const json& obj) {
    k8s::PodView v = k8s::read_pod(obj);
    if (v.instance != instance_ || v.name.empty()) return;
    std::lock_guard lock(mu_);
    if (type == "DELETED") {
      seen_.erase(v.name);
      pod_gone(v);
      return;
    }
    seen_[v.name] = v;
    pod_changed(v);
  }

  // REQUIRES: mu_ held.
  void pod_changed(const k8s::PodView& v) {
    auto it = tracked_.find(v.executor_id);
    if (it == tracked_.end() || it->second.pod != v.name) {
      // Ours by label but wanted by nobody: launched just before a crash and
      // never recorded, or left over. Before reconcile() the store may still
      // claim it.
      if (reconciled_ && !v.deleting && !shut_) {
        queue_delete(v.name, config_.orphan_grace);
        ++orphans_deleted_;
        log_event(LogLevel::kWarn, "k8s_orphan_deleted", {{"pod", v.name}, {"executor", v.executor_id}});
      }
      return;
    }
    Tracked& t = it->second;
    t.created = true;
    if (!v.node.empty()) t.node = v.node;
    if (t.reported_end) return;
    if (v.phase == k8s::PodPhase::kPending) {
      t.waiting = v.reason.empty() ? "" : v.describe();
      return;
    }
    if (v.phase == k8s::PodPhase::kRunning) {
      if (!t.running) {
        t.running = true;
        keep_sample(stats_.grant_to_running_ms, ms_between(t.launched, Clock::now()));
        log_event(LogLevel::kInfo, "k8s_pod_running", {{"executor", v.executor_id}, {"pod", v.name}, {"node", v.node}});
        emit(ExecutorEventKind::kRunning, v.executor_id, v.name, 0, "");
      }
      return;
    }
    // Ended: Succeeded or Failed (OOMKilled, Evicted, an exit code).
    t.reported_end = true;
    const std::string detail = v.describe();
    log_event(LogLevel::kInfo, "k8s_pod_ended", {{"executor", v.executor_id}, {"pod", v.name}, {"detail", detail}});
    if (!t.running && v.phase == k8s::PodPhase::kFailed) {
      emit(ExecutorEventKind::kLaunchFailed, v.executor_id, v.name, v.exit_code, detail);
    } else {
      emit(ExecutorEventKind::kExited, v.executor_id, v.name, v.exit_code == -1000 ? 0 : v.exit_code, detail);
    }
    if (config_.delete_ended_pods && !v.deleting) queue_delete(v.name, std::chrono::milliseconds(0));
  }

  // REQUIRES: mu_ held. The pod object is gone.
  void pod_gone(const k8s::PodView& v) {
    auto it = tracked_.find(v.executor_id);
    if (it == tracked_.end() || it->second.pod != v.name) return;
    Tracked& t = it->second;
    if (!t.reported_end) {
      t.reported_end = true;
      int code = v.exit_code;
      std::string detail;
      if (t.stop_requested) {
        detail = "pod deleted (stopped)";
        if (code == -1000) code = -15;
      } else {
        detail = "pod deleted" + (v.reason.empty() ? std::string() : ": " + v.describe());
      }
      if (!t.running && !t.stop_requested)
        emit(ExecutorEventKind::kLaunchFailed, v.executor_id, v.name, code, detail);
      else
        emit(ExecutorEventKind::kExited, v.executor_id, v.name, code, detail);
    }
    tracked_.erase(it);
  }

  // --- requests ----------------------------------------------------------------------
  // REQUIRES: mu_ held.
  void enqueue(std::function<void()> task) {
    tasks_.push_back(std::move(task));
    work_cv_.notify_one();
  }

  // REQUIRES: mu_ held.
  void queue_delete(const std::string& pod, std::chrono::milliseconds grace) {
    enqueue([this, pod, grace] { delete_pod(pod, grace); });
  }

  void work() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [this] { return shut_ || !tasks_.empty(); });
        if (shut_) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  void create_pod(const std::string& id, const std::string& body) {
    {
      std::lock_guard lock(mu_);
      auto it = tracked_.find(id);
      if (it == tracked_.end()) return;
      if (it->second.stop_requested) {
        // Stopped before its pod existed: nothing to delete.
        tracked_.erase(it);
        emit(ExecutorEventKind::kExited, id, "", -15, "stopped before its pod was created");
        return;
      }
      it->second.create_sent = true;
      keep_sample(stats_.grant_to_request_ms, ms_between(it->second.launched, Clock::now()));
    }
    auto reply = client_->call("create", "POST", "/api/v1/namespaces/" + ns_ + "/pods", body);
    std::lock_guard lock(mu_);
    auto it = tracked_.find(id);
    if (it == tracked_.end()) return;
    Tracked& t = it->second;
    // 409: a retry after a lost answer found the pod the first try made.
    if (reply && (reply->code == 201 || reply->code == 200 || reply->code == 409)) {
      ++stats_.pods_created;
      t.created = true;
      if (t.stop_requested) {
        queue_delete(t.pod, t.stop_grace);
      } else {
        queue_resize_if_needed(id, t);  // slots moved while the create was on its way
      }
      return;
    }
    ++stats_.create_failures;
    const std::string why =
        reply ? "HTTP " + std::to_string(reply->code) + ": " + reply->error_message() : reply.status().message();
    log_event(LogLevel::kError, "k8s_pod_create_failed", {{"executor", id}, {"pod", t.pod}, {"error", why}});
    if (!t.reported_end) emit(ExecutorEventKind::kLaunchFailed, id, t.pod, -1000, "creating pod " + t.pod + ": " + why);
    tracked_.erase(it);
  }

  // Only cpu and memory: Kubernetes resizes nothing else in place (extended
  // resources such as gpus stay as created).
  static bool same_size(const core::Resources& a, const core::Resources& b) {
    return a[core::kCpu] == b[core::kCpu] && a[core::kMemory] == b[core::kMemory];
  }

  // REQUIRES: mu_ held.
  void queue_resize_if_needed(const std::string& id, Tracked& t) {
    if (t.resize_queued || !t.created || t.stop_requested || resize_unsupported_ || same_size(t.size, t.want)) return;
    t.resize_queued = true;
    enqueue([this, id] { resize_pod(id); });
  }

  // PATCH pods/<name>/resize (in-place pod resize, Kubernetes 1.33+) with
  // requests = limits, as the pod was created, so its QoS class stays
  // Guaranteed. The newest size asked is read when the request leaves, so a
  // burst of moves costs one request.
  void resize_pod(const std::string& id) {
    std::string pod;
    core::Resources sent;
    {
      std::lock_guard lock(mu_);
      auto it = tracked_.find(id);
      if (it == tracked_.end()) return;
      Tracked& t = it->second;
      t.resize_queued = false;
      if (t.stop_requested || !t.created || same_size(t.size, t.want)) return;
      pod = t.pod;
      sent = t.want;
    }
    const json amounts = k8s::cpu_memory_quantities(sent);
    const json patch = {
        {"spec",
         {{"containers", json::array({{{"name", k8s::kExecutorContainer},
                                       {"resources", {{"requests", amounts}, {"limits", amounts}}}}})}}}};
    auto reply = client_->call("resize", "PATCH", "/api/v1/namespaces/" + ns_ + "/pods/" + pod + "/resize",
                               patch.dump(), "application/strategic-merge-patch+json");
    std::lock_guard lock(mu_);
    auto it = tracked_.find(id);
    if (reply && reply->code == 200) {
      ++stats_.pods_resized;
      if (it == tracked_.end()) return;
      it->second.size = sent;
      queue_resize_if_needed(id, it->second);  // asked again meanwhile
      return;
    }
    if (shut_) return;
    // An API server without the subresource (before 1.33, or the feature
    // gate off) answers 404 for the path itself, not for the pod: say so once
    // and stop asking; pods then keep the size they were created with.
    if (reply && reply->code == 404 && !mentions_pod(reply->body, pod)) {
      resize_unsupported_ = true;
      log_event(LogLevel::kWarn, "k8s_resize_unsupported",
                {{"pod", pod},
                 {"error",
                  "the API server has no pods/resize (in-place pod resize needs Kubernetes 1.33+); "
                  "executor pods keep the requests they were created with"}});
      return;
    }
    if (reply && reply->code == 404) return;  // the pod is gone; the watch says so
    ++stats_.resize_failures;
    log_event(LogLevel::kError, "k8s_pod_resize_failed",
              {{"executor", id},
               {"pod", pod},
               {"error", reply ? "HTTP " + std::to_string(reply->code) + ": " + reply->error_message()
                               : reply.status().message()}});
  }

  // Whether a 404 answer is about this pod (a Status whose details name it).
  static bool mentions_pod(const std::string& body, const std::string& pod) {
    const json j = json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("details") || !j["details"].is_object()) return false;
    return j["details"].value("name", "") == pod;
  }

  void delete_pod(const std::string& pod, std::chrono::milliseconds grace) {
    const auto secs = (grace.count() + 999) / 1000;
    const json opts = {{"apiVersion", "v1"},
                       {"kind", "DeleteOptions"},
                       {"gracePeriodSeconds", secs},
                       {"propagationPolicy", "Background"}};
    auto reply = client_->call("delete", "DELETE", "/api/v1/namespaces/" + ns_ + "/pods/" + pod, opts.dump());
    std::lock_guard lock(mu_);
    if (reply && (reply->code == 200 || reply->code == 202)) {
      ++stats_.pods_deleted;
      return;
    }
    if (reply && reply->code == 404) {
      // Already gone; if the watch has not said so (it was deleted while we
      // were not watching), say it now.
      for (auto& [id, t] : tracked_) {
        if (t.pod != pod) continue;
        k8s::PodView v;
        v.name = pod;
        v.executor_id = id;
        pod_gone(v);
        break;
      }
      return;
    }
    if (shut_) return;
    log_event(LogLevel::kError, "k8s_pod_delete_failed",
              {{"pod", pod}, {"error", reply ? reply->error_message() : reply.status().message()}});
  }

  // Gives up on pods that stay Pending (no room, image pull failing).
  void tick() {
    while (client_->sleep_for(std::chrono::milliseconds(500))) {
      std::lock_guard lock(mu_);
      const auto now = Clock::now();
      for (auto& [id, t] : tracked_) {
        if (t.running || t.reported_end || !t.created || t.stop_requested) continue;
        if (now - t.launched < config_.pending_timeout) continue;
        t.reported_end = true;
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - t.launched).count();
        const std::string detail =
            "pod " + t.pod + " pending for " + std::to_string(secs) + "s" + (t.waiting.empty() ? "" : ": " + t.waiting);
        log_event(LogLevel::kWarn, "k8s_pod_pending_too_long", {{"executor", id}, {"pod", t.pod}, {"detail", detail}});
        emit(ExecutorEventKind::kLaunchFailed, id, t.pod, -1000, detail);
        queue_delete(t.pod, std::chrono::milliseconds(0));
      }
    }
  }

  k8s::K8sBackendConfig config_;
  std::unique_ptr<k8s::KubeClient> client_;
  std::string ns_;
  std::string instance_;
  k8s::ResourceNames names_;

  std::mutex mu_;
  EventSink sink_;
  HostSink host_sink_;
  bool reconciled_ = false;
  bool shut_ = false;
  bool resize_unsupported_ = false;                    // the API server has no pods/resize
  std::map<std::string, Tracked> tracked_;             // by executor id
  std::map<std::string, k8s::PodView> seen_;           // our pods by name, as last seen
  std::map<std::string, k8s::NodeView> nodes_;         // by name
  std::map<std::string, OtherPod> others_;             // other workloads' pods by uid
  std::map<std::string, core::Resources> others_sum_;  // by node
  std::map<std::string, Emitted> emitted_;             // what the daemon last heard of each node
  std::deque<std::function<void()>> tasks_;
  std::condition_variable work_cv_;
  k8s::BackendStats stats_;
  std::uint64_t orphans_deleted_ = 0;

  std::unique_ptr<k8s::WatchLoop> pods_;
  std::unique_ptr<k8s::WatchLoop> nodes_loop_;
  std::unique_ptr<k8s::WatchLoop> others_loop_;
  std::unique_ptr<k8s::WatchLoop> quota_loop_;
  std::string quota_problem_;  // why the quota gives no capacity, for the start-up error
  std::vector<std::thread> workers_;
  std::thread timer_;
};

// --- K8sBackend ----------------------------------------------------------------------

Result<std::unique_ptr<K8sBackend>> K8sBackend::create(const BackendContext& context) {
  if (context.instance_id.empty()) return Status::invalid_argument("the k8s backend needs an instance id");
  auto config = k8s::read_k8s_backend_config(context.config, context.config_source);
  if (!config) return config.status();
  return create(std::move(*config), context.instance_id);
}

Result<std::unique_ptr<K8sBackend>> K8sBackend::create(k8s::K8sBackendConfig config, const std::string& instance_id) {
  auto endpoint = k8s::resolve_endpoint(config);
  if (!endpoint) return endpoint.status();
  std::string ns = !config.ns.empty() ? config.ns : (!endpoint->ns.empty() ? endpoint->ns : "default");
  k8s::KubeClient::Options opts;
  opts.qps = config.qps;
  opts.burst = config.burst;
  opts.retry_budget = config.request_retry_budget;
  opts.watch_idle_limit = config.watch_timeout + std::chrono::seconds(30);
  auto client = k8s::KubeClient::create(std::move(*endpoint), opts);
  if (!client) return client.status();
  auto core = std::make_shared<Core>(std::move(config), std::move(*client), std::move(ns), instance_id);
  return std::unique_ptr<K8sBackend>(new K8sBackend(std::move(core)));
}

K8sBackend::K8sBackend(std::shared_ptr<Core> core) : core_(std::move(core)) {}
K8sBackend::~K8sBackend() {
  shutdown();
}

Result<std::vector<core::HostSpec>> K8sBackend::hosts() {
  return core_->hosts();
}
Status K8sBackend::start(EventSink sink) {
  return core_->start(std::move(sink));
}
void K8sBackend::watch_hosts(HostSink sink) {
  core_->watch_hosts(std::move(sink));
}
Result<ReconcileResult> K8sBackend::reconcile(const std::vector<KnownExecutor>& known) {
  return core_->reconcile(known);
}
Status K8sBackend::launch(const LaunchRequest& request) {
  return core_->launch(request);
}
Status K8sBackend::resize(const std::string& executor_id, const core::Resources& resources) {
  return core_->resize(executor_id, resources);
}
Status K8sBackend::stop(const std::string& executor_id, std::chrono::milliseconds grace) {
  return core_->stop(executor_id, grace);
}
void K8sBackend::shutdown() {
  core_->shutdown();
}
k8s::BackendStats K8sBackend::stats() const {
  return core_->stats();
}

std::map<std::string, std::uint64_t> K8sBackend::counters() const {
  const k8s::BackendStats s = core_->stats();
  std::map<std::string, std::uint64_t> out;
  for (const auto& [verb, n] : s.client.requests) out["request_" + verb] = n;
  out["retry"] = s.client.retries;
  out["throttled"] = s.client.throttled;
  out["server_throttled"] = s.client.server_throttled;
  out["pod_created"] = s.pods_created;
  out["pod_deleted"] = s.pods_deleted;
  out["pod_create_failed"] = s.create_failures;
  out["pod_resized"] = s.pods_resized;
  out["pod_resize_failed"] = s.resize_failures;
  out["orphan_deleted"] = s.orphans_deleted;
  out["watch_relist"] = s.watch_relists;
  out["watch_resume"] = s.watch_resumes;
  return out;
}

Status register_k8s_backend() {
  static const Status registered =
      register_backend("k8s", [](const BackendContext& context) -> Result<std::unique_ptr<ExecutorBackend>> {
        auto backend = K8sBackend::create(context);
        if (!backend) return backend.status();
        return std::unique_ptr<ExecutorBackend>(std::move(backend).value());
      });
  return registered;
}

}  // namespace sched::backend
