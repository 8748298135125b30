// Where sessionctl connects and with which token: flags, then environment,
// then the daemon's default files. Pure so that tests can fake all three.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "client/cpp/client_options.hpp"
#include "common/status.hpp"

namespace sched::sessionctl {

// The global flags as typed (empty strings: not given).
struct GlobalFlags {
  std::string server;
  std::string token;
  std::string token_file;
  bool tls = false;
  std::string tls_ca;
  bool json = false;
};

// Reads one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
EnvLookup process_env();

inline constexpr const char* kServerEnv = "SESSIOND_SERVER";
inline constexpr const char* kTokenEnv = "SESSIOND_TOKEN";
// Where the daemon's embedded default configuration writes its admin token,
// relative to the directory sessionctl runs in.
inline constexpr const char* kDefaultTokenFile = "data/admin.token";

// --server, else $SESSIOND_SERVER, else 127.0.0.1:7420.
Result<client::ServerAddress> resolve_server(const std::string& flag, const EnvLookup& env);

struct ResolvedToken {
  std::string token;   // empty: none found; the server will say UNAUTHENTICATED
  std::string origin;  // for messages: "--token", "$SESSIOND_TOKEN", "data/admin.token", ...
};

// --token, else --token-file, else $SESSIOND_TOKEN, else `default_file` if it
// exists. A flag beats the environment, so a --token-file typed now wins over
// a variable exported long ago. Giving both flags, or a --token-file that
// cannot be read or is empty, is InvalidArgument.
Result<ResolvedToken> resolve_token(const std::string& flag, const std::string& token_file, const EnvLookup& env,
                                    const std::filesystem::path& default_file);

// The file's first line without surrounding whitespace.
Result<std::string> read_token_file(const std::filesystem::path& path);

// Everything above, as options for SchedulerClient.
struct ConnectionSettings {
  client::ClientOptions options;
  std::string token_origin;
};
Result<ConnectionSettings> resolve_connection(const GlobalFlags& flags, const EnvLookup& env,
                                              const std::filesystem::path& default_token_file);

}  // namespace sched::sessionctl
