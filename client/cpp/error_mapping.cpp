// api::ErrorCode -> StatusCode.
#include "client/cpp/error_mapping.hpp"

namespace sched::client {

StatusCode status_code_of(api::ErrorCode::type code) {
  switch (code) {
    case api::ErrorCode::INVALID_ARGUMENT:
      return StatusCode::kInvalidArgument;
    case api::ErrorCode::UNAUTHENTICATED:
      return StatusCode::kUnauthenticated;
    case api::ErrorCode::PERMISSION_DENIED:
      return StatusCode::kPermissionDenied;
    case api::ErrorCode::NOT_FOUND:
      return StatusCode::kNotFound;
    case api::ErrorCode::ALREADY_EXISTS:
      return StatusCode::kAlreadyExists;
    case api::ErrorCode::FAILED_PRECONDITION:
      return StatusCode::kFailedPrecondition;
    case api::ErrorCode::UNAVAILABLE:
      return StatusCode::kUnavailable;
    case api::ErrorCode::INTERNAL:
      return StatusCode::kInternal;
  }
  return StatusCode::kInternal;
}

Status status_of(const api::SchedulerError& error) {
  std::string message = error.message;
  if (message.empty()) message = "server error " + std::to_string(static_cast<int>(error.code));
  return {status_code_of(error.code), std::move(message)};
}

}  // namespace sched::client
