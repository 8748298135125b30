// JSON and CSV forms of ledger records (docs/billing.md is the contract).
#include "billing/ledger_record.hpp"

#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

namespace sched::billing {
namespace {

using nlohmann::json;

// Thousandths as a JSON number: 1500 -> 1.5. Doubles print shortest-exact,
// so the text is the decimal the integer means.
double thousandths(std::int64_t v) {
  return static_cast<double>(v) / 1000.0;
}

std::int64_t to_thousandths(double v) {
  return std::llround(v * 1000.0);
}

json who_json(const SessionAttrs& a) {
  return json{
      {"tenant", tenant_of(a.consumer)}, {"consumer", a.consumer},      {"session", a.session}, {"user", a.user},
      {"application", a.application},    {"sla", core::sla_name(a.sla)}};
}

std::string csv_cell(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string number_text(double v) {
  return json(v).dump();
}

// Seconds since the epoch of a UTC "YYYY-MM-DDTHH:MM:SS[.mmm]Z"; -1 if malformed.
core::TimeMs parse_utc_ms(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return -1;
  }
  std::string rest = text.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest[0] == '.') {
    if (rest.size() != 5 || std::sscanf(rest.c_str(), ".%3dZ", &ms) != 1) return -1;
  } else if (rest != "Z") {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<core::TimeMs>(timegm(&tm)) * 1000 + ms;
}

}  // namespace

RecordKind kind_of(const LedgerRecord& r) {
  return std::holds_alternative<UsageRecord>(r) ? RecordKind::kUsage : RecordKind::kSession;
}

std::int64_t id_of(const LedgerRecord& r) {
  return std::visit([](const auto& x) { return x.record_id; }, r);
}

void set_id(LedgerRecord& r, std::int64_t id) {
  std::visit([id](auto& x) { x.record_id = id; }, r);
}

const SessionAttrs& attrs_of(const LedgerRecord& r) {
  return std::visit([](const auto& x) -> const SessionAttrs& { return x.who; }, r);
}

std::int64_t time_key_s(const LedgerRecord& r) {
  if (const auto* u = std::get_if<UsageRecord>(&r)) return u->start_s;
  return std::get<SessionEndRecord>(r).ended_ms / 1000;
}

Result<RecordKind> parse_record_kind(std::string_view name) {
  if (name == "usage") return RecordKind::kUsage;
  if (name == "session") return RecordKind::kSession;
  return Status::invalid_argument("record kind must be usage or session, got '" + std::string(name) + "'");
}

std::string tenant_of(std::string_view consumer) {
  if (!consumer.empty() && consumer.front() == '/') consumer.remove_prefix(1);
  return std::string(consumer.substr(0, consumer.find('/')));
}

std::string utc_seconds_text(std::int64_t epoch_s) {
  const auto t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string utc_millis_text(core::TimeMs epoch_ms) {
  const auto t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(epoch_ms % 1000));
  return buf;
}

std::string to_json(const LedgerRecord& r) {
  json j;
  if (const auto* u = std::get_if<UsageRecord>(&r)) {
    j = json{{"kind", "usage"}, {"record_id", u->record_id}};
    j.update(who_json(u->who));
    j.update(json{{"slots", u->slots},
                  {"cpu", thousandths(u->cpu_millis)},
                  {"memory_mib", u->memory_mib},
                  {"gpu", thousandths(u->gpu_millis)},
                  {"start", utc_seconds_text(u->start_s)},
                  {"end", utc_seconds_text(u->end_s)},
                  {"seconds", u->seconds()},
                  {"cpu_seconds", u->cpu_seconds()},
                  {"memory_gib_seconds", u->memory_gib_seconds()},
                  {"gpu_seconds", u->gpu_seconds()},
                  {"busy_slot_seconds", thousandths(u->busy_slot_millis)}});
  } else {
    const auto& s = std::get<SessionEndRecord>(r);
    j = json{{"kind", "session"}, {"record_id", s.record_id}};
    j.update(who_json(s.who));
    j.update(json{{"registered", utc_millis_text(s.registered_ms)},
                  {"ended", utc_millis_text(s.ended_ms)},
                  {"end_reason", s.end_reason},
                  {"time_to_first_executor_ms",
                   s.time_to_first_executor_ms < 0 ? json(nullptr) : json(s.time_to_first_executor_ms)},
                  {"preemptions", s.preemptions},
                  {"slots_preempted", s.slots_preempted}});
  }
  return j.dump();
}

Result<LedgerRecord> record_from_json(std::string_view text) {
  try {
    const json j = json::parse(text);
    SessionAttrs who;
    who.session = j.at("session").get<std::string>();
    who.consumer = j.at("consumer").get<std::string>();
    who.user = j.at("user").get<std::string>();
    who.application = j.at("application").get<std::string>();
    auto sla = core::parse_sla(j.at("sla").get<std::string>());
    if (!sla) return sla.status();
    who.sla = *sla;
    const auto kind = j.at("kind").get<std::string>();
    if (kind == "usage") {
      UsageRecord u;
      u.record_id = j.at("record_id").get<std::int64_t>();
      u.who = std::move(who);
      u.slots = j.at("slots").get<std::int64_t>();
      u.cpu_millis = to_thousandths(j.at("cpu").get<double>());
      u.memory_mib = j.at("memory_mib").get<std::int64_t>();
      u.gpu_millis = to_thousandths(j.at("gpu").get<double>());
      u.start_s = parse_utc_ms(j.at("start").get<std::string>()) / 1000;
      u.end_s = parse_utc_ms(j.at("end").get<std::string>()) / 1000;
      u.busy_slot_millis = to_thousandths(j.at("busy_slot_seconds").get<double>());
      return LedgerRecord{std::move(u)};
    }
    if (kind == "session") {
      SessionEndRecord s;
      s.record_id = j.at("record_id").get<std::int64_t>();
      s.who = std::move(who);
      s.registered_ms = parse_utc_ms(j.at("registered").get<std::string>());
      s.ended_ms = parse_utc_ms(j.at("ended").get<std::string>());
      s.end_reason = j.at("end_reason").get<std::string>();
      const auto& ttfe = j.at("time_to_first_executor_ms");
      s.time_to_first_executor_ms = ttfe.is_null() ? -1 : ttfe.get<std::int64_t>();
      s.preemptions = j.at("preemptions").get<std::int64_t>();
      s.slots_preempted = j.at("slots_preempted").get<std::int64_t>();
      return LedgerRecord{std::move(s)};
    }
    return Status::invalid_argument("unknown record kind '" + kind + "'");
  } catch (const std::exception& e) {
    return Status::invalid_argument(std::string("malformed ledger record: ") + e.what());
  }
}

std::string csv_header(RecordKind kind) {
  if (kind == RecordKind::kUsage) {
    return "record_id,tenant,consumer,session,user,application,sla,slots,cpu,memory_mib,gpu,start,end,seconds,"
           "cpu_seconds,memory_gib_seconds,gpu_seconds,busy_slot_seconds";
  }
  return "record_id,tenant,consumer,session,user,application,sla,registered,ended,end_reason,"
         "time_to_first_executor_ms,preemptions,slots_preempted";
}

std::string to_csv_row(const LedgerRecord& r) {
  const SessionAttrs& a = attrs_of(r);
  const std::string tenant = tenant_of(a.consumer);  // the views below must not outlive it
  std::string row = std::to_string(id_of(r));
  for (std::string_view v : {std::string_view(tenant), std::string_view(a.consumer), std::string_view(a.session),
                             std::string_view(a.user), std::string_view(a.application), core::sla_name(a.sla)}) {
    row += ',' + csv_cell(v);
  }
  if (const auto* u = std::get_if<UsageRecord>(&r)) {
    row += ',' + std::to_string(u->slots) + ',' + number_text(thousandths(u->cpu_millis)) + ',' +
           std::to_string(u->memory_mib) + ',' + number_text(thousandths(u->gpu_millis)) + ',' +
           utc_seconds_text(u->start_s) + ',' + utc_seconds_text(u->end_s) + ',' + std::to_string(u->seconds()) + ',' +
           number_text(u->cpu_seconds()) + ',' + number_text(u->memory_gib_seconds()) + ',' +
           number_text(u->gpu_seconds()) + ',' + number_text(thousandths(u->busy_slot_millis));
  } else {
    const auto& s = std::get<SessionEndRecord>(r);
    row += ',' + utc_millis_text(s.registered_ms) + ',' + utc_millis_text(s.ended_ms) + ',' + csv_cell(s.end_reason) +
           ',' + (s.time_to_first_executor_ms < 0 ? std::string() : std::to_string(s.time_to_first_executor_ms)) + ',' +
           std::to_string(s.preemptions) + ',' + std::to_string(s.slots_preempted);
  }
  return row;
}

}  // namespace sched::billing
