// The consumer tree and host lists in YAML: the form operators write in
// session-sim scenarios, sessiond's configuration file and `sessionctl tree
// set`.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "config/yaml_fields.hpp"
#include "core/host_pool.hpp"
#include "core/share_policy.hpp"
#include "core/sla.hpp"

namespace sched::config {

// grace: 30s  |  grace: {default: 30s, batch: 10s, interactive: 2m}
Result<core::GraceByClass> read_grace(const FieldPath& ctx, const YAML::Node& n);
// rebalance: true  |  rebalance: {threshold: 0.8, delay: 30s}  (a map turns it on)
Result<core::RebalanceRule> read_rebalance(const FieldPath& ctx, const YAML::Node& n);
// A list of consumers (name, share, owned, limit, reserved, borrow, grace,
// plans, children).
Result<core::TreeSpec> read_tree(const FieldPath& ctx, const YAML::Node& n);
// hosts: [{name: h1, cpu: 8, memory: 32Gi}, {count: 100, cpu: 32, memory: 128Gi}]
// `names` collects host names across calls, to catch duplicates.
Result<std::vector<core::HostSpec>> read_hosts(const FieldPath& ctx, const YAML::Node& n, std::set<std::string>* names);
// A tree as text: a bare list of consumers, or a map with `consumers:`.
Result<core::TreeSpec> parse_tree_text(const std::string& text, const std::string& source);

}  // namespace sched::config
