// Token authentication with constant-time comparison, and the generated
// admin token of the embedded default.
#include "api/auth.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace sched::api {

bool path_is_under(std::string_view path, std::string_view root) {
  if (root == "/" || root.empty()) return true;
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  if (path.size() < root.size() || path.substr(0, root.size()) != root) return false;
  return path.size() == root.size() || path[root.size()] == '/';
}

bool Principal::may_act_on(std::string_view consumer_path) const {
  if (admin) return true;
  for (const auto& s : subtrees)
    if (path_is_under(consumer_path, s)) return true;
  return false;
}

bool Principal::sees_any_of(std::string_view prefix) const {
  if (admin) return true;
  for (const auto& s : subtrees)
    if (path_is_under(s, prefix) || path_is_under(prefix, s)) return true;
  return false;
}

Result<Principal> TokenAuthenticator::authenticate(std::string_view token) const {
  if (token.empty()) return Status::unauthenticated("no token: pass one (sessionctl --token, SESSIOND_TOKEN)");
  const config::TokenSpec* found = nullptr;
  // Compare against every token, whatever matches first, so the time taken
  // says nothing about which prefix was right.
  for (const auto& t : tokens_) {
    if (t.token.size() == token.size() && CRYPTO_memcmp(t.token.data(), token.data(), token.size()) == 0) found = &t;
  }
  if (found == nullptr) return Status::unauthenticated("unknown token");
  return Principal{found->principal, found->admin, found->consumers};
}

Result<std::string> load_or_create_admin_token(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto read = config::read_token_file(path);
    if (!read) return read.status();
    const std::string t = std::move(*read);
    if (t.size() < 16) return Status::invalid_argument("admin token file '" + path + "' holds no usable token");
    return t;
  }
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) return Status::internal("no randomness for the admin token");
  static const char* kHex = "0123456789abcdef";
  std::string t;
  for (unsigned char b : raw) {
    t += kHex[b >> 4];
    t += kHex[b & 15];
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Status::unavailable("cannot write the admin token to '" + path + "'");
  const std::string line = t + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status::unavailable("cannot write the admin token to '" + path + "'");
  return t;
}

}  // namespace sched::api
