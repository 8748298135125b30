// The one translation of the API's error codes into the project's Status.
#pragma once

#include "common/status.hpp"
#include "idl/session_scheduler_types.h"

namespace sched::client {

// Unknown codes (a newer server) become kInternal.
StatusCode status_code_of(api::ErrorCode::type code);
Status status_of(const api::SchedulerError& error);

}  // namespace sched::client
