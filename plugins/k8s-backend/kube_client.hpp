// A small client for the Kubernetes REST API over libcurl: paced requests
// with retries, and watch streams read line by line. Thread-safe; blocking
// calls are meant for the backend's own worker and watch threads, never the
// daemon's strand.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "k8s_config.hpp"
#include "request_pacing.hpp"

namespace sched::backend::k8s {

struct HttpReply {
  long code = 0;  // the HTTP status
  std::string body;
  // The Kubernetes Status message of an error reply, or the body's start.
  std::string error_message() const;
};

struct ClientStats {
  std::map<std::string, std::uint64_t> requests;  // by verb: get, list, watch, create, delete, patch
  std::uint64_t retries = 0;
  std::uint64_t throttled = 0;         // requests the token bucket made wait
  std::uint64_t server_throttled = 0;  // 429s received
  std::uint64_t total() const {
    std::uint64_t n = 0;
    for (const auto& [k, v] : requests) n += v;
    return n;
  }
};

class KubeClient {
 public:
  struct Options {
    double qps = 50;
    double burst = 100;
    std::chrono::milliseconds retry_budget{60000};  // give up retrying after this long
    std::chrono::seconds watch_idle_limit{330};     // a watch silent this long is dead
  };

  static Result<std::unique_ptr<KubeClient>> create(ApiEndpoint endpoint, Options options);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // One request (`verb` names it in the stats). Paced by the token bucket;
  // 429, 5xx and transport failures are retried with jittered backoff until
  // the retry budget is spent. Any other HTTP answer is returned as is; an
  // error Status means no answer came (or stop() was called).
  Result<HttpReply> call(const std::string& verb, const std::string& method, const std::string& path,
                         const std::string& body = "", const std::string& content_type = "application/json");

  // Streams a watch: `on_line` gets each JSON event; returning false ends
  // the watch. Returns the HTTP status once the stream ends (200 when the
  // server closed it after timeoutSeconds), or an error when the connection
  // failed. Not retried: the caller's watch loop decides.
  Result<long> watch(const std::string& path, const std::function<bool(std::string_view)>& on_line);

  // Ends every call and watch in flight and makes new ones fail at once.
  void stop();
  bool stopped() const { return stopping_.load(); }
  // Sleeps unless stop() comes first; false when stopped.
  bool sleep_for(std::chrono::milliseconds d);

  ClientStats stats() const;
  const ApiEndpoint& endpoint() const { return endpoint_; }

  struct Handle;  // one libcurl easy handle and its buffers (internal)

 private:
  KubeClient(ApiEndpoint endpoint, Options options);
  std::unique_ptr<Handle> borrow();
  void give_back(std::unique_ptr<Handle> h);
  void prepare(Handle& h, const std::string& method, const std::string& url, const std::string& content_type);
  std::string bearer();
  void count(const std::string& verb);

  ApiEndpoint endpoint_;
  Options options_;
  TokenBucket bucket_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<Handle>> idle_;
  ClientStats stats_;
  std::string token_;
  Clock::time_point token_read_{};
};

}  // namespace sched::backend::k8s
