// The human form of every sessionctl reply: aligned tables and key/value
// blocks. Pure functions of the reply (and of "now", for ages).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "idl/session_scheduler_types.h"

namespace sched::sessionctl {

// `server` is the address dialled, shown first.
std::string status_text(const api::ClusterStatus& status, const std::string& server);

// `wide` adds reserved, borrow, borrowed and lent.
std::string tree_text(const api::ConsumerTree& tree, bool wide);

// What `tree set` did: on a dry run only whether the file is valid (the
// reply then holds the old tree); otherwise the new version and its table.
std::string tree_set_text(const api::ConsumerTree& tree, bool dry_run);

// `executors` adds one table of every session's executors.
std::string sessions_text(const std::vector<api::SessionInfo>& sessions, std::int64_t now_ms, bool executors);

std::string drain_text(const api::Host& host, bool drain);

std::string usage_text(const std::vector<api::ConsumerUsage>& usage);

}  // namespace sched::sessionctl
