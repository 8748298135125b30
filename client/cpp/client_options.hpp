// How a SchedulerClient reaches sessiond: address, credentials, timeouts, TLS.
#pragma once

#include <string>

#include "client/cpp/server_address.hpp"

namespace sched::client {

struct TlsOptions {
  // Wrap the connection in TLS. Default: false.
  bool enabled = false;
  // PEM bundle of the CAs that may sign the server's certificate; empty uses
  // the system's trust store. Default: "".
  std::string ca_file;
  // PEM client certificate and key, for servers that ask for one. Both or
  // neither. Default: "".
  std::string cert_file;
  std::string key_file;
  // Check that the server's certificate names `host`. Turning it off still
  // checks the chain; only for test certificates issued to another name.
  // Default: true.
  bool verify_hostname = true;
};

struct ClientOptions {
  // Default: "127.0.0.1".
  std::string host = "127.0.0.1";
  // Default: 7420.
  int port = kDefaultPort;
  // Sent first in every call; the server maps it to a principal. Default: "".
  std::string token;
  // Milliseconds; 0 waits as long as the OS does. Default: 5000.
  int connect_timeout_ms = 5000;
  // Longest wait for one reply, in milliseconds; 0 is no limit. Heartbeats
  // wait longer on their own (see long_poll_margin_ms). Default: 30000.
  int recv_timeout_ms = 30000;
  // Milliseconds; 0 is no limit. Default: 30000.
  int send_timeout_ms = 30000;
  // A heartbeat may be held by the server for wait_ms, so its reply is
  // awaited for wait_ms plus this margin (and never less than
  // recv_timeout_ms). Default: 5000.
  int long_poll_margin_ms = 5000;
  TlsOptions tls;

  ServerAddress address() const { return {host, port}; }
};

}  // namespace sched::client
