// libFuzzer target: one request frame body through what sessiond does with a
// frame (route_frame, then the generated async processors) with stub handlers.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "api/frame_router.hpp"
#include "idl/Admin.h"
#include "idl/Sessions.h"

namespace {

using apache::thrift::TApplicationException;

// The handlers answer at once with empty values: what is fuzzed is the
// decoding and dispatch, not the engine.
const sched::api::ServiceMap& services() {
  static const sched::api::ServiceMap map = {
      {"Sessions",
       std::make_shared<sched::api::SessionsAsyncProcessor>(std::make_shared<sched::api::SessionsCobSvNull>())},
      {"Admin", std::make_shared<sched::api::AdminAsyncProcessor>(std::make_shared<sched::api::AdminCobSvNull>())},
  };
  return map;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The server refuses a frame of size 0 before reading a body.
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto route = sched::api::route_frame(body, services(), sched::api::FrameLimits{});
  const auto* call = std::get_if<sched::api::RoutedCall>(&route);
  if (call == nullptr) return 0;
  bool answered = false;
  const sched::Status st = sched::api::dispatch_call(*call, [&](bool ok, std::string reply) {
    answered = true;
    // As the connection does when the arguments did not decode.
    if (!ok && reply.empty()) {
      reply = sched::api::error_frame(TApplicationException::PROTOCOL_ERROR,
                                      "malformed arguments for '" + call->name + "'", call->name, call->seqid);
    }
  });
  if (!st.is_ok()) {
    (void)sched::api::error_frame(TApplicationException::PROTOCOL_ERROR, "malformed request: " + st.message(),
                                  call->name, call->seqid);
    return 0;
  }
  // The stubs answer synchronously: a call that neither threw nor answered
  // would leave its connection hanging forever.
  if (!answered) __builtin_trap();
  return 0;
}
