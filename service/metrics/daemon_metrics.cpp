// Metric families, bucket choices and the per-consumer series.
#include "metrics/daemon_metrics.hpp"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>

namespace sched::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Seconds, from 100 µs (an RPC on loopback) to a minute (a slow launch).
Histogram::BucketBoundaries latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

const char* kConsumerFigures[6] = {"owned", "allocated", "demand", "target", "borrowed", "lent"};

// Resource kinds as metric labels, in conventional units.
double in_label_unit(core::ResourceKind k, std::int64_t v) {
  if (k == core::kCpu || k == core::kGpu) return static_cast<double>(v) / 1000.0;  // cores, gpus
  if (k == core::kMemory) return static_cast<double>(v) * 1024.0 * 1024.0;         // bytes
  return static_cast<double>(v);
}

std::string kind_label(core::ResourceKind k) {
  if (k == core::kCpu) return "cpu_cores";
  if (k == core::kMemory) return "memory_bytes";
  if (k == core::kGpu) return "gpus";
  return core::ResourceKinds::name(k);
}

}  // namespace

DaemonMetrics::DaemonMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  for (int i = 0; i < 6; ++i) {
    consumer_gauges_[i] = &BuildGauge()
                               .Name(std::string("sessiond_consumer_") + kConsumerFigures[i])
                               .Help(std::string("Per consumer: ") + kConsumerFigures[i] + ", by resource kind")
                               .Register(r);
  }
  consumer_sessions_ = &BuildGauge().Name("sessiond_consumer_sessions").Help("Live sessions per consumer").Register(r);
  revocations_ = &BuildCounter()
                      .Name("sessiond_preemptions_total")
                      .Help("Revocations issued, by reason (ownership, sla-priority, drain, ...)")
                      .Register(r);
  pass_seconds_ = &BuildHistogram()
                       .Name("sessiond_scheduling_cycle_seconds")
                       .Help("Time of one scheduling pass")
                       .Register(r)
                       .Add({}, latency_buckets());
  first_executor_ = &BuildHistogram()
                         .Name("sessiond_time_to_first_executor_seconds")
                         .Help("From registration to the session's first running executor, by SLA class")
                         .Register(r);
  rpc_seconds_ =
      &BuildHistogram().Name("sessiond_rpc_seconds").Help("API call latency (decode to reply), by method").Register(r);
  rpc_errors_ = &BuildCounter().Name("sessiond_rpc_errors_total").Help("API calls answered with an error").Register(r);
  store_write_seconds_ = &BuildHistogram()
                              .Name("sessiond_store_write_seconds")
                              .Help("RocksDB synced batch write latency")
                              .Register(r)
                              .Add({}, latency_buckets());
  launch_seconds_ = &BuildHistogram()
                         .Name("sessiond_backend_launch_seconds")
                         .Help("From a launch request to the executor running")
                         .Register(r)
                         .Add({}, latency_buckets());
  executor_exits_ =
      &BuildCounter().Name("sessiond_executor_exits_total").Help("Executors gone, expected or not").Register(r);
  sessions_ = &BuildGauge().Name("sessiond_sessions").Help("Live sessions by SLA class").Register(r);
  executors_ = &BuildGauge().Name("sessiond_executors").Help("Executors by phase").Register(r);
  ledger_records_ = &BuildGauge()
                         .Name("sessiond_billing_ledger_last_record_id")
                         .Help("Id of the newest usage ledger record")
                         .Register(r)
                         .Add({});
  export_cursor_ = &BuildGauge()
                        .Name("sessiond_billing_export_cursor")
                        .Help("Per sink: the last ledger record id delivered (with every one before it)")
                        .Register(r);
  export_lag_ = &BuildGauge()
                     .Name("sessiond_billing_export_lag_records")
                     .Help("Per sink: ledger records not yet delivered")
                     .Register(r);
  backend_ops_ = &BuildCounter()
                      .Name("sessiond_backend_operations_total")
                      .Help(
                          "What the resource backend did: API requests by verb, retries, throttling, pods "
                          "created and deleted, watch re-lists")
                      .Register(r);
  for (auto sla : {"interactive", "streaming", "batch"}) first_executor_->Add({{"sla", sla}}, latency_buckets());
  // Every reason a revocation can carry starts at zero, so rate() and
  // alerts see the series before the first preemption.
  for (auto reason : {core::Reason::kOwnership, core::Reason::kRebalance, core::Reason::kLimit,
                      core::Reason::kSlaPriority, core::Reason::kDrain, core::Reason::kCapacity}) {
    revocations_->Add({{"reason", std::string(core::reason_name(reason))}});
  }
}

void DaemonMetrics::observe_pass(double seconds) {
  pass_seconds_->Observe(seconds);
}

void DaemonMetrics::count_revocation(core::Reason reason) {
  revocations_->Add({{"reason", std::string(core::reason_name(reason))}}).Increment();
}

void DaemonMetrics::observe_first_executor(core::SlaClass sla, double seconds) {
  first_executor_->Add({{"sla", std::string(core::sla_name(sla))}}, latency_buckets()).Observe(seconds);
}

void DaemonMetrics::observe_rpc(std::string_view method, double seconds, bool ok) {
  prometheus::Histogram* h = nullptr;
  prometheus::Counter* errors = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = rpc_by_method_.find(method);
    if (it == rpc_by_method_.end()) {
      const std::string m(method);
      it = rpc_by_method_.emplace(m, &rpc_seconds_->Add({{"method", m}}, latency_buckets())).first;
      rpc_errors_by_method_.emplace(m, &rpc_errors_->Add({{"method", m}}));
    }
    h = it->second;
    errors = rpc_errors_by_method_.find(method)->second;
  }
  h->Observe(seconds);
  if (!ok) errors->Increment();
}

void DaemonMetrics::observe_store_write(double seconds) {
  store_write_seconds_->Observe(seconds);
}
void DaemonMetrics::observe_launch(double seconds) {
  launch_seconds_->Observe(seconds);
}

void DaemonMetrics::count_executor_exit(bool expected) {
  executor_exits_->Add({{"expected", expected ? "true" : "false"}}).Increment();
}

void DaemonMetrics::set_consumers(const std::map<std::string, ConsumerFigures>& figures) {
  std::lock_guard lock(mu_);
  for (const auto& gone : consumers_) {
    if (figures.count(gone)) continue;
    for (auto* fam : consumer_gauges_) {
      for (std::size_t k = 0; k < core::ResourceKinds::count(); ++k) {
        fam->Remove(&fam->Add({{"consumer", gone}, {"resource", kind_label(k)}}));
      }
    }
    consumer_sessions_->Remove(&consumer_sessions_->Add({{"consumer", gone}}));
  }
  consumers_.clear();
  for (const auto& [path, f] : figures) {
    consumers_.insert(path);
    const core::Resources* values[6] = {&f.owned, &f.allocated, &f.demand, &f.target, &f.borrowed, &f.lent};
    for (int i = 0; i < 6; ++i) {
      for (std::size_t k = 0; k < core::ResourceKinds::count(); ++k) {
        consumer_gauges_[i]
            ->Add({{"consumer", path}, {"resource", kind_label(k)}})
            .Set(in_label_unit(k, (*values[i])[k]));
      }
    }
    consumer_sessions_->Add({{"consumer", path}}).Set(f.sessions);
  }
}

void DaemonMetrics::set_counts(const std::map<std::string, int>& sessions_by_sla,
                               const std::map<std::string, int>& executors_by_phase) {
  for (const auto& [sla, n] : sessions_by_sla) sessions_->Add({{"sla", sla}}).Set(n);
  for (const auto& [phase, n] : executors_by_phase) executors_->Add({{"phase", phase}}).Set(n);
}

void DaemonMetrics::set_billing(std::int64_t ledger_last_id, const std::map<std::string, std::int64_t>& sink_cursors) {
  ledger_records_->Set(static_cast<double>(ledger_last_id));
  for (const auto& [sink, cursor] : sink_cursors) {
    export_cursor_->Add({{"sink", sink}}).Set(static_cast<double>(cursor));
    export_lag_->Add({{"sink", sink}}).Set(static_cast<double>(std::max<std::int64_t>(0, ledger_last_id - cursor)));
  }
}

void DaemonMetrics::set_backend(std::string_view backend, const std::map<std::string, std::uint64_t>& counters) {
  for (const auto& [op, total] : counters) {
    std::uint64_t& seen = backend_seen_[op];
    if (total > seen) {
      backend_ops_->Add({{"backend", std::string(backend)}, {"operation", op}})
          .Increment(static_cast<double>(total - seen));
    }
    seen = total;
  }
}

std::string DaemonMetrics::serialize() const {
  prometheus::TextSerializer serializer;
  std::ostringstream out;
  serializer.Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace sched::metrics
