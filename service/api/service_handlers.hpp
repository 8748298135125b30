// The two Thrift services: authenticate the token, hop onto the engine's
// strand, and turn the engine's Result into a reply or a SchedulerError.
#pragma once

#include <memory>

#include "api/auth.hpp"
#include "api/thrift_server.hpp"
#include "daemon/engine.hpp"

namespace sched::api {

// The processors for "Sessions" and "Admin", served by `engine`.
ServiceMap make_services(daemon::Engine& engine, std::shared_ptr<const TokenAuthenticator> auth);

}  // namespace sched::api
