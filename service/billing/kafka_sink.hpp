// Exports the ledger to a Kafka topic with librdkafka's idempotent producer,
// keyed by tenant. Its cursor (the last id with every earlier one delivered)
// moves only on delivery reports, so a crash or a broker outage re-sends
// records but never loses one; consumers dedupe on record_id.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "billing/ledger.hpp"
#include "common/status.hpp"
#include "store/state_store.hpp"

namespace sched::billing {

struct KafkaSinkOptions {
  std::string brokers;
  std::string topic;
  std::map<std::string, std::string> properties;  // librdkafka settings, over ours
  std::size_t max_in_flight = 50'000;             // records produced, not yet delivered
};

// What the sink has done, for /metrics (read from any thread).
struct SinkStats {
  std::atomic<std::int64_t> cursor{0};    // last record id delivered with all before it
  std::atomic<std::int64_t> sent{0};      // messages produced (re-sends included)
  std::atomic<std::int64_t> failures{0};  // delivery failures that made it re-send
};

class KafkaSink {
 public:
  // Checks the settings (librdkafka rejects unknown ones) without connecting.
  static Result<std::unique_ptr<KafkaSink>> create(KafkaSinkOptions options, const Ledger& ledger,
                                                   store::StateStore& store);
  ~KafkaSink();
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  void start();
  // New records are durable up to `id` (cheap; any thread).
  void poke();
  // Delivers what it can within a few seconds, saves the cursor, stops.
  void stop();
  const SinkStats& stats() const { return stats_; }

  static constexpr const char* kCursorName = "kafka";

 private:
  class Impl;
  explicit KafkaSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  SinkStats stats_;
};

}  // namespace sched::billing
