// JSON form of session and executor records in the state store.
#include "daemon/records.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/json_text.hpp"

namespace sched::daemon {
namespace {

using nlohmann::json;

json resources_json(const core::Resources& r) {
  json j = json::object();
  for (std::size_t k = 0; k < core::ResourceKinds::count(); ++k) {
    if (r[k] != 0) j[core::ResourceKinds::name(k)] = r[k];
  }
  return j;
}

core::Resources resources_from(const json& j) {
  core::Resources r;
  for (const auto& [name, v] : j.items()) {
    auto kind = core::ResourceKinds::find_or_add(name);
    if (kind) r[*kind] = v.get<std::int64_t>();
  }
  return r;
}

void write_resources(JsonObjectWriter& w, std::string_view k, const core::Resources& r) {
  w.key(k);
  JsonObjectWriter inner(w.buffer());
  for (std::size_t i = 0; i < core::ResourceKinds::count(); ++i)
    if (r[i] != 0) inner.num(core::ResourceKinds::name(i), r[i]);
  inner.close();
}

void read_interval(const json& m, SessionRecord* s) {
  s->metered_slots = m.at("slots").get<std::int64_t>();
  s->metered_held = resources_from(m.at("held"));
  s->metered_since_s = m.at("since_s").get<std::int64_t>();
  s->metered_busy_slot_ms = m.value("busy_slot_ms", std::int64_t{0});
  s->metered_busy_slots = m.value("busy_slots", std::int64_t{0});
  s->metered_busy_since_ms = m.value("busy_since_ms", core::TimeMs{0});
}

}  // namespace

std::string to_json(const SessionRecord& s) {
  // Written by hand rather than through a JSON tree: a session's record is
  // written again whenever its demand, busy count or open usage interval
  // changes, and with a Spark launch spec (about 3 KB of JVM command line)
  // the tree cost about 18 us a record on the strand.
  fmt::memory_buffer b;
  JsonObjectWriter w(b);
  w.str("id", s.id);
  w.str("consumer", s.consumer);
  w.str("user", s.user);
  w.str("application", s.application);
  w.str("principal", s.principal);
  w.str("sla", core::sla_name(s.sla));
  w.num("priority", s.priority);
  write_resources(w, "shape", s.shape);
  w.num("min", s.min);
  w.num("max", s.max);
  w.num("demand", s.demand);
  w.key("launch");
  {
    JsonObjectWriter l(b);
    l.strings("command", s.launch.command);
    l.string_map("env", s.launch.env);
    l.str("working_dir", s.launch.working_dir);
    if (!s.launch.image.empty()) l.str("image", s.launch.image);
    if (!s.launch.backend_options.empty()) l.string_map("backend_options", s.launch.backend_options);
    if (!s.launch.warm_command.empty()) {
      l.strings("warm_command", s.launch.warm_command);
      l.num("warm_args_from", s.launch.warm_args_from);
    }
    l.close();
  }
  w.num("lease_ttl_ms", s.lease_ttl_ms);
  w.num("registered_ms", s.registered_ms);
  w.num("first_executor_ms", s.first_executor_ms);
  w.num("executor_seq", s.executor_seq);
  w.num("failures", s.failures);
  w.boolean("failed", s.failed);
  w.str("failure", s.failure);
  w.num("preemptions", s.preemptions);
  w.num("slots_preempted", s.slots_preempted);
  // The open usage interval is stored under interval_key().
  w.close();
  return std::string(b.data(), b.size());
}

std::string interval_to_json(const SessionRecord& s) {
  fmt::memory_buffer b;
  JsonObjectWriter m(b);
  m.num("slots", s.metered_slots);
  write_resources(m, "held", s.metered_held);
  m.num("since_s", s.metered_since_s);
  m.num("busy_slot_ms", s.metered_busy_slot_ms);
  m.num("busy_slots", s.metered_busy_slots);
  m.num("busy_since_ms", s.metered_busy_since_ms);
  m.close();
  return std::string(b.data(), b.size());
}

Status interval_from_json(std::string_view text, SessionRecord* s) {
  try {
    read_interval(json::parse(text), s);
    return Status::ok();
  } catch (const std::exception& e) {
    return Status::internal(std::string("unreadable usage interval: ") + e.what());
  }
}

std::string to_json(const ExecutorRecord& e) {
  json j;
  j["id"] = e.id;
  j["session"] = e.session;
  j["consumer"] = e.consumer;
  j["host"] = e.host;
  j["slots"] = e.slots;
  j["revoking"] = e.revoking;
  j["phase"] = static_cast<int>(e.phase);
  j["since_ms"] = e.since_ms;
  j["acknowledged"] = e.acknowledged;
  j["exit_code"] = e.exit_code;
  j["detail"] = e.detail;
  j["backend_id"] = e.backend_id;
  j["resources"] = resources_json(e.resources);
  j["has_process"] = e.has_process;
  j["exited_ms"] = e.exited_ms;
  return j.dump();
}

Result<SessionRecord> session_from_json(std::string_view text) {
  // nlohmann reports problems by throwing; they stop here.
  try {
    const json j = json::parse(text);
    SessionRecord s;
    s.id = j.at("id").get<std::string>();
    s.consumer = j.at("consumer").get<std::string>();
    s.user = j.value("user", "");
    s.application = j.value("application", "");
    s.principal = j.value("principal", "");
    auto sla = core::parse_sla(j.at("sla").get<std::string>());
    if (!sla) return sla.status();
    s.sla = *sla;
    s.priority = j.value("priority", 0);
    s.shape = resources_from(j.at("shape"));
    s.min = j.value("min", std::int64_t{0});
    s.max = j.value("max", std::int64_t{0});
    s.demand = j.value("demand", std::int64_t{0});
    const json& l = j.at("launch");
    s.launch.command = l.value("command", std::vector<std::string>{});
    s.launch.env = l.value("env", std::map<std::string, std::string>{});
    s.launch.working_dir = l.value("working_dir", "");
    s.launch.image = l.value("image", "");
    s.launch.backend_options = l.value("backend_options", std::map<std::string, std::string>{});
    s.launch.warm_command = l.value("warm_command", std::vector<std::string>{});
    s.launch.warm_args_from = l.value("warm_args_from", std::size_t{0});
    s.lease_ttl_ms = j.value("lease_ttl_ms", core::TimeMs{0});
    s.registered_ms = j.value("registered_ms", core::TimeMs{0});
    s.first_executor_ms = j.value("first_executor_ms", core::TimeMs{0});
    s.executor_seq = j.value("executor_seq", std::int64_t{0});
    s.failures = j.value("failures", 0);
    s.failed = j.value("failed", false);
    s.failure = j.value("failure", "");
    s.preemptions = j.value("preemptions", std::int64_t{0});
    s.slots_preempted = j.value("slots_preempted", std::int64_t{0});
    // Records written before the interval had a key of its own.
    if (j.contains("metered")) read_interval(j.at("metered"), &s);
    return s;
  } catch (const std::exception& e) {
    return Status::internal(std::string("unreadable session record: ") + e.what());
  }
}

Result<ExecutorRecord> executor_from_json(std::string_view text) {
  try {
    const json j = json::parse(text);
    ExecutorRecord e;
    e.id = j.at("id").get<std::string>();
    e.session = j.at("session").get<std::string>();
    e.consumer = j.value("consumer", "");
    e.host = j.at("host").get<std::string>();
    e.slots = j.value("slots", std::int64_t{0});
    e.revoking = j.value("revoking", std::int64_t{0});
    const int phase = j.value("phase", 1);
    if (phase < 1 || phase > 4) return Status::internal("executor record with phase " + std::to_string(phase));
    e.phase = static_cast<ExecutorPhase>(phase);
    e.since_ms = j.value("since_ms", core::TimeMs{0});
    e.acknowledged = j.value("acknowledged", false);
    e.exit_code = j.value("exit_code", 0);
    e.detail = j.value("detail", "");
    e.backend_id = j.value("backend_id", "");
    e.resources = resources_from(j.value("resources", json::object()));
    e.has_process = j.value("has_process", true);
    e.exited_ms = j.value("exited_ms", core::TimeMs{0});
    return e;
  } catch (const std::exception& ex) {
    return Status::internal(std::string("unreadable executor record: ") + ex.what());
  }
}

}  // namespace sched::daemon
