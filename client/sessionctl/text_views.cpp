// Text rendering of status, tree, sessions, drain and usage replies.
#include "client/sessionctl/text_views.hpp"

#include <algorithm>
#include <cstdio>

#include "client/sessionctl/enum_text.hpp"
#include "client/sessionctl/resource_text.hpp"
#include "client/sessionctl/table.hpp"
#include "client/sessionctl/time_text.hpp"

namespace sched::sessionctl {

namespace {

using Align = Table::Align;

std::string yes_no(bool b) {
  return b ? "yes" : "no";
}

std::string fixed1(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// "1.5" rather than "1.500000" for shares.
std::string short_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A key/value block: keys padded to one width.
std::string fields_text(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t width = 0;
  for (const auto& [k, v] : fields) width = std::max(width, k.size());
  std::string out;
  for (const auto& [k, v] : fields) out += k + std::string(width - k.size() + 2, ' ') + v + '\n';
  return out;
}

std::string host_state(const api::Host& h) {
  std::string s = h.up ? "up" : "down";
  if (h.draining) s += ",draining";
  return s;
}

int depth_of(const std::string& path) {
  if (path == "/") return 0;
  return static_cast<int>(std::count(path.begin(), path.end(), '/'));
}

}  // namespace

std::string status_text(const api::ClusterStatus& s, const std::string& server) {
  std::string started = format_timestamp(s.started_ms);
  if (s.started_ms > 0 && s.server_time_ms >= s.started_ms)
    started += " (up " + format_age(s.server_time_ms - s.started_ms) + ")";
  std::string out = fields_text({
      {"server", server},
      {"version", s.version},
      {"backend", s.backend},
      {"ready", yes_no(s.ready)},
      {"principal", s.principal.empty() ? "-" : s.principal},
      {"started", started},
      {"slot", format_resources(s.slot)},
      {"capacity", format_resources(s.capacity)},
      {"used", format_resources(s.used)},
      {"sessions", std::to_string(s.sessions)},
      {"executors", std::to_string(s.executors)},
      {"revocations", std::to_string(s.pending_revocations) + " pending"},
  });
  if (s.hosts.empty()) return out + "\nno hosts\n";
  Table hosts({{"HOST"}, {"STATE"}, {"EXECUTORS", Align::kRight}, {"CAPACITY"}, {"USED"}});
  for (const auto& h : s.hosts)
    hosts.add_row(
        {h.name, host_state(h), std::to_string(h.executors), format_resources(h.capacity), format_resources(h.used)});
  return out + "\n" + hosts.render();
}

std::string tree_text(const api::ConsumerTree& tree, bool wide) {
  std::string out = "tree version " + std::to_string(tree.version) + ", set " + format_timestamp(tree.updated_ms) +
                    ", " + std::to_string(tree.consumers.size()) + " consumers\n";
  if (tree.consumers.empty()) return out;
  std::vector<Table::Column> cols = {{"CONSUMER"}, {"SHARE", Align::kRight}, {"OWNED"}, {"LIMIT"}};
  if (wide) cols.insert(cols.end(), {{"RESERVED"}, {"BORROW"}});
  cols.insert(cols.end(), {{"DEMAND"}, {"ALLOCATED"}, {"TARGET"}});
  if (wide) cols.insert(cols.end(), {{"BORROWED"}, {"LENT"}});
  cols.push_back({"SESSIONS", Align::kRight});
  Table t(std::move(cols));

  // Indenting by depth shows the tree while keeping each path whole, so it
  // can be pasted into --consumer.
  int min_depth = 1 << 20;
  for (const auto& c : tree.consumers) min_depth = std::min(min_depth, depth_of(c.path));
  for (const auto& c : tree.consumers) {
    std::vector<std::string> row = {std::string(2 * (depth_of(c.path) - min_depth), ' ') + c.path,
                                    short_number(c.share), format_resources(c.owned), format_resources(c.limit)};
    if (wide) row.insert(row.end(), {format_resources(c.reserved), yes_no(c.borrow)});
    row.insert(row.end(), {format_resources(c.demand), format_resources(c.allocated), format_resources(c.target)});
    if (wide) row.insert(row.end(), {format_resources(c.borrowed), format_resources(c.lent)});
    row.push_back(std::to_string(c.sessions));
    t.add_row(std::move(row));
  }
  return out + "\n" + t.render();
}

std::string tree_set_text(const api::ConsumerTree& tree, bool dry_run) {
  if (dry_run) return "valid: the tree was checked and not applied (dry run)\n";
  return "applied: " + tree_text(tree, false);
}

std::string sessions_text(const std::vector<api::SessionInfo>& sessions, std::int64_t now_ms, bool executors) {
  if (sessions.empty()) return "no sessions\n";
  Table t({{"SESSION"},
           {"CONSUMER"},
           {"USER"},
           {"SLA"},
           {"PRIO", Align::kRight},
           {"DEMAND", Align::kRight},
           {"GRANTED", Align::kRight},
           {"TARGET", Align::kRight},
           {"REVOKING", Align::kRight},
           {"EXECUTORS", Align::kRight},
           {"SLOT"},
           {"AGE", Align::kRight}});
  for (const auto& s : sessions)
    t.add_row({s.session_id, s.consumer, s.user.empty() ? "-" : s.user, sla_name(s.sla), std::to_string(s.priority),
               std::to_string(s.demand), std::to_string(s.granted_slots), std::to_string(s.target_slots),
               std::to_string(s.revoking), std::to_string(s.executors.size()), format_resources(s.slot_shape),
               format_age(now_ms - s.registered_ms)});
  std::string out = t.render();
  if (!executors) return out;

  Table e({{"SESSION"},
           {"EXECUTOR"},
           {"HOST"},
           {"STATE"},
           {"SLOTS", Align::kRight},
           {"REVOKING", Align::kRight},
           {"ACK"},
           {"RESOURCES"},
           {"AGE", Align::kRight},
           {"DETAIL"}});
  for (const auto& s : sessions)
    for (const auto& x : s.executors) {
      std::string detail = x.detail;
      if (x.state == api::ExecutorState::EXITED)
        detail = "exit " + std::to_string(x.exit_code) + (detail.empty() ? "" : ": " + detail);
      e.add_row({s.session_id, x.executor_id, x.host, executor_state_name(x.state), std::to_string(x.slots),
                 std::to_string(x.revoking), yes_no(x.acknowledged), format_resources(x.resources),
                 format_age(now_ms - x.since_ms), detail});
    }
  if (e.empty()) return out + "\nno executors\n";
  return out + "\n" + e.render();
}

std::string drain_text(const api::Host& h, bool drain) {
  const std::string what =
      drain ? "draining: takes no new slots; its slots are revoked with grace" : "back in service: takes new slots";
  return h.name + " " + what + " (" + host_state(h) + ", " + std::to_string(h.executors) + " executors, used " +
         format_resources(h.used) + " of " + format_resources(h.capacity) + ")\n";
}

std::string usage_text(const std::vector<api::ConsumerUsage>& usage) {
  if (usage.empty()) return "no usage\n";
  Table t({{"CONSUMER"},
           {"ALLOCATED"},
           {"CPU-SECONDS", Align::kRight},
           {"MEMORY-GIB-SECONDS", Align::kRight},
           {"GPU-SECONDS", Align::kRight},
           {"SINCE"}});
  for (const auto& u : usage)
    t.add_row({u.path, format_resources(u.allocated), fixed1(u.cpu_seconds), fixed1(u.memory_gib_seconds),
               fixed1(u.gpu_seconds), format_timestamp(u.since_ms)});
  return t.render();
}

}  // namespace sched::sessionctl
