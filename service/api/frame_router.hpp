// What the Thrift endpoint does with one request frame, apart from sockets:
// decode the message header, route by the multiplexed "Service:method" name,
// run the processor, and build the error replies. Pure, so the request fuzzer
// runs exactly the code a connection runs.
#pragma once

#include <thrift/TApplicationException.h>
#include <thrift/protocol/TProtocol.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "api/thrift_server.hpp"
#include "common/status.hpp"

namespace sched::api {

// Lists and maps in one request: far above any real call (10,000 executor
// ids), far below what a hostile length field could make us allocate.
inline constexpr std::int32_t kMaxContainerElements = 100'000;

// Bounds on what the decoder allocates for one frame.
struct FrameLimits {
  std::int32_t string_limit = 16 << 20;  // api.max_frame_bytes: no string can be longer than its frame
  std::int32_t container_limit = kMaxContainerElements;
};

// A frame that reached a service: hand `in` to `processor`.
struct RoutedCall {
  std::string name;  // "Service:method", as metrics and logs name the call
  std::int32_t seqid = 0;
  bool oneway = false;
  std::shared_ptr<apache::thrift::async::TAsyncProcessor> processor;
  // Positioned on the arguments; answers readMessageBegin with the bare method.
  std::shared_ptr<apache::thrift::protocol::TProtocol> in;
};

// A frame that cannot reach a service: the error reply to send instead.
struct RejectedFrame {
  std::string reply;      // a TApplicationException frame body
  bool close = false;     // the stream cannot be trusted after this frame
  std::string method;     // the call's name when the header decoded far enough to count it; else empty
  std::string log_error;  // when set, worth a "request_malformed" warning
};

using FrameRoute = std::variant<RoutedCall, RejectedFrame>;

// Decodes the header of one frame body (strict binary protocol) and finds its
// service. Never throws. The route reads `body` in place: keep it unchanged
// until dispatch_call of the route has returned.
FrameRoute route_frame(std::string_view body, const ServiceMap& services, const FrameLimits& limits);

// Runs a routed call. `done(ok, reply)` gets the reply body, possibly later
// and on another thread; ok=false with an empty reply means the arguments did
// not decode. An error (the exception's text) means process() threw before
// any callback: answer with a PROTOCOL_ERROR and close.
Status dispatch_call(const RoutedCall& call, std::function<void(bool ok, std::string reply)> done);

// A reply frame body carrying a TApplicationException: how a Thrift client
// learns that its request could not be served.
std::string error_frame(apache::thrift::TApplicationException::TApplicationExceptionType type,
                        const std::string& message, const std::string& name, std::int32_t seqid);

}  // namespace sched::api
