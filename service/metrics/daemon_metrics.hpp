// The daemon's Prometheus metrics: one registry, the families operators
// alert on, and small typed methods so callers never build label sets.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "core/decision.hpp"
#include "core/resources.hpp"
#include "core/sla.hpp"

namespace sched::metrics {

// One consumer's figures, per resource kind.
struct ConsumerFigures {
  core::Resources owned, allocated, demand, target, borrowed, lent;
  int sessions = 0;
};

class DaemonMetrics {
 public:
  DaemonMetrics();

  // Thread-safe (prometheus-cpp metrics are atomic; label lookups locked).
  void observe_pass(double seconds);
  void count_revocation(core::Reason reason);
  void observe_first_executor(core::SlaClass sla, double seconds);
  void observe_rpc(std::string_view method, double seconds, bool ok);
  void observe_store_write(double seconds);
  void observe_launch(double seconds);
  void count_executor_exit(bool expected);

  // Called on the scheduling strand before a scrape: replaces every
  // consumer's series (consumers gone from the tree are dropped).
  void set_consumers(const std::map<std::string, ConsumerFigures>& figures);
  void set_counts(const std::map<std::string, int>& sessions_by_sla,
                  const std::map<std::string, int>& executors_by_phase);

  // Billing: the ledger's last record id, and per sink (kafka, files) the
  // last id delivered and how far behind the ledger it is.
  // The backend's running totals (ExecutorBackend::counters()).
  void set_backend(std::string_view backend, const std::map<std::string, std::uint64_t>& counters);
  void set_billing(std::int64_t ledger_last_id, const std::map<std::string, std::int64_t>& sink_cursors);

  // The text exposition format.
  std::string serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>* consumer_gauges_[6];
  prometheus::Family<prometheus::Gauge>* consumer_sessions_;
  prometheus::Family<prometheus::Counter>* revocations_;
  prometheus::Histogram* pass_seconds_;
  prometheus::Family<prometheus::Histogram>* first_executor_;
  prometheus::Family<prometheus::Histogram>* rpc_seconds_;
  prometheus::Family<prometheus::Counter>* rpc_errors_;
  prometheus::Histogram* store_write_seconds_;
  prometheus::Histogram* launch_seconds_;
  prometheus::Family<prometheus::Counter>* executor_exits_;
  prometheus::Family<prometheus::Gauge>* sessions_;
  prometheus::Family<prometheus::Gauge>* executors_;
  prometheus::Gauge* ledger_records_;
  prometheus::Family<prometheus::Gauge>* export_cursor_;
  prometheus::Family<prometheus::Gauge>* export_lag_;
  prometheus::Family<prometheus::Counter>* backend_ops_;
  std::map<std::string, std::uint64_t> backend_seen_;  // what backend_ops_ already counts

  std::mutex mu_;  // guards the label caches below
  std::map<std::string, prometheus::Histogram*, std::less<>> rpc_by_method_;
  std::map<std::string, prometheus::Counter*, std::less<>> rpc_errors_by_method_;
  std::set<std::string> consumers_;
};

}  // namespace sched::metrics
