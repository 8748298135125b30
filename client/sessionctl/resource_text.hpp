// Resource vectors of the API as operators read them: "cpu=2 memory=8Gi".
#pragma once

#include <string>

#include "common/status.hpp"
#include "core/resources.hpp"
#include "idl/session_scheduler_types.h"

namespace sched::sessionctl {

// The API's vector in the core's form (extras become named kinds). Fails
// when a vector names more extras than the core has room for.
Result<core::Resources> to_core(const api::ResourceVector& v);

// "cpu=2 memory=8Gi gpu=0.5 fpga=1": zero kinds left out, "none" when all
// are zero. The API writes "unlimited" as -1; such a kind reads
// "cpu=unlimited", and a vector unlimited in every fixed kind "unlimited".
std::string format_resources(const api::ResourceVector& v);

}  // namespace sched::sessionctl
