// Parsing of "HOST:PORT" server addresses.
#include "client/cpp/server_address.hpp"

#include <charconv>

namespace sched::client {

std::string ServerAddress::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ServerAddress> parse_server_address(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  ServerAddress out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return Status::invalid_argument("server " + quoted + ": missing ']'");
    out.host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Status::invalid_argument("server " + quoted + ": expected ':PORT' after ']'");
      port_text = rest.substr(1);
      if (port_text.empty()) return Status::invalid_argument("server " + quoted + ": empty port");
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon)
      return Status::invalid_argument("server " + quoted + ": write an IPv6 address as [ADDR]:PORT");
    out.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      if (port_text.empty()) return Status::invalid_argument("server " + quoted + ": empty port");
    }
  }
  if (out.host.empty()) return Status::invalid_argument("server " + quoted + ": empty host (expected HOST:PORT)");
  if (!port_text.empty()) {
    int port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
      return Status::invalid_argument("server " + quoted + ": port must be a number in 1..65535");
    out.port = port;
  }
  return out;
}

}  // namespace sched::client
