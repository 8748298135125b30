// Ledger keys: "l/<id>" the record, "lt/<second>/<id>" the time index
// (its value the record's tenant, so a tenant's query skips the others
// without reading them; empty in ledgers written before that),
// "m/ledger_next_id", "x/<sink>" the export cursors. Ids are zero-padded so
// key order is id order.
#include "billing/ledger.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace sched::billing {
namespace {

constexpr std::string_view kNextIdKey = "m/ledger_next_id";

std::string padded(std::int64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*lld", width, static_cast<long long>(v));
  return buf;
}

std::string time_key(std::int64_t s, std::int64_t id) {
  return "lt/" + padded(s, 12) + "/" + padded(id, 20);
}

std::int64_t parse_id(std::string_view digits) {
  return std::strtoll(std::string(digits).c_str(), nullptr, 10);
}

}  // namespace

std::string Ledger::record_key(std::int64_t id) {
  return "l/" + padded(id, 20);
}

Status Ledger::load() {
  auto v = store_.get(kNextIdKey);
  if (!v) return v.status();
  const std::int64_t next = v->has_value() ? parse_id(**v) : 1;
  next_id_.store(next);
  durable_id_.store(next - 1);
  return Status::ok();
}

void Ledger::append(std::vector<LedgerRecord> records, store::WriteSet& ws) {
  if (records.empty()) return;
  std::int64_t id = next_id_.load();
  for (auto& r : records) {
    set_id(r, id);
    ws.put(record_key(id), to_json(r));
    ws.put(time_key(time_key_s(r), id), tenant_of(attrs_of(r).consumer));
    ++id;
  }
  next_id_.store(id);
  ws.put(std::string(kNextIdKey), std::to_string(id));
}

Status Ledger::read_after(std::int64_t after, std::size_t limit, std::vector<StoredRecord>& out) const {
  const std::int64_t last = durable_id();
  if (after >= last) return Status::ok();
  return store_.scan_range(record_key(after + 1), record_key(last + 1), [&](std::string_view k, std::string_view v) {
    out.push_back(StoredRecord{parse_id(k.substr(2)), std::string(v)});
    return out.size() < limit;
  });
}

Status Ledger::query(std::int64_t from_s, std::int64_t to_s, std::string_view resume_after, std::string_view tenant,
                     const QueryVisit& visit) const {
  Status inner = Status::ok();
  const std::int64_t last = durable_id();
  std::string from = time_key(from_s, 0);
  if (!resume_after.empty()) {
    if (resume_after.rfind("lt/", 0) != 0 || resume_after.size() != from.size()) {
      return Status::invalid_argument("malformed page token");
    }
    // The smallest key after the last one returned.
    from = std::max(from, std::string(resume_after) + '\0');
  }
  Status scanned = store_.scan_range(from, time_key(to_s, 0), [&](std::string_view k, std::string_view of_tenant) {
    const std::int64_t id = parse_id(k.substr(k.rfind('/') + 1));
    if (id > last) return true;
    if (!tenant.empty() && !of_tenant.empty() && of_tenant != tenant) return true;
    auto v = store_.get(record_key(id));
    if (!v) {
      inner = v.status();
      return false;
    }
    if (!v->has_value()) return true;  // index without record: cannot happen, both go in one batch
    auto rec = record_from_json(**v);
    if (!rec) {
      inner = Status::internal("ledger record " + std::to_string(id) + ": " + rec.status().message());
      return false;
    }
    return visit(*rec, StoredRecord{id, std::move(**v)}, k);
  });
  SCHED_RETURN_IF_ERROR(scanned);
  return inner;
}

Result<std::int64_t> Ledger::cursor(std::string_view sink) const {
  auto v = store_.get("x/" + std::string(sink));
  if (!v) return v.status();
  return v->has_value() ? parse_id(**v) : 0;
}

void Ledger::put_cursor(store::WriteSet& ws, std::string_view sink, std::int64_t id) {
  ws.put("x/" + std::string(sink), std::to_string(id));
}

}  // namespace sched::billing
