// Between the API's types and the core's: resource vectors, SLA classes and
// statuses as the wire's SchedulerError.
#pragma once

#include "common/status.hpp"
#include "core/resources.hpp"
#include "core/sla.hpp"
#include "idl/session_scheduler_types.h"

namespace sched::api {

// Fails on a negative amount or an extra kind there is no room for.
Result<core::Resources> to_core(const sched::api::ResourceVector& v);
sched::api::ResourceVector to_api(const core::Resources& r);
// Unlimited kinds (core::kUnlimitedAmount and above) as -1.
sched::api::ResourceVector to_api_limit(const core::Resources& r);
sched::api::ResourceVector to_api(const core::FracResources& r);

Result<core::SlaClass> to_core(sched::api::SlaClass::type sla);
sched::api::SlaClass::type to_api(core::SlaClass sla);

sched::api::SchedulerError to_error(const Status& s);

// Thrift strings are bytes on the wire; what the daemon stores is JSON,
// which holds only UTF-8. Names the first field that is not.
Status check_utf8(const std::string& field, std::string_view text);
Status check_utf8(const sched::api::SessionSpec& spec);

}  // namespace sched::api
