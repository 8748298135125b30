// Who a caller is: tokens map to principals; a tenant principal acts only
// inside its consumer subtrees, an admin principal everywhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "config/daemon_config.hpp"

namespace sched::api {

struct Principal {
  std::string name;
  bool admin = false;
  std::vector<std::string> subtrees;  // tenants only

  // Whether `consumer_path` is inside one of the subtrees (or admin).
  bool may_act_on(std::string_view consumer_path) const;
  // Whether the principal sees some of `prefix`'s subtree (for listings).
  bool sees_any_of(std::string_view prefix) const;
};

// Whether `path` is `root` or below it ("/a/b" is under "/a", "/ab" is not).
bool path_is_under(std::string_view path, std::string_view root);

class TokenAuthenticator {
 public:
  explicit TokenAuthenticator(std::vector<config::TokenSpec> tokens) : tokens_(std::move(tokens)) {}

  // kUnauthenticated for a missing or unknown token; the message never
  // echoes the token.
  Result<Principal> authenticate(std::string_view token) const;

 private:
  std::vector<config::TokenSpec> tokens_;
};

// Reads the admin token from `path`, or writes a fresh random one there
// (mode 0600) when the file does not exist.
Result<std::string> load_or_create_admin_token(const std::string& path);

}  // namespace sched::api
