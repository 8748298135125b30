// Conversions between the wire's types and the core's.
#include "api/convert.hpp"

#include <cmath>

#include "common/json_text.hpp"
#include "core/consumer_tree.hpp"

namespace sched::api {

Result<core::Resources> to_core(const sched::api::ResourceVector& v) {
  core::Resources r;
  const std::pair<const char*, std::int64_t> fixed[] = {
      {"cpu_millis", v.cpu_millis}, {"memory_mib", v.memory_mib}, {"gpu_millis", v.gpu_millis}};
  for (std::size_t k = 0; k < 3; ++k) {
    if (fixed[k].second < 0) {
      return Status::invalid_argument(std::string(fixed[k].first) + " must not be negative, got " +
                                      std::to_string(fixed[k].second));
    }
    r[k] = fixed[k].second;
  }
  for (const auto& [name, amount] : v.extras) {
    if (amount < 0) return Status::invalid_argument("extras." + name + " must not be negative");
    auto kind = core::ResourceKinds::find_or_add(name);
    if (!kind) return kind.status();
    r[*kind] = amount;
  }
  return r;
}

sched::api::ResourceVector to_api(const core::Resources& r) {
  sched::api::ResourceVector v;
  v.cpu_millis = r[core::kCpu];
  v.memory_mib = r[core::kMemory];
  v.gpu_millis = r[core::kGpu];
  for (std::size_t k = 3; k < core::ResourceKinds::count(); ++k) {
    if (r[k] != 0) v.extras[core::ResourceKinds::name(k)] = r[k];
  }
  return v;
}

sched::api::ResourceVector to_api_limit(const core::Resources& r) {
  core::Resources c = r;
  for (std::size_t k = 0; k < core::kMaxResourceKinds; ++k)
    if (c[k] >= core::kUnlimitedAmount) c[k] = -1;
  auto v = to_api(c);
  for (std::size_t k = 3; k < core::ResourceKinds::count(); ++k) v.extras[core::ResourceKinds::name(k)] = c[k];
  return v;
}

sched::api::ResourceVector to_api(const core::FracResources& f) {
  core::Resources r;
  for (std::size_t k = 0; k < core::kMaxResourceKinds; ++k) r[k] = static_cast<std::int64_t>(std::llround(f[k]));
  return to_api(r);
}

Result<core::SlaClass> to_core(sched::api::SlaClass::type sla) {
  switch (sla) {
    case sched::api::SlaClass::INTERACTIVE:
      return core::SlaClass::kInteractive;
    case sched::api::SlaClass::STREAMING:
      return core::SlaClass::kStreaming;
    case sched::api::SlaClass::BATCH:
      return core::SlaClass::kBatch;
  }
  return Status::invalid_argument("sla must be INTERACTIVE, STREAMING or BATCH, got " +
                                  std::to_string(static_cast<int>(sla)));
}

sched::api::SlaClass::type to_api(core::SlaClass sla) {
  switch (sla) {
    case core::SlaClass::kInteractive:
      return sched::api::SlaClass::INTERACTIVE;
    case core::SlaClass::kStreaming:
      return sched::api::SlaClass::STREAMING;
    default:
      return sched::api::SlaClass::BATCH;
  }
}

sched::api::SchedulerError to_error(const Status& s) {
  sched::api::SchedulerError e;
  e.message = s.message();
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      e.code = sched::api::ErrorCode::INVALID_ARGUMENT;
      break;
    case StatusCode::kUnauthenticated:
      e.code = sched::api::ErrorCode::UNAUTHENTICATED;
      break;
    case StatusCode::kPermissionDenied:
      e.code = sched::api::ErrorCode::PERMISSION_DENIED;
      break;
    case StatusCode::kNotFound:
      e.code = sched::api::ErrorCode::NOT_FOUND;
      break;
    case StatusCode::kAlreadyExists:
      e.code = sched::api::ErrorCode::ALREADY_EXISTS;
      break;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kResourceExhausted:
      e.code = sched::api::ErrorCode::FAILED_PRECONDITION;
      break;
    case StatusCode::kUnavailable:
      e.code = sched::api::ErrorCode::UNAVAILABLE;
      break;
    default:
      e.code = sched::api::ErrorCode::INTERNAL;
  }
  return e;
}

Status check_utf8(const std::string& field, std::string_view text) {
  if (valid_utf8(text)) return Status::ok();
  return Status::invalid_argument(field + ": not valid UTF-8");
}

Status check_utf8(const sched::api::SessionSpec& spec) {
  SCHED_RETURN_IF_ERROR(check_utf8("consumer", spec.consumer));
  SCHED_RETURN_IF_ERROR(check_utf8("user", spec.user));
  SCHED_RETURN_IF_ERROR(check_utf8("application", spec.application));
  if (spec.__isset.session_id) SCHED_RETURN_IF_ERROR(check_utf8("session_id", spec.session_id));
  for (const auto& [kind, amount] : spec.slot_shape.extras)
    SCHED_RETURN_IF_ERROR(check_utf8("slot_shape.extras", kind));
  const auto& l = spec.launch;
  for (const auto& a : l.command) SCHED_RETURN_IF_ERROR(check_utf8("launch.command", a));
  for (const auto& a : l.warm_command) SCHED_RETURN_IF_ERROR(check_utf8("launch.warm_command", a));
  for (const auto& [k, v] : l.env) {
    SCHED_RETURN_IF_ERROR(check_utf8("launch.env", k));
    SCHED_RETURN_IF_ERROR(check_utf8("launch.env[" + k + "]", v));
  }
  SCHED_RETURN_IF_ERROR(check_utf8("launch.working_dir", l.working_dir));
  SCHED_RETURN_IF_ERROR(check_utf8("launch.image", l.image));
  for (const auto& [k, v] : l.backend_options) {
    SCHED_RETURN_IF_ERROR(check_utf8("launch.backend_options", k));
    SCHED_RETURN_IF_ERROR(check_utf8("launch.backend_options[" + k + "]", v));
  }
  return Status::ok();
}

}  // namespace sched::api
