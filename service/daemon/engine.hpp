// The daemon's heart: owns the scheduling core and every session and
// executor record, on one strand. API calls and backend events come in as
// posted work; decisions go out to the backend and, once durable, to the
// drivers' long polls. Nothing here blocks: disk writes are queued to the
// store's writer, launches to the backend.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/auth.hpp"
#include "backend/executor_backend.hpp"
#include "billing/ledger.hpp"
#include "billing/usage_meter.hpp"
#include "config/daemon_config.hpp"
#include "core/scheduler.hpp"
#include "daemon/records.hpp"
#include "idl/session_scheduler_types.h"
#include "metrics/daemon_metrics.hpp"
#include "store/state_store.hpp"

namespace sched::daemon {

template <typename T>
using Reply = std::function<void(Result<T>)>;
struct Done {};

// The wall clock, in the core's terms.
class WallClock final : public core::Clock {
 public:
  core::TimeMs now_ms() const override;
};

class Engine {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  Engine(boost::asio::io_context& io, const config::DaemonConfig& config, store::StateStore& store,
         backend::ExecutorBackend& backend, metrics::DaemonMetrics& metrics);
  ~Engine();

  // Loads the stored state, reconciles executors with the backend and arms
  // the timers. Call once, before any API call, with no I/O thread running.
  Status recover();
  // Stops timers and parked heartbeats (they get UNAVAILABLE).
  void stop();

  Strand& strand() { return strand_; }
  bool ready() const { return ready_.load(); }

  // The usage ledger (reads are safe from any thread), and a hook told the
  // highest durable record id whenever records become durable (exporters).
  const billing::Ledger& ledger() const { return ledger_; }
  void on_ledger_durable(std::function<void(std::int64_t)> hook) { on_ledger_durable_ = std::move(hook); }
  const billing::RateCard& rate_card() const { return config_.billing.rates; }
  core::TimeMs now_ms() const { return clock_.now_ms(); }
  // Top-level consumers, i.e. the tenants (any thread).
  std::vector<std::string> tenants() const;

  // --- Sessions service (call on the strand) ---------------------------------
  void register_session(const api::Principal& who, const sched::api::SessionSpec& spec,
                        Reply<sched::api::Registration> reply);
  void update_demand(const api::Principal& who, const std::string& id, const sched::api::Demand& demand,
                     Reply<Done> reply);
  void heartbeat(const api::Principal& who, const std::string& id, std::int64_t known_version, std::int32_t wait_ms,
                 Reply<sched::api::Directives> reply);
  void acknowledge(const api::Principal& who, const std::string& id, const std::vector<std::string>& executors,
                   Reply<Done> reply);
  void release(const api::Principal& who, const std::string& id, const std::string& executor, std::int64_t slots,
               Reply<Done> reply);
  void unregister_session(const api::Principal& who, const std::string& id, Reply<Done> reply);

  // --- Admin service ----------------------------------------------------------
  void status(const api::Principal& who, Reply<sched::api::ClusterStatus> reply);
  void get_tree(const api::Principal& who, Reply<sched::api::ConsumerTree> reply);
  void set_tree(const api::Principal& who, const std::string& yaml, bool dry_run,
                Reply<sched::api::ConsumerTree> reply);
  void list_sessions(const api::Principal& who, const std::string& prefix,
                     Reply<std::vector<sched::api::SessionInfo>> reply);
  void drain_host(const api::Principal& who, const std::string& host, bool drain, Reply<sched::api::Host> reply);
  void usage(const api::Principal& who, const std::string& prefix, Reply<std::vector<sched::api::ConsumerUsage>> reply);

  // --- Backend events and metrics ----------------------------------------------
  void on_executor_event(const backend::ExecutorEvent& event);
  // A host appeared, changed capacity, was cordoned or went away.
  void on_host_event(const backend::HostEvent& event);
  // Brings the per-consumer gauges up to date (before a scrape).
  void refresh_metrics();

 private:
  struct Waiter {
    std::int64_t known = 0;
    Reply<sched::api::Directives> reply;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };
  struct UsageTotals {
    double cpu_seconds = 0, memory_gib_seconds = 0, gpu_seconds = 0;
    core::TimeMs since_ms = 0;
    core::TimeMs last_ms = 0;
    core::Resources rate;  // what it holds now
  };

  core::TimeMs now() const { return clock_.now_ms(); }
  Result<SessionRecord*> session_for(const api::Principal& who, const std::string& id);
  Status load_tree_from_store(bool* from_store);
  Status apply_tree(const std::string& yaml, const core::TreeSpec& spec, bool persist);
  core::SessionSpec core_spec(const SessionRecord& rec) const;
  std::int64_t wanted_slots(const SessionRecord& rec) const;

  // Scheduling.
  void request_pass();
  void run_pass();
  void apply_pending_core_decisions();
  void absorb(const core::Decisions& decisions);
  void sync_executors(SessionRecord& rec);
  // After a revocation: starts the executor of the session its slots go to,
  // if it has none on the host (sessions.start_ahead).
  void start_ahead_of(const core::Decision& revoke, std::set<std::string>& touched);
  void arm_wakeup();
  void housekeeping();
  void expire_session(SessionRecord& rec, const std::string& why);
  // `end_reason` is the session record's: unregistered, lease_expired.
  void end_session(SessionRecord& rec, const std::string& why, const std::string& end_reason);
  void executor_gone(ExecutorRecord& e, int exit_code, const std::string& detail, bool expected);
  void note_failure(SessionRecord& rec, const std::string& what);
  void start_launches();
  void launch(ExecutorRecord& e);
  // What the executor's slots take now (its `resources` are what it was
  // launched with), for the backend's resize and reconcile.
  core::Resources resources_now(const ExecutorRecord& e) const;
  void stop_executor(ExecutorRecord& e, core::TimeMs grace_ms, core::TimeMs delay_ms = 0);
  void touch(SessionRecord& rec);
  // Any call of the session's renews its lease.
  void renew(SessionRecord& rec) const;
  // Launches and stops queued by this handler go to the backend once the
  // records saying so are on disk.
  void hand_to_backend_when_durable();
  void account_usage(const std::string& consumer);
  // Billing: meters what the session holds now; closed intervals and ended
  // sessions become ledger records written with the next batch.
  billing::SessionAttrs billing_attrs(const SessionRecord& rec) const;
  void meter(SessionRecord& rec);
  void save_interval(SessionRecord& rec);
  void roll_usage();

  // Durability: records marked dirty are written in the next batch; `after`
  // runs once everything marked before it is on disk.
  void mark(const SessionRecord& rec) { dirty_sessions_.insert(rec.id); }
  void mark(const ExecutorRecord& e) {
    dirty_executors_.insert(e.id);
    dirty_executor_sessions_.insert(e.session);
  }
  void flush_then(std::function<void()> after);
  // As flush_then, but waits only for what the session's view rests on (its
  // record and its executors'): a driver's heartbeat need not wait for other
  // sessions' writes.
  void flush_then_for(const std::string& session, std::function<void()> after);
  void flush();
  void on_flushed(Status s);
  bool has_dirty() const {
    return !dirty_sessions_.empty() || !dirty_executors_.empty() || !dirty_usage_.empty() ||
           !dirty_intervals_.empty() || tree_meta_dirty_ || !records_.empty() || meter_.has_records();
  }

  // Views.
  sched::api::Directives directives(const SessionRecord& rec) const;
  sched::api::Executor executor_view(const ExecutorRecord& e) const;
  std::vector<sched::api::Executor> executors_view(const SessionRecord& rec) const;
  sched::api::Registration registration_of(const SessionRecord& rec) const;
  std::map<std::string, int> live_executors_per_host() const;
  sched::api::Host host_view(const core::Host& h, const std::map<std::string, int>& executors_per_host) const;
  sched::api::SessionInfo session_info(const SessionRecord& rec) const;
  sched::api::ConsumerTree tree_view(const api::Principal& who) const;
  core::Resources borrowed_total() const;
  std::map<std::string, int> sessions_per_consumer() const;
  metrics::ConsumerFigures figures(int node, const core::Resources& borrowed_total,
                                   const std::map<std::string, int>& sessions_per_consumer) const;
  void wake(SessionRecord& rec);
  // Replies to parked heartbeats with the session's view (once durable), or
  // NOT_FOUND when it has ended.
  void answer(const std::string& id, std::vector<Waiter> waiters);

  boost::asio::io_context& io_;
  Strand strand_;
  config::DaemonConfig config_;
  store::StateStore& store_;
  backend::ExecutorBackend& backend_;
  metrics::DaemonMetrics& metrics_;
  WallClock clock_;
  std::unique_ptr<core::Scheduler> sched_;
  std::atomic<bool> ready_{false};
  bool stopped_ = false;
  core::TimeMs started_ms_ = 0;

  std::string tree_yaml_;
  std::int64_t tree_version_ = 0;
  core::TimeMs tree_updated_ms_ = 0;

  std::map<std::string, SessionRecord> sessions_;
  std::map<std::string, ExecutorRecord> executors_;
  std::map<std::string, std::vector<Waiter>> waiters_;
  std::map<std::string, UsageTotals> usage_;
  billing::Ledger ledger_;
  billing::UsageMeter meter_;
  std::vector<billing::LedgerRecord> records_;  // closed, not yet in a batch
  std::int64_t in_flight_last_record_ = 0;
  // The cordon state each host last had in the backend's reports: only a
  // change drains or undrains, so an operator's own drain is not undone.
  std::map<std::string, bool, std::less<>> backend_cordoned_;
  std::function<void(std::int64_t)> on_ledger_durable_;
  mutable std::mutex tenants_mu_;
  std::vector<std::string> tenants_;
  std::vector<std::string> to_launch_;
  struct PendingStop {
    std::string executor;
    core::TimeMs grace_ms;  // SIGTERM to SIGKILL
    core::TimeMs delay_ms;  // before SIGTERM
  };
  std::vector<PendingStop> to_stop_;
  std::set<std::string> to_resize_;  // running executors whose slots changed

  std::set<std::string> dirty_sessions_, dirty_executors_, dirty_usage_;
  std::map<std::uint64_t, std::string> started_ahead_;  // revocation -> session with an executor started ahead
  std::set<std::string> dirty_intervals_;               // sessions whose usage interval changed (interval_key)
  std::set<std::string> dirty_executor_sessions_;       // the sessions of dirty_executors_
  bool tree_meta_dirty_ = false;
  bool write_in_flight_ = false;
  std::set<std::string> in_flight_sessions_;  // sessions with records in the write in flight
  std::vector<std::function<void()>> after_in_flight_, after_next_;

  bool pass_requested_ = false;
  boost::asio::steady_timer pass_timer_;
  boost::asio::steady_timer wakeup_timer_;
  boost::asio::steady_timer housekeeping_timer_;
  core::TimeMs wakeup_at_ = core::kNever;
  std::uint64_t id_counter_ = 0;
};

}  // namespace sched::daemon
