// Routing of one request frame of the Thrift endpoint (see frame_router.hpp).
#include "api/frame_router.hpp"

#include <thrift/async/TAsyncProcessor.h>
#include <thrift/processor/TMultiplexedProcessor.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>

namespace sched::api {
namespace {
constexpr std::uint32_t kReplyBufferStart = 256;
}  // namespace

using apache::thrift::TApplicationException;
using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::protocol::TMessageType;
using apache::thrift::transport::TMemoryBuffer;

std::string error_frame(TApplicationException::TApplicationExceptionType type, const std::string& message,
                        const std::string& name, std::int32_t seqid) {
  auto buf = std::make_shared<TMemoryBuffer>();
  TBinaryProtocol proto(buf);
  TApplicationException x(type, message);
  proto.writeMessageBegin(name, apache::thrift::protocol::T_EXCEPTION, seqid);
  x.write(&proto);
  proto.writeMessageEnd();
  return buf->getBufferAsString();
}

FrameRoute route_frame(std::string_view body, const ServiceMap& services, const FrameLimits& limits) {
  std::shared_ptr<TBinaryProtocol> in;
  std::string name;
  TMessageType type{};
  std::int32_t seqid = 0;
  try {
    // OBSERVE, not COPY: the processors read every argument inside
    // dispatch_call, before the caller reuses the buffer.
    auto in_buf = std::make_shared<TMemoryBuffer>(reinterpret_cast<std::uint8_t*>(const_cast<char*>(body.data())),
                                                  static_cast<std::uint32_t>(body.size()), TMemoryBuffer::OBSERVE);
    in = std::make_shared<TBinaryProtocol>(in_buf, limits.string_limit, limits.container_limit, true, true);
    in->readMessageBegin(name, type, seqid);
  } catch (const std::exception& e) {
    const std::string why = std::string("malformed request: ") + e.what();
    return RejectedFrame{error_frame(TApplicationException::PROTOCOL_ERROR, why, "", 0), true, "", e.what()};
  }
  if (type != apache::thrift::protocol::T_CALL && type != apache::thrift::protocol::T_ONEWAY) {
    return RejectedFrame{error_frame(TApplicationException::INVALID_MESSAGE_TYPE,
                                     "expected a call, got message type " + std::to_string(type), name, seqid),
                         true, "", ""};
  }
  const auto colon = name.find(':');
  if (colon == std::string::npos) {
    return RejectedFrame{error_frame(TApplicationException::UNKNOWN_METHOD,
                                     "'" + name +
                                         "': calls must name their service (TMultiplexedProtocol with "
                                         "'Sessions' or 'Admin')",
                                     name, seqid),
                         false, name, ""};
  }
  const std::string service = name.substr(0, colon);
  const std::string method = name.substr(colon + 1);
  auto proc = services.find(service);
  if (proc == services.end()) {
    return RejectedFrame{error_frame(TApplicationException::UNKNOWN_METHOD,
                                     "unknown service '" + service + "' (services: Sessions, Admin)", name, seqid),
                         false, name, ""};
  }
  RoutedCall call;
  call.name = name;
  call.seqid = seqid;
  call.oneway = type == apache::thrift::protocol::T_ONEWAY;
  call.processor = proc->second;
  call.in = std::make_shared<apache::thrift::protocol::StoredMessageProtocol>(in, method, type, seqid);
  return call;
}

Status dispatch_call(const RoutedCall& call, std::function<void(bool ok, std::string reply)> done) {
  // Replies are small (Thrift's default 1 KiB start is past the sizes
  // malloc keeps per thread); a bigger one grows the buffer.
  auto out_buf = std::make_shared<TMemoryBuffer>(kReplyBufferStart);
  auto out = std::make_shared<TBinaryProtocol>(out_buf);
  try {
    // The callback keeps both protocols alive: a parked long poll answers
    // long after this returns.
    call.processor->process(
        [in = call.in, out, out_buf, done = std::move(done)](bool ok) { done(ok, out_buf->getBufferAsString()); },
        call.in, out);
  } catch (const std::exception& e) {
    return Status::invalid_argument(e.what());
  }
  return Status::ok();
}

}  // namespace sched::api
