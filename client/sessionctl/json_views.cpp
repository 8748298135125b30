// api structs -> nlohmann::json.
#include "client/sessionctl/json_views.hpp"

#include "client/sessionctl/enum_text.hpp"

namespace sched::sessionctl {

// Ordered, so fields print in the IDL's order, as the struct reads.
using json = nlohmann::ordered_json;

json json_of(const api::ResourceVector& v) {
  return {{"cpu_millis", v.cpu_millis},
          {"memory_mib", v.memory_mib},
          {"gpu_millis", v.gpu_millis},
          {"extras", json(v.extras)}};
}

json json_of(const api::Host& h) {
  return {{"name", h.name}, {"capacity", json_of(h.capacity)}, {"used", json_of(h.used)}, {"draining", h.draining},
          {"up", h.up},     {"executors", h.executors}};
}

json json_of(const api::ClusterStatus& s) {
  return {{"version", s.version},
          {"server_time_ms", s.server_time_ms},
          {"started_ms", s.started_ms},
          {"backend", s.backend},
          {"ready", s.ready},
          {"slot", json_of(s.slot)},
          {"capacity", json_of(s.capacity)},
          {"used", json_of(s.used)},
          {"sessions", s.sessions},
          {"executors", s.executors},
          {"pending_revocations", s.pending_revocations},
          {"hosts", json_of(s.hosts)},
          {"principal", s.principal}};
}

json json_of(const api::ConsumerInfo& c) {
  return {{"path", c.path},
          {"leaf", c.leaf},
          {"share", c.share},
          {"owned", json_of(c.owned)},
          {"limit", json_of(c.limit)},
          {"reserved", json_of(c.reserved)},
          {"borrow", c.borrow},
          {"demand", json_of(c.demand)},
          {"allocated", json_of(c.allocated)},
          {"target", json_of(c.target)},
          {"borrowed", json_of(c.borrowed)},
          {"lent", json_of(c.lent)},
          {"sessions", c.sessions}};
}

json json_of(const api::ConsumerTree& t) {
  return {{"yaml", t.yaml}, {"consumers", json_of(t.consumers)}, {"version", t.version}, {"updated_ms", t.updated_ms}};
}

json json_of(const api::Executor& e) {
  return {{"executor_id", e.executor_id},
          {"host", e.host},
          {"slots", e.slots},
          {"revoking", e.revoking},
          {"state", executor_state_name(e.state)},
          {"since_ms", e.since_ms},
          {"acknowledged", e.acknowledged},
          {"exit_code", e.exit_code},
          {"detail", e.detail},
          {"resources", json_of(e.resources)}};
}

json json_of(const api::SessionInfo& s) {
  return {{"session_id", s.session_id},
          {"consumer", s.consumer},
          {"user", s.user},
          {"application", s.application},
          {"sla", sla_name(s.sla)},
          {"priority", s.priority},
          {"slot_shape", json_of(s.slot_shape)},
          {"min_slots", s.min_slots},
          {"max_slots", s.max_slots},
          {"demand", s.demand},
          {"granted_slots", s.granted_slots},
          {"revoking", s.revoking},
          {"target_slots", s.target_slots},
          {"registered_ms", s.registered_ms},
          {"lease_expires_ms", s.lease_expires_ms},
          {"executors", json_of(s.executors)},
          {"principal", s.principal},
          {"first_executor_ms", s.first_executor_ms}};
}

json json_of(const api::ConsumerUsage& u) {
  return {{"path", u.path},
          {"allocated", json_of(u.allocated)},
          {"cpu_seconds", u.cpu_seconds},
          {"memory_gib_seconds", u.memory_gib_seconds},
          {"gpu_seconds", u.gpu_seconds},
          {"since_ms", u.since_ms}};
}

std::string json_text(const json& j) {
  return j.dump(2) + "\n";
}

}  // namespace sched::sessionctl
