// JSON and CSV forms of ledger records (docs/billing.md is the contract).
#include "billing/ledger_record.hpp"

#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/json_text.hpp"

namespace sched::billing {
namespace {

using nlohmann::json;

// Thousandths as a JSON number: 1500 -> 1.5. Doubles print shortest-exact,
// so the text is the decimal the integer means.
// Thousandths as an exact decimal: 1500 -> 1.5, 900000 -> 900, -5 -> -0.005.
void append_thousandths(fmt::memory_buffer& b, std::int64_t v) {
  if (v < 0) {
    b.push_back('-');
    v = -v;
  }
  fmt::format_to(std::back_inserter(b), "{}", v / 1000);
  std::int64_t frac = v % 1000;
  if (frac == 0) return;
  int digits = 3;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  fmt::format_to(std::back_inserter(b), ".{:0{}}", frac, digits);
}

std::string thousandths_text(std::int64_t v) {
  fmt::memory_buffer b;
  append_thousandths(b, v);
  return fmt::to_string(b);
}

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
  // Written by hand rather than through a JSON tree: this runs on the
  // scheduling strand for every record, and is several times faster.
  fmt::memory_buffer b;
  auto str = [&b](std::string_view key, std::string_view v) {
    fmt::format_to(std::back_inserter(b), ",\"{}\":", key);
    append_json_string(b, v);
  };
  auto num = [&b](std::string_view key, const auto& v) { fmt::format_to(std::back_inserter(b), ",\"{}\":{}", key, v); };
  auto milli = [&b](std::string_view key, std::int64_t v) {
    fmt::format_to(std::back_inserter(b), ",\"{}\":", key);
    append_thousandths(b, v);
  };
  const SessionAttrs& a = attrs_of(r);
  const auto* u = std::get_if<UsageRecord>(&r);
  fmt::format_to(std::back_inserter(b), "{{\"kind\":\"{}\",\"record_id\":{}", u ? "usage" : "session", id_of(r));
  str("tenant", tenant_of(a.consumer));
  str("consumer", a.consumer);
  str("session", a.session);
  str("user", a.user);
  str("application", a.application);
  str("sla", core::sla_name(a.sla));
  if (u != nullptr) {
    num("slots", u->slots);
    milli("cpu", u->cpu_millis);
    num("memory_mib", u->memory_mib);
    milli("gpu", u->gpu_millis);
    str("start", utc_seconds_text(u->start_s));
    str("end", utc_seconds_text(u->end_s));
    num("seconds", u->seconds());
    milli("cpu_seconds", u->cpu_milli_seconds());
    num("memory_gib_seconds", u->memory_gib_seconds());  // MiB/1024: a binary fraction, printed exactly
    milli("gpu_seconds", u->gpu_milli_seconds());
    milli("busy_slot_seconds", u->busy_slot_millis);
  } else {
    const auto& e = std::get<SessionEndRecord>(r);
    str("registered", utc_millis_text(e.registered_ms));
    str("ended", utc_millis_text(e.ended_ms));
    str("end_reason", e.end_reason);
    if (e.time_to_first_executor_ms < 0) {
      fmt::format_to(std::back_inserter(b), ",\"time_to_first_executor_ms\":null");
    } else {
      num("time_to_first_executor_ms", e.time_to_first_executor_ms);
    }
    num("preemptions", e.preemptions);
    num("slots_preempted", e.slots_preempted);
  }
  b.push_back('}');
  return fmt::to_string(b);
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
    row += ',' + std::to_string(u->slots) + ',' + thousandths_text(u->cpu_millis) + ',' +
           std::to_string(u->memory_mib) + ',' + thousandths_text(u->gpu_millis) + ',' + utc_seconds_text(u->start_s) +
           ',' + utc_seconds_text(u->end_s) + ',' + std::to_string(u->seconds()) + ',' +
           thousandths_text(u->cpu_milli_seconds()) + ',' + fmt::format("{}", u->memory_gib_seconds()) + ',' +
           thousandths_text(u->gpu_milli_seconds()) + ',' + thousandths_text(u->busy_slot_millis);
  } else {
    const auto& s = std::get<SessionEndRecord>(r);
    row += ',' + utc_millis_text(s.registered_ms) + ',' + utc_millis_text(s.ended_ms) + ',' + csv_cell(s.end_reason) +
           ',' + (s.time_to_first_executor_ms < 0 ? std::string() : std::to_string(s.time_to_first_executor_ms)) + ',' +
           std::to_string(s.preemptions) + ',' + std::to_string(s.slots_preempted);
  }
  return row;
}

namespace {

// A JSON string's contents at `at` (just after its opening quote), with the
// escapes decoded; `at` ends after the closing quote.
bool read_json_string(std::string_view j, std::size_t& at, std::string& out) {
  auto put_utf8 = [&out](std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  };
  auto hex4 = [&j](std::size_t from, std::uint32_t& v) {
    if (from + 4 > j.size()) return false;
    v = 0;
    for (std::size_t k = from; k < from + 4; ++k) {
      const char c = j[k];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  };
  while (at < j.size()) {
    const char c = j[at++];
    if (c == '"') return true;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (at >= j.size()) return false;
    const char e = j[at++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        std::uint32_t cp = 0;
        if (!hex4(at, cp)) return false;
        at += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && at + 6 <= j.size() && j[at] == '\\' && j[at + 1] == 'u') {
          std::uint32_t lo = 0;
          if (hex4(at + 2, lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            at += 6;
          }
        }
        put_utf8(cp);
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

}  // namespace

Result<std::pair<RecordKind, std::string>> csv_row_from_json(std::string_view j) {
  // Flat objects only: every value is a string, a number or null.
  std::vector<std::pair<std::string, std::string>> fields;
  fields.reserve(20);
  std::size_t at = j.find('{');
  if (at == std::string_view::npos) return Status::invalid_argument("ledger record: not a JSON object");
  ++at;
  auto skip_ws = [&] {
    while (at < j.size() && (j[at] == ' ' || j[at] == '\n' || j[at] == '\t' || j[at] == '\r')) ++at;
  };
  for (;;) {
    skip_ws();
    if (at < j.size() && j[at] == '}') break;
    if (at >= j.size() || j[at] != '"') return Status::invalid_argument("ledger record: malformed JSON");
    ++at;
    std::string key, value;
    if (!read_json_string(j, at, key)) return Status::invalid_argument("ledger record: malformed key");
    skip_ws();
    if (at >= j.size() || j[at] != ':') return Status::invalid_argument("ledger record: malformed JSON");
    ++at;
    skip_ws();
    if (at < j.size() && j[at] == '"') {
      ++at;
      if (!read_json_string(j, at, value)) return Status::invalid_argument("ledger record: malformed string");
    } else {
      const std::size_t end = j.find_first_of(",}", at);
      if (end == std::string_view::npos) return Status::invalid_argument("ledger record: malformed JSON");
      std::string_view token = j.substr(at, end - at);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\n')) token.remove_suffix(1);
      if (token != "null") value.assign(token);
      at = end;
    }
    fields.emplace_back(std::move(key), std::move(value));
    skip_ws();
    if (at < j.size() && j[at] == ',') ++at;
  }
  auto find = [&fields](std::string_view key) -> const std::string* {
    for (const auto& [k, v] : fields)
      if (k == key) return &v;
    return nullptr;
  };
  const std::string* kind_text = find("kind");
  if (kind_text == nullptr) return Status::invalid_argument("ledger record: no kind");
  auto kind = parse_record_kind(*kind_text);
  if (!kind) return kind.status();
  std::string row;
  const std::string header = csv_header(*kind);
  std::size_t from = 0;
  while (from <= header.size()) {
    const std::size_t comma = std::min(header.find(',', from), header.size());
    const std::string_view column(header.data() + from, comma - from);
    const std::string* v = find(column);
    if (v == nullptr) return Status::invalid_argument("ledger record: no field '" + std::string(column) + "'");
    if (!row.empty() || from > 0) row += ',';
    row += csv_cell(*v);
    from = comma + 1;
  }
  return std::pair{*kind, std::move(row)};
}

}  // namespace sched::billing
