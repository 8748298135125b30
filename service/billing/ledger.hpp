// The usage ledger in the state store: records under monotonic ids, an index
// by time for range queries, and the export cursors of the sinks. Appends
// happen on the engine's strand inside its write batches (so a decision and
// its records are durable together); reads are safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "billing/ledger_record.hpp"
#include "store/state_store.hpp"

namespace sched::billing {

struct StoredRecord {
  std::int64_t id = 0;
  std::string json;  // the exported form
};

class Ledger {
 public:
  explicit Ledger(store::StateStore& store) : store_(store) {}

  // Reads the next id (call once at start-up).
  Status load();

  // Gives the records ids and adds them to `ws`; they are readable once
  // `ws` is written. Strand only.
  void append(std::vector<LedgerRecord> records, store::WriteSet& ws);
  // The highest id handed out so far (0: none).
  std::int64_t last_id() const { return next_id_.load() - 1; }
  // The highest id known durable (readers stop there).
  std::int64_t durable_id() const { return durable_id_.load(); }
  void mark_durable(std::int64_t id) { durable_id_.store(id); }

  // Up to `limit` records with ids above `after`, in id order.
  Status read_after(std::int64_t after, std::size_t limit, std::vector<StoredRecord>& out) const;
  // Records whose time key (usage: start, session: end) is in [from_s,
  // to_s), in time order, until `visit` returns false. `visit` also gets
  // the record's place in that order; a query given it as `resume_after`
  // goes on after that record (paging). A non-empty `tenant` skips most
  // other tenants' records unread (callers still check: index entries
  // written before the index named tenants cannot tell).
  using QueryVisit = std::function<bool(const LedgerRecord&, const StoredRecord&, std::string_view place)>;
  Status query(std::int64_t from_s, std::int64_t to_s, std::string_view resume_after, std::string_view tenant,
               const QueryVisit& visit) const;

  // Export cursors: the last id a sink has delivered.
  Result<std::int64_t> cursor(std::string_view sink) const;
  static void put_cursor(store::WriteSet& ws, std::string_view sink, std::int64_t id);

  static std::string record_key(std::int64_t id);

 private:
  store::StateStore& store_;
  std::atomic<std::int64_t> next_id_{1};
  std::atomic<std::int64_t> durable_id_{0};
};

}  // namespace sched::billing
