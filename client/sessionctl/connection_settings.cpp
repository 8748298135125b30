// Resolution of sessionctl's server address and token.
#include "client/sessionctl/connection_settings.hpp"

#include <cstdlib>
#include <fstream>

namespace sched::sessionctl {

namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

EnvLookup process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<client::ServerAddress> resolve_server(const std::string& flag, const EnvLookup& env) {
  if (!flag.empty()) return client::parse_server_address(flag);
  if (auto v = env(kServerEnv); v && !v->empty()) {
    auto parsed = client::parse_server_address(*v);
    if (!parsed) return parsed.status().with_context(std::string("$") + kServerEnv);
    return parsed;
  }
  return client::ServerAddress{"127.0.0.1", client::kDefaultPort};
}

Result<std::string> read_token_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status::invalid_argument("cannot read token file " + path.string());
  std::string line;
  std::getline(in, line);
  std::string token = trim(line);
  if (token.empty()) return Status::invalid_argument("token file " + path.string() + " is empty");
  return token;
}

Result<ResolvedToken> resolve_token(const std::string& flag, const std::string& token_file, const EnvLookup& env,
                                    const std::filesystem::path& default_file) {
  if (!flag.empty() && !token_file.empty()) return Status::invalid_argument("give --token or --token-file, not both");
  if (!flag.empty()) return ResolvedToken{flag, "--token"};
  if (!token_file.empty()) {
    auto token = read_token_file(token_file);
    if (!token) return token.status();
    return ResolvedToken{std::move(token).value(), "--token-file " + token_file};
  }
  if (auto v = env(kTokenEnv); v && !trim(*v).empty()) return ResolvedToken{trim(*v), std::string("$") + kTokenEnv};
  std::error_code ec;
  if (std::filesystem::exists(default_file, ec)) {
    auto token = read_token_file(default_file);
    if (!token) return token.status();
    return ResolvedToken{std::move(token).value(), default_file.string()};
  }
  return ResolvedToken{"", "none"};
}

Result<ConnectionSettings> resolve_connection(const GlobalFlags& flags, const EnvLookup& env,
                                              const std::filesystem::path& default_token_file) {
  auto address = resolve_server(flags.server, env);
  if (!address) return address.status();
  auto token = resolve_token(flags.token, flags.token_file, env, default_token_file);
  if (!token) return token.status();

  ConnectionSettings out;
  out.options.host = address->host;
  out.options.port = address->port;
  out.options.token = token->token;
  out.options.tls.enabled = flags.tls || !flags.tls_ca.empty();
  out.options.tls.ca_file = flags.tls_ca;
  out.token_origin = token->origin;
  return out;
}

}  // namespace sched::sessionctl
