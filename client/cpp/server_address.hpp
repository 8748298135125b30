// "HOST:PORT" as users write a server's address, parsed once for every client.
#pragma once

#include <string>
#include <string_view>

#include "common/status.hpp"

namespace sched::client {

inline constexpr int kDefaultPort = 7420;

struct ServerAddress {
  std::string host;
  int port = kDefaultPort;

  // "host:port", with brackets around an IPv6 literal so it parses back.
  std::string to_string() const;
};

// Accepts "host:port", "host" (the default port), "[::1]:port" and "[::1]".
// An empty host, a port outside 1..65535 or trailing junk is InvalidArgument.
Result<ServerAddress> parse_server_address(std::string_view text);

}  // namespace sched::client
