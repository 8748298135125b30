// The API's enums as sessionctl prints them, in both text and JSON: lower
// case, as the design and the configuration write them ("interactive").
#pragma once

#include <string>

#include "idl/session_scheduler_types.h"

namespace sched::sessionctl {

std::string sla_name(api::SlaClass::type sla);
std::string executor_state_name(api::ExecutorState::type state);

}  // namespace sched::sessionctl
