// libcurl under the Kubernetes client: one easy handle per request in
// flight (kept alive and reused, so TLS is set up once per connection).
#include "kube_client.hpp"

#include <curl/curl.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace sched::backend::k8s {

struct KubeClient::Handle {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  // Watch streaming.
  std::string pending;
  const std::function<bool(std::string_view)>* on_line = nullptr;
  bool ended_by_caller = false;
  const std::atomic<bool>* stopping = nullptr;

  Handle() : easy(curl_easy_init()) {}
  ~Handle() {
    if (headers != nullptr) curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

namespace {

std::once_flag g_curl_init;

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* h = static_cast<KubeClient::Handle*>(user);
  h->body.append(data, size * n);
  return size * n;
}

size_t stream_lines(char* data, size_t size, size_t n, void* user) {
  auto* h = static_cast<KubeClient::Handle*>(user);
  h->pending.append(data, size * n);
  std::size_t start = 0;
  for (std::size_t nl = h->pending.find('\n'); nl != std::string::npos; nl = h->pending.find('\n', start)) {
    std::string_view line(h->pending.data() + start, nl - start);
    start = nl + 1;
    if (line.empty()) continue;
    if (!(*h->on_line)(line)) {
      h->ended_by_caller = true;
      return 0;  // aborts the transfer
    }
  }
  h->pending.erase(0, start);
  if (h->pending.size() > (64U << 20)) return 0;  // one event over 64 MiB: something is wrong
  return size * n;
}

int abort_when_stopping(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* h = static_cast<KubeClient::Handle*>(user);
  return h->stopping != nullptr && h->stopping->load() ? 1 : 0;
}

bool retryable(long code) {
  return code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
}

}  // namespace

std::string HttpReply::error_message() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  return body.substr(0, 300);
}

Result<std::unique_ptr<KubeClient>> KubeClient::create(ApiEndpoint endpoint, Options options) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (endpoint.server.rfind("https://", 0) != 0 && endpoint.server.rfind("http://", 0) != 0) {
    return Status::invalid_argument("API server address '" + endpoint.server + "' is not an http(s) URL");
  }
  std::unique_ptr<KubeClient> c(new KubeClient(std::move(endpoint), options));
  return c;
}

KubeClient::KubeClient(ApiEndpoint endpoint, Options options)
    : endpoint_(std::move(endpoint)), options_(options), bucket_(options.qps, options.burst) {}

KubeClient::~KubeClient() {
  stop();
}

void KubeClient::stop() {
  stopping_ = true;
  std::lock_guard lock(mu_);
  wake_.notify_all();
}

bool KubeClient::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopping_.load(); });
  return !stopping_.load();
}

std::unique_ptr<KubeClient::Handle> KubeClient::borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  return std::make_unique<Handle>();
}

void KubeClient::give_back(std::unique_ptr<Handle> h) {
  std::lock_guard lock(mu_);
  if (idle_.size() < 16) idle_.push_back(std::move(h));
}

std::string KubeClient::bearer() {
  std::lock_guard lock(mu_);
  if (!endpoint_.token_file.empty() && Clock::now() - token_read_ > std::chrono::minutes(1)) {
    // Projected service-account tokens rotate; the kubelet rewrites the file.
    std::ifstream in(endpoint_.token_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = ss.str();
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (!t.empty()) token_ = t;
    token_read_ = Clock::now();
  }
  return endpoint_.token_file.empty() ? endpoint_.token : token_;
}

void KubeClient::prepare(Handle& h, const std::string& method, const std::string& url,
                         const std::string& content_type) {
  CURL* e = h.easy;
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!endpoint_.ca_pem.empty()) {
    curl_blob ca{const_cast<char*>(endpoint_.ca_pem.data()), endpoint_.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (endpoint_.insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!endpoint_.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(endpoint_.client_cert_pem.data()), endpoint_.client_cert_pem.size(),
                   CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(endpoint_.client_key_pem.data()), endpoint_.client_key_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
  }
  if (h.headers != nullptr) curl_slist_free_all(h.headers);
  h.headers = nullptr;
  h.headers = curl_slist_append(h.headers, "Accept: application/json");
  h.headers = curl_slist_append(h.headers, ("Content-Type: " + content_type).c_str());
  h.headers = curl_slist_append(h.headers, "User-Agent: sessiond-k8s-backend");
  const std::string token = bearer();
  if (!token.empty()) h.headers = curl_slist_append(h.headers, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h.headers);
  h.stopping = &stopping_;
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &h);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
}

void KubeClient::count(const std::string& verb) {
  std::lock_guard lock(mu_);
  ++stats_.requests[verb];
}

ClientStats KubeClient::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Result<HttpReply> KubeClient::call(const std::string& verb, const std::string& method, const std::string& path,
                                   const std::string& body, const std::string& content_type) {
  const auto deadline = Clock::now() + options_.retry_budget;
  Backoff backoff(std::chrono::milliseconds(200), std::chrono::milliseconds(10000));
  auto h = borrow();
  std::string last_error;
  while (true) {
    if (stopping_) return Status::unavailable("the Kubernetes client is stopping");
    const auto wait = bucket_.reserve(Clock::now());
    if (wait > Clock::duration::zero()) {
      {
        std::lock_guard lock(mu_);
        ++stats_.throttled;
      }
      if (!sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(wait) + std::chrono::milliseconds(1)))
        return Status::unavailable("the Kubernetes client is stopping");
    }
    prepare(*h, method, endpoint_.server + path, content_type);
    h->body.clear();
    curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h.get());
    curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, 60000L);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    count(verb);
    const CURLcode rc = curl_easy_perform(h->easy);
    long code = 0;
    std::chrono::milliseconds retry_after{0};
    if (rc == CURLE_OK) {
      curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);
      if (!retryable(code)) {
        HttpReply r{code, std::move(h->body)};
        give_back(std::move(h));
        return r;
      }
      curl_header* hdr = nullptr;
      if (curl_easy_header(h->easy, "Retry-After", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK) {
        retry_after = std::chrono::seconds(std::atoi(hdr->value));
      }
      if (code == 429) {
        std::lock_guard lock(mu_);
        ++stats_.server_throttled;
      }
      last_error = "HTTP " + std::to_string(code) + ": " + HttpReply{code, h->body}.error_message();
    } else {
      last_error = curl_easy_strerror(rc);
    }
    const auto pause = backoff.next(retry_after);
    if (Clock::now() + pause > deadline) {
      return Status::unavailable(method + " " + path + " failed: " + last_error);
    }
    {
      std::lock_guard lock(mu_);
      ++stats_.retries;
    }
    if (!sleep_for(pause)) return Status::unavailable("the Kubernetes client is stopping");
  }
}

Result<long> KubeClient::watch(const std::string& path, const std::function<bool(std::string_view)>& on_line) {
  if (stopping_) return Status::unavailable("the Kubernetes client is stopping");
  const auto wait = bucket_.reserve(Clock::now());
  if (wait > Clock::duration::zero() &&
      !sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(wait) + std::chrono::milliseconds(1))) {
    return Status::unavailable("the Kubernetes client is stopping");
  }
  Handle h;  // its own connection: a watch holds it for minutes
  prepare(h, "GET", endpoint_.server + path, "application/json");
  h.on_line = &on_line;
  curl_easy_setopt(h.easy, CURLOPT_WRITEFUNCTION, stream_lines);
  curl_easy_setopt(h.easy, CURLOPT_WRITEDATA, &h);
  // No overall timeout; a connection that carries nothing for longer than
  // the server's own watch timeout is dead.
  curl_easy_setopt(h.easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h.easy, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.watch_idle_limit.count()));
  count("watch");
  const CURLcode rc = curl_easy_perform(h.easy);
  long code = 0;
  curl_easy_getinfo(h.easy, CURLINFO_RESPONSE_CODE, &code);
  if (h.ended_by_caller) return code;
  if (rc != CURLE_OK) {
    if (stopping_) return Status::unavailable("the Kubernetes client is stopping");
    return Status::unavailable("watch " + path + ": " + curl_easy_strerror(rc));
  }
  if (code != 200 && !h.pending.empty()) {
    // An error answer has no newline at its end.
    std::string_view rest(h.pending);
    on_line(rest);
  }
  return code;
}

}  // namespace sched::backend::k8s
