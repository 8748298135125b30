// The usage ledger's records and their exported forms (JSON, CSV), as
// docs/billing.md documents them: the one place that schema lives in C++.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.hpp"
#include "core/clock.hpp"
#include "core/sla.hpp"

namespace sched::billing {

// Who a record is about; copied into every record so a record stands alone.
struct SessionAttrs {
  std::string session;
  std::string consumer;
  std::string user;
  std::string application;
  core::SlaClass sla = core::SlaClass::kBatch;
};

// One allocation interval of one session, inside one UTC hour, in whole
// seconds.
struct UsageRecord {
  std::int64_t record_id = 0;  // 0 until the ledger writes it
  SessionAttrs who;
  std::int64_t slots = 0;
  std::int64_t cpu_millis = 0;
  std::int64_t memory_mib = 0;
  std::int64_t gpu_millis = 0;
  std::int64_t start_s = 0;  // epoch seconds, UTC
  std::int64_t end_s = 0;
  std::int64_t busy_slot_millis = 0;  // slot-seconds running tasks, in thousandths

  std::int64_t seconds() const { return end_s - start_s; }
  // Exact: thousandths of a cpu-second, of a gpu-second.
  std::int64_t cpu_milli_seconds() const { return cpu_millis * seconds(); }
  std::int64_t gpu_milli_seconds() const { return gpu_millis * seconds(); }
  std::int64_t memory_mib_seconds() const { return memory_mib * seconds(); }
  double cpu_seconds() const { return static_cast<double>(cpu_milli_seconds()) / 1000.0; }
  double memory_gib_seconds() const { return static_cast<double>(memory_mib_seconds()) / 1024.0; }
  double gpu_seconds() const { return static_cast<double>(gpu_milli_seconds()) / 1000.0; }
};

// A session that ended, with what it went through.
struct SessionEndRecord {
  std::int64_t record_id = 0;
  SessionAttrs who;
  core::TimeMs registered_ms = 0;
  core::TimeMs ended_ms = 0;
  std::string end_reason;                       // unregistered, lease_expired, failed
  core::TimeMs time_to_first_executor_ms = -1;  // -1: it never had one
  std::int64_t preemptions = 0;
  std::int64_t slots_preempted = 0;
};

using LedgerRecord = std::variant<UsageRecord, SessionEndRecord>;

enum class RecordKind : std::uint8_t { kUsage, kSession };
RecordKind kind_of(const LedgerRecord& r);
std::int64_t id_of(const LedgerRecord& r);
void set_id(LedgerRecord& r, std::int64_t id);
const SessionAttrs& attrs_of(const LedgerRecord& r);
// The second the record belongs to for range queries: a usage record's
// start, a session record's end.
std::int64_t time_key_s(const LedgerRecord& r);
Result<RecordKind> parse_record_kind(std::string_view name);

// "/B/B1" -> "B"; the root's own sessions bill to "".
std::string tenant_of(std::string_view consumer);

// 2026-11-21T14:00:00Z / 2026-11-21T14:00:00.123Z
std::string utc_seconds_text(std::int64_t epoch_s);
std::string utc_millis_text(core::TimeMs epoch_ms);

// JSON, one object, no newline.
std::string to_json(const LedgerRecord& r);
Result<LedgerRecord> record_from_json(std::string_view text);

// CSV: a header per kind, one row per record (RFC 4180 quoting), no newline.
std::string csv_header(RecordKind kind);
std::string to_csv_row(const LedgerRecord& r);
// The same row straight from a record's JSON form (as the ledger stores it),
// without building the record: the file sink's fast path.
Result<std::pair<RecordKind, std::string>> csv_row_from_json(std::string_view json);

}  // namespace sched::billing
