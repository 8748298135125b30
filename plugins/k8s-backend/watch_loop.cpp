// The list+watch loop shared by the pod, node and other-pods watchers.
#include "watch_loop.hpp"

#include <cctype>
#include <cstdio>

#include "common/event_log.hpp"

namespace sched::backend::k8s {

using nlohmann::json;

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

WatchLoop::WatchLoop(KubeClient* client, std::string name, std::string collection, std::string query,
                     std::chrono::seconds watch_timeout, Handlers handlers)
    : client_(client),
      name_(std::move(name)),
      collection_(std::move(collection)),
      query_(std::move(query)),
      watch_timeout_(watch_timeout),
      handlers_(std::move(handlers)) {}

WatchLoop::~WatchLoop() {
  join();
}

void WatchLoop::join() {
  if (thread_.joinable()) thread_.join();
}

Status WatchLoop::list() {
  std::vector<json> items;
  std::string cont;
  std::string rv;
  do {
    std::string path = collection_ + "?limit=500" + (query_.empty() ? "" : "&" + query_);
    if (!cont.empty()) path += "&continue=" + url_encode(cont);
    auto reply = client_->call("list", "GET", path);
    if (!reply) return reply.status();
    if (reply->code == 410 && !cont.empty()) {
      // The continue token expired mid-list: start over.
      items.clear();
      cont.clear();
      continue;
    }
    if (reply->code != 200) {
      return Status::unavailable("listing " + name_ + ": HTTP " + std::to_string(reply->code) + ": " +
                                 reply->error_message());
    }
    json page = json::parse(reply->body, nullptr, false);
    if (!page.is_object()) return Status::unavailable("listing " + name_ + ": the answer is not JSON");
    for (json& item : page.value("items", json::array())) items.push_back(std::move(item));
    const json& meta = page.value("metadata", json::object());
    cont = meta.value("continue", "");
    rv = meta.value("resourceVersion", "");
  } while (!cont.empty());
  resource_version_ = rv;
  ++relists_;
  handlers_.on_list(items);
  return Status::ok();
}

Status WatchLoop::start() {
  SCHED_RETURN_IF_ERROR(list());
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void WatchLoop::run() {
  Backoff backoff(std::chrono::milliseconds(250), std::chrono::milliseconds(30000));
  bool need_list = false;
  while (!client_->stopped()) {
    if (need_list) {
      const Status s = list();
      if (!s.is_ok()) {
        if (client_->stopped()) return;
        log_event(LogLevel::kWarn, "k8s_list_failed", {{"watch", name_}, {"error", s.message()}});
        client_->sleep_for(backoff.next());
        continue;
      }
      need_list = false;
    }
    bool gone = false;
    bool errored = false;
    bool got_any = false;
    const std::string path =
        collection_ + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(watch_timeout_.count()) +
        "&resourceVersion=" + url_encode(resource_version_) + (query_.empty() ? "" : "&" + query_);
    auto code = client_->watch(path, [&](std::string_view line) {
      json ev = json::parse(line, nullptr, false);
      if (!ev.is_object()) return true;
      const std::string type = ev.value("type", "");
      const json& obj = ev.contains("object") ? ev["object"] : ev;
      if (type == "ERROR" || (type.empty() && obj.value("kind", "") == "Status")) {
        if (obj.value("code", 0) == 410) {
          gone = true;
          return false;
        }
        errored = true;
        log_event(LogLevel::kWarn, "k8s_watch_error", {{"watch", name_}, {"error", obj.value("message", "")}});
        return false;
      }
      got_any = true;
      if (obj.contains("metadata")) {
        const std::string rv = obj["metadata"].value("resourceVersion", "");
        if (!rv.empty()) resource_version_ = rv;
      }
      if (type == "BOOKMARK") return true;
      handlers_.on_event(type, obj);
      return true;
    });
    if (client_->stopped()) return;
    if (!code) {
      log_event(LogLevel::kWarn, "k8s_watch_broken", {{"watch", name_}, {"error", code.status().message()}});
      client_->sleep_for(backoff.next());
      ++resumes_;
      continue;
    }
    if (gone || *code == 410) {
      log_event(LogLevel::kInfo, "k8s_watch_expired", {{"watch", name_}, {"resource_version", resource_version_}});
      need_list = true;
      continue;
    }
    if (errored) {
      client_->sleep_for(backoff.next());
      need_list = true;
      continue;
    }
    if (*code != 200) {
      log_event(LogLevel::kWarn, "k8s_watch_refused", {{"watch", name_}, {"http", std::to_string(*code)}});
      client_->sleep_for(backoff.next());
      need_list = *code == 400 || *code == 404;  // our view may be stale
      continue;
    }
    // The server ended the watch after timeoutSeconds: resume from the last
    // version seen, no re-list needed.
    if (got_any) backoff.reset();
    ++resumes_;
  }
}

}  // namespace sched::backend::k8s
