// List-then-watch of one kind of object, as Kubernetes controllers do it:
// list (paged) to get a resourceVersion, watch from there with bookmarks,
// resume the watch where it left off when the server ends it, re-list on
// 410 Gone, and back off with jitter when the API server is away.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "kube_client.hpp"

namespace sched::backend::k8s {

class WatchLoop {
 public:
  struct Handlers {
    // A fresh full list: the objects that exist now (the previous view is
    // replaced; objects missing from it are gone).
    std::function<void(const std::vector<nlohmann::json>& items)> on_list;
    // ADDED, MODIFIED or DELETED.
    std::function<void(const std::string& type, const nlohmann::json& object)> on_event;
  };

  // `collection` is the API path ("/api/v1/namespaces/x/pods"); `query` the
  // selectors ("labelSelector=...&fieldSelector=..."), already URL-encoded.
  WatchLoop(KubeClient* client, std::string name, std::string collection, std::string query,
            std::chrono::seconds watch_timeout, Handlers handlers);
  ~WatchLoop();

  // Lists once, synchronously (so a caller can start from a known state),
  // then keeps watching on its own thread.
  Status start();
  // Ends the thread (the client must be stopped first, or the watch in
  // flight runs out its timeout).
  void join();

  std::uint64_t relists() const { return relists_.load(); }
  std::uint64_t resumes() const { return resumes_.load(); }

 private:
  Status list();
  void run();

  KubeClient* client_;
  std::string name_;
  std::string collection_;
  std::string query_;
  std::chrono::seconds watch_timeout_;
  Handlers handlers_;
  std::string resource_version_;
  std::thread thread_;
  std::atomic<std::uint64_t> relists_{0};
  std::atomic<std::uint64_t> resumes_{0};
};

// Percent-encoding for query values (selectors have '=', '!', ',').
std::string url_encode(const std::string& s);

}  // namespace sched::backend::k8s
