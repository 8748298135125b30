// The engine: API calls, backend events and scheduling passes on one strand,
// with records kept durable before anything that depends on them is said.
#include "daemon/engine.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cmath>
#include <random>

#include "api/convert.hpp"
#include "common/event_log.hpp"
#include "config/tree_yaml.hpp"
#include "core/quantity.hpp"

namespace sched::daemon {
namespace {

namespace wire = sched::api;
using core::TimeMs;

constexpr std::size_t kMaxIdLength = 128;
constexpr int kMaxExecutorsPerCall = 10'000;

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

// Replaces {name} placeholders; unknown ones stay as written.
std::string expand(const std::string& text, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '{') {
      const auto close = text.find('}', i);
      if (close != std::string::npos) {
        auto it = values.find(text.substr(i + 1, close - i - 1));
        if (it != values.end()) {
          out += it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

wire::ExecutorState::type to_wire(ExecutorPhase p) {
  switch (p) {
    case ExecutorPhase::kLaunching:
      return wire::ExecutorState::LAUNCHING;
    case ExecutorPhase::kRunning:
      return wire::ExecutorState::RUNNING;
    case ExecutorPhase::kStopping:
      return wire::ExecutorState::STOPPING;
    default:
      return wire::ExecutorState::EXITED;
  }
}

const char* phase_name(ExecutorPhase p) {
  switch (p) {
    case ExecutorPhase::kLaunching:
      return "launching";
    case ExecutorPhase::kRunning:
      return "running";
    case ExecutorPhase::kStopping:
      return "stopping";
    default:
      return "exited";
  }
}

core::Resources rounded(const core::FracResources& f) {
  core::Resources r;
  for (std::size_t k = 0; k < core::kMaxResourceKinds; ++k) r[k] = static_cast<std::int64_t>(std::llround(f[k]));
  return r;
}

core::Resources positive_part(const core::Resources& r) {
  return core::Resources::max(r, core::Resources{});
}

}  // namespace

TimeMs WallClock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Engine::Engine(boost::asio::io_context& io, const config::DaemonConfig& config, store::StateStore& store,
               backend::ExecutorBackend& backend, metrics::DaemonMetrics& metrics)
    : io_(io),
      strand_(boost::asio::make_strand(io)),
      config_(config),
      store_(store),
      backend_(backend),
      metrics_(metrics),
      ledger_(store),
      pass_timer_(strand_),
      wakeup_timer_(strand_),
      housekeeping_timer_(strand_) {}

Engine::~Engine() = default;

// ---------------------------------------------------------------------------
// Recovery

Status Engine::load_tree_from_store(bool* from_store) {
  *from_store = false;
  auto stored = store_.get("m/tree");
  if (!stored) return stored.status();
  auto config_seen = store_.get("m/config_tree");
  if (!config_seen) return config_seen.status();
  auto version = store_.get("m/tree_version");
  if (!version) return version.status();
  if (version->has_value()) tree_version_ = std::stoll(**version);
  // The file wins when the operator changed it since it was last applied;
  // otherwise the tree last set (perhaps over the API) stays.
  if (stored->has_value() && config_seen->has_value() && **config_seen == config_.tree_yaml) {
    auto spec = config::parse_tree_text(**stored, "stored tree");
    if (!spec) return spec.status();
    tree_yaml_ = **stored;
    *from_store = true;
    return sched_->set_tree(*spec);
  }
  return Status::ok();
}

Status Engine::recover() {
  started_ms_ = now();
  auto sched = core::Scheduler::create(config_.scheduler, &clock_);
  if (!sched) return sched.status();
  sched_ = std::move(*sched);

  auto hosts = backend_.hosts();
  if (!hosts) return hosts.status().with_context("backend " + std::string(backend_.name()));
  for (const auto& h : *hosts) SCHED_RETURN_IF_ERROR(sched_->add_host(h));

  bool from_store = false;
  SCHED_RETURN_IF_ERROR(load_tree_from_store(&from_store));
  if (!from_store) {
    SCHED_RETURN_IF_ERROR(apply_tree(config_.tree_yaml, config_.tree, /*persist=*/false));
    store::WriteSet ws;
    ++tree_version_;
    ws.put("m/tree", config_.tree_yaml);
    ws.put("m/config_tree", config_.tree_yaml);
    ws.put("m/tree_version", std::to_string(tree_version_));
    SCHED_RETURN_IF_ERROR(store_.write_now(ws));
  }
  tree_updated_ms_ = now();

  SCHED_RETURN_IF_ERROR(ledger_.load());

  // Open usage intervals, by session: they override what older records
  // carried themselves.
  std::map<std::string, std::string, std::less<>> intervals;
  SCHED_RETURN_IF_ERROR(store_.scan("i/", [&](std::string_view key, std::string_view value) {
    intervals.emplace(std::string(key.substr(2)), std::string(value));
  }));

  // Sessions: drivers get a fresh lease to re-attach in.
  std::vector<std::string> dropped;
  SCHED_RETURN_IF_ERROR(store_.scan("s/", [&](std::string_view, std::string_view value) {
    auto rec = session_from_json(value);
    if (!rec) {
      log_event(LogLevel::kError, "recover_session_unreadable", {{"error", rec.status().message()}});
      return;
    }
    if (auto iv = intervals.find(rec->id); iv != intervals.end()) {
      if (Status st = interval_from_json(iv->second, &*rec); !st.is_ok()) {
        log_event(LogLevel::kError, "recover_interval_unreadable", {{"session", rec->id}, {"error", st.message()}});
      }
      intervals.erase(iv);
    } else if (rec->metered_slots > 0) {
      dirty_intervals_.insert(rec->id);  // stored in the record: moves to its key at the first flush
    }
    renew(*rec);
    const Status s = sched_->register_session(core_spec(*rec));
    if (!s.is_ok()) {
      log_event(LogLevel::kError, "recover_session_dropped",
                {{"session", rec->id}, {"consumer", rec->consumer}, {"error", s.message()}});
      dropped.push_back(rec->id);
      return;
    }
    if (rec->metered_slots > 0) {
      // Executors ran on while sessiond was down: the interval goes on.
      billing::OpenInterval iv;
      iv.who = billing_attrs(*rec);
      iv.slots = rec->metered_slots;
      iv.held = rec->metered_held;
      iv.start_s = rec->metered_since_s;
      // So do their tasks: the last reported count is counted on from when
      // it was reported (records from before it was stored start now, idle).
      const bool busy_stored = rec->metered_busy_since_ms > 0;
      iv.busy_slot_ms = rec->metered_busy_slot_ms;
      iv.busy_slots = busy_stored ? std::min(rec->metered_busy_slots, iv.slots) : 0;
      iv.busy_since_ms = busy_stored ? rec->metered_busy_since_ms : now();
      meter_.restore(std::move(iv));
    }
    sessions_.emplace(rec->id, std::move(*rec));
  }));
  for (const auto& id : dropped) {
    dirty_sessions_.insert(id);  // erased at the first flush
    dirty_intervals_.insert(id);
  }
  for (const auto& [id, text] : intervals) dirty_intervals_.insert(id);  // no session left: erased

  // Executors: their slots are the allocations.
  std::vector<std::string> orphans;
  SCHED_RETURN_IF_ERROR(store_.scan("e/", [&](std::string_view, std::string_view value) {
    auto e = executor_from_json(value);
    if (!e) {
      log_event(LogLevel::kError, "recover_executor_unreadable", {{"error", e.status().message()}});
      return;
    }
    auto s = sessions_.find(e->session);
    if (e->phase == ExecutorPhase::kExited) {
      e->exited_ms = now();  // retention counts from the restart
    } else if (s == sessions_.end()) {
      orphans.push_back(e->id);
    } else if (e->live()) {
      if (e->slots > 0) {
        const Status a = sched_->adopt_slots(e->session, e->host, e->slots, e->since_ms);
        if (!a.is_ok()) {
          log_event(LogLevel::kError, "recover_slots_dropped",
                    {{"executor", e->id}, {"session", e->session}, {"error", a.message()}});
          orphans.push_back(e->id);
        }
      }
      e->revoking = 0;  // revocations in flight are re-issued by the first pass, with a fresh grace
      s->second.executor_on_host[e->host] = e->id;
    }
    if (s != sessions_.end()) s->second.executor_ids.insert(e->id);
    executors_.emplace(e->id, std::move(*e));
  }));

  SCHED_RETURN_IF_ERROR(store_.scan("u/", [&](std::string_view key, std::string_view value) {
    UsageTotals u;
    if (std::sscanf(std::string(value).c_str(), "%lf %lf %lf %ld", &u.cpu_seconds, &u.memory_gib_seconds,
                    &u.gpu_seconds, &u.since_ms) != 4) {
      return;
    }
    u.last_ms = now();
    usage_.emplace(std::string(key.substr(2)), u);
  }));

  SCHED_RETURN_IF_ERROR(backend_.start([this](backend::ExecutorEvent ev) {
    boost::asio::post(strand_, [this, ev = std::move(ev)] { on_executor_event(ev); });
  }));
  backend_.watch_hosts(
      [this](backend::HostEvent ev) { boost::asio::post(strand_, [this, ev = std::move(ev)] { on_host_event(ev); }); });
  std::vector<backend::KnownExecutor> known;
  for (const auto& [id, e] : executors_) {
    if (!e.has_process || e.phase == ExecutorPhase::kExited) continue;
    known.push_back({id, e.host, e.backend_id, resources_now(e)});
  }
  auto rec = backend_.reconcile(known);
  if (!rec) return rec.status().with_context("reconciling executors with the backend");
  for (const auto& id : rec->adopted) {
    auto it = executors_.find(id);
    if (it == executors_.end()) continue;
    if (it->second.phase == ExecutorPhase::kLaunching) {
      it->second.phase = ExecutorPhase::kRunning;
      mark(it->second);
    }
  }
  for (const auto& id : rec->gone) {
    auto it = executors_.find(id);
    if (it == executors_.end()) continue;
    const bool expected = it->second.phase == ExecutorPhase::kStopping;
    executor_gone(it->second, -1000, "not running after the restart of sessiond", expected);
  }
  for (const auto& id : orphans) {
    auto it = executors_.find(id);
    if (it != executors_.end() && it->second.phase != ExecutorPhase::kExited) {
      it->second.slots = 0;
      stop_executor(it->second, config_.kill_timeout_ms);
    }
  }
  for (auto& [id, e] : executors_) {
    if (e.phase == ExecutorPhase::kStopping) to_stop_.push_back({id, config_.kill_timeout_ms, 0});
  }
  // Bill from now on what each session holds after the reconciliation.
  for (auto& [id, rec] : sessions_) meter(rec);
  // Account for usage from now on with what each consumer holds.
  for (std::size_t i = 0; i < sched_->tree().size(); ++i) {
    if (!sched_->tree().node(static_cast<int>(i)).is_leaf()) continue;
    account_usage(sched_->tree().node(static_cast<int>(i)).path);
  }

  log_event(LogLevel::kInfo, "recovered",
            {{"sessions", std::to_string(sessions_.size())},
             {"executors", std::to_string(executors_.size())},
             {"adopted", std::to_string(rec->adopted.size())},
             {"gone", std::to_string(rec->gone.size())},
             {"orphans_stopped", std::to_string(rec->orphans_stopped + static_cast<int>(orphans.size()))},
             {"tree_version", std::to_string(tree_version_)}});
  ready_ = true;
  boost::asio::post(strand_, [this] {
    flush_then([this] { start_launches(); });
    request_pass();
    housekeeping();
  });
  return Status::ok();
}

void Engine::stop() {
  boost::asio::post(strand_, [this] {
    stopped_ = true;
    ready_ = false;
    pass_timer_.cancel();
    wakeup_timer_.cancel();
    housekeeping_timer_.cancel();
    for (auto& [id, list] : waiters_) {
      for (auto& w : list) {
        w.timer->cancel();
        w.reply(Status::unavailable("sessiond is shutting down"));
      }
    }
    waiters_.clear();
    if (has_dirty() && !write_in_flight_) flush();
  });
}

// ---------------------------------------------------------------------------
// Helpers

core::SessionSpec Engine::core_spec(const SessionRecord& rec) const {
  core::SessionSpec s;
  s.id = rec.id;
  s.consumer = rec.consumer;
  s.sla = rec.sla;
  s.priority = rec.priority;
  s.shape = rec.shape;
  s.demand = wanted_slots(rec);
  s.min = rec.failed ? 0 : rec.min;
  s.max = rec.max > 0 ? rec.max : core::kUnlimitedSlots;
  s.user = rec.user;
  s.application = rec.application;
  return s;
}

std::int64_t Engine::wanted_slots(const SessionRecord& rec) const {
  return rec.failed ? 0 : rec.demand;
}

Result<SessionRecord*> Engine::session_for(const api::Principal& who, const std::string& id) {
  if (!ready_) return Status::unavailable("sessiond is starting: retry shortly");
  auto it = sessions_.find(id);
  // Another tenant's session reads as unknown: a tenant learns nothing of others'.
  if (it == sessions_.end() || !who.may_act_on(it->second.consumer)) {
    return Status::not_found("unknown session '" + id + "' (ended, expired or never registered)");
  }
  return &it->second;
}

void Engine::renew(SessionRecord& rec) const {
  rec.lease_expires_ms = now() + rec.lease_ttl_ms;
}

void Engine::touch(SessionRecord& rec) {
  ++rec.version;
  wake(rec);
}

void Engine::wake(SessionRecord& rec) {
  auto it = waiters_.find(rec.id);
  if (it == waiters_.end() || it->second.empty()) return;
  auto list = std::move(it->second);
  waiters_.erase(it);
  // Built once, after this handler's other changes: posted, so a pass that
  // touches the session several times answers with its final state.
  boost::asio::post(strand_, [this, id = rec.id, list = std::move(list)]() mutable { answer(id, std::move(list)); });
}

void Engine::answer(const std::string& id, std::vector<Waiter> waiters) {
  for (auto& w : waiters) w.timer->cancel();
  auto s = sessions_.find(id);
  if (s == sessions_.end()) {
    for (auto& w : waiters) w.reply(Status::not_found("session '" + id + "' ended"));
    return;
  }
  auto d = directives(s->second);
  flush_then_for(id, [waiters = std::move(waiters), d]() {
    for (const auto& w : waiters) w.reply(d);
  });
}

void Engine::account_usage(const std::string& consumer) {
  auto node = sched_->tree().find(consumer);
  UsageTotals& u = usage_[consumer];
  const TimeMs t = now();
  if (u.since_ms == 0) u.since_ms = t;
  if (u.last_ms > 0 && t > u.last_ms) {
    const double dt = static_cast<double>(t - u.last_ms) / 1000.0;
    u.cpu_seconds += static_cast<double>(u.rate[core::kCpu]) / 1000.0 * dt;
    u.memory_gib_seconds += static_cast<double>(u.rate[core::kMemory]) / 1024.0 * dt;
    u.gpu_seconds += static_cast<double>(u.rate[core::kGpu]) / 1000.0 * dt;
    dirty_usage_.insert(consumer);
  }
  u.last_ms = t;
  u.rate = node ? sched_->consumer_held(*node) : core::Resources{};
}

// ---------------------------------------------------------------------------
// Durability

namespace {

// Records marked dirty: written (as `encode` has them) when they still
// exist, erased when gone.
template <typename Records, typename Encode>
void put_or_erase(store::WriteSet& ws, const std::set<std::string>& ids, const Records& records,
                  std::string (*key)(const std::string&), const Encode& encode) {
  for (const auto& id : ids) {
    auto it = records.find(id);
    if (it == records.end()) {
      ws.erase(key(id));
    } else {
      ws.put(key(id), encode(it->second));
    }
  }
}

}  // namespace

void Engine::flush_then(std::function<void()> after) {
  const bool dirty = has_dirty();
  if (!dirty) {
    if (!write_in_flight_) {
      after();
    } else {
      after_in_flight_.push_back(std::move(after));
    }
    return;
  }
  after_next_.push_back(std::move(after));
  if (!write_in_flight_) flush();
}

void Engine::flush_then_for(const std::string& session, std::function<void()> after) {
  if (dirty_sessions_.count(session) != 0 || dirty_executor_sessions_.count(session) != 0) {
    return flush_then(std::move(after));
  }
  if (in_flight_sessions_.count(session) != 0) return after_in_flight_.push_back(std::move(after));
  after();
}

void Engine::flush() {
  store::WriteSet ws;
  in_flight_sessions_ = dirty_sessions_;
  in_flight_sessions_.merge(dirty_executor_sessions_);
  auto record = [](const auto& r) { return to_json(r); };
  put_or_erase(ws, dirty_sessions_, sessions_, session_key, record);
  put_or_erase(ws, dirty_executors_, executors_, executor_key, record);
  put_or_erase(ws, dirty_intervals_, sessions_, interval_key, interval_to_json);
  for (const auto& c : dirty_usage_) {
    auto it = usage_.find(c);
    if (it == usage_.end()) continue;
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.3f %.3f %.3f %ld", it->second.cpu_seconds, it->second.memory_gib_seconds,
                  it->second.gpu_seconds, static_cast<long>(it->second.since_ms));
    ws.put(usage_key(c), buf);
  }
  for (auto& u : meter_.take()) records_.emplace_back(std::move(u));
  if (!records_.empty()) {
    ledger_.append(std::move(records_), ws);
    records_.clear();
    in_flight_last_record_ = ledger_.last_id();
  }
  if (tree_meta_dirty_) {
    ws.put("m/tree", tree_yaml_);
    ws.put("m/tree_version", std::to_string(tree_version_));
    tree_meta_dirty_ = false;
  }
  dirty_sessions_.clear();
  dirty_executors_.clear();
  dirty_executor_sessions_.clear();
  dirty_usage_.clear();
  dirty_intervals_.clear();
  write_in_flight_ = true;
  for (auto& f : after_next_) after_in_flight_.push_back(std::move(f));
  after_next_.clear();
  store_.write(std::move(ws),
               [this](Status s) { boost::asio::post(strand_, [this, s = std::move(s)] { on_flushed(s); }); });
}

void Engine::on_flushed(Status s) {
  if (!s.is_ok()) {
    // Nothing after this point could be made durable: acknowledging more
    // would be lying. Exit; a restart recovers the last durable state.
    log_event(LogLevel::kError, "store_write_failed", {{"error", s.message()}});
    std::_Exit(70);
  }
  write_in_flight_ = false;
  in_flight_sessions_.clear();
  if (in_flight_last_record_ > ledger_.durable_id()) {
    ledger_.mark_durable(in_flight_last_record_);
    if (on_ledger_durable_) on_ledger_durable_(in_flight_last_record_);
  }
  auto done = std::move(after_in_flight_);
  after_in_flight_.clear();
  if (has_dirty() || !after_next_.empty()) flush();
  for (auto& f : done) f();
}

// ---------------------------------------------------------------------------
// Scheduling

void Engine::request_pass() {
  if (pass_requested_ || stopped_) return;
  pass_requested_ = true;
  pass_timer_.expires_after(std::chrono::milliseconds(config_.pass_interval_ms));
  pass_timer_.async_wait(boost::asio::bind_executor(strand_, [this](const boost::system::error_code& ec) {
    if (ec) return;
    run_pass();
  }));
}

void Engine::run_pass() {
  pass_requested_ = false;
  if (stopped_) return;
  const auto t0 = std::chrono::steady_clock::now();
  core::Decisions decisions = sched_->schedule();
  metrics_.observe_pass(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  absorb(decisions);
  arm_wakeup();
}

void Engine::absorb(const core::Decisions& decisions) {
  std::set<std::string> touched;
  for (const auto& d : decisions) {
    touched.insert(d.session);
    if (d.kind == core::DecisionKind::kRevoke) {
      metrics_.count_revocation(d.reason);
      auto s = sessions_.find(d.session);
      if (s != sessions_.end()) {
        ++s->second.preemptions;
        s->second.slots_preempted += d.slots;
        mark(s->second);
      }
      start_ahead_of(d, touched);
    }
    const LogLevel level = d.kind == core::DecisionKind::kGrant ? LogLevel::kDebug : LogLevel::kInfo;
    log_event(level, std::string("decision_") + std::string(core::decision_kind_name(d.kind)),
              {{"session", d.session},
               {"consumer", d.consumer},
               {"host", d.host},
               {"slots", std::to_string(d.slots)},
               {"reason", std::string(core::reason_name(d.reason))},
               {"beneficiary", d.beneficiary},
               {"revocation", std::to_string(d.revocation_id)}});
  }
  // Executors started ahead whose revocation is over: their session's
  // grant either came (the executor takes it) or went elsewhere.
  for (auto it = started_ahead_.begin(); it != started_ahead_.end();) {
    if (sched_->revocations().count(it->first) != 0) {
      ++it;
      continue;
    }
    touched.insert(it->second);
    it = started_ahead_.erase(it);
  }
  for (const auto& id : touched) {
    auto it = sessions_.find(id);
    if (it != sessions_.end()) sync_executors(it->second);
  }
  hand_to_backend_when_durable();
}

void Engine::start_ahead_of(const core::Decision& revoke, std::set<std::string>& touched) {
  if (!config_.start_ahead || !backend_.starts_ahead_of_slots() || revoke.revocation_id == 0) return;
  auto s = sessions_.find(sched_->session_to_start_ahead(revoke.revocation_id));
  if (s == sessions_.end() || s->second.launch.command.empty() || s->second.executor_on_host.count(revoke.host) != 0)
    return;
  if (!s->second.start_ahead.emplace(revoke.host, revoke.revocation_id).second) return;
  started_ahead_[revoke.revocation_id] = s->first;
  touched.insert(s->first);
  log_event(LogLevel::kInfo, "executor_start_ahead",
            {{"session", s->first},
             {"consumer", s->second.consumer},
             {"host", revoke.host},
             {"revocation", std::to_string(revoke.revocation_id)}});
}

void Engine::sync_executors(SessionRecord& rec) {
  const core::Session* cs = sched_->find_session(rec.id);
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> want;
  if (cs != nullptr) {
    for (const auto& p : cs->placements) {
      if (p.slots > 0) want[sched_->hosts().host(p.host).name] = {p.slots, p.revoking};
    }
  }
  // Started ahead: an executor with no slots yet, while its revocation lasts.
  for (auto it = rec.start_ahead.begin(); it != rec.start_ahead.end();) {
    if (cs == nullptr || sched_->revocations().count(it->second) == 0) {
      it = rec.start_ahead.erase(it);
      continue;
    }
    want.emplace(it->first, std::pair<std::int64_t, std::int64_t>{0, 0});
    ++it;
  }
  bool changed = false;
  for (auto it = rec.executor_on_host.begin(); it != rec.executor_on_host.end();) {
    ExecutorRecord& e = executors_.at(it->second);
    auto w = want.find(it->first);
    if (w == want.end()) {
      e.slots = 0;
      e.revoking = 0;
      // Taken, not given back: the driver may still be killing its tasks
      // there, so the process gets kill_timeout before SIGTERM and Spark
      // sees clean kills rather than a lost executor.
      stop_executor(e, config_.kill_timeout_ms, e.released_by_driver ? 0 : config_.kill_timeout_ms);
      it = rec.executor_on_host.erase(it);
      changed = true;
      continue;
    }
    if (e.slots != w->second.first || e.revoking != w->second.second) {
      // Slots that moved to or from a running executor: its reservation in
      // the backend follows once the move is durable.
      if (e.slots != w->second.first && e.has_process && e.live()) to_resize_.insert(e.id);
      e.slots = w->second.first;
      e.revoking = w->second.second;
      mark(e);
      changed = true;
    }
    want.erase(w);
    ++it;
  }
  for (const auto& [host, sr] : want) {
    ExecutorRecord e;
    e.id = rec.id + "-" + std::to_string(++rec.executor_seq);
    e.session = rec.id;
    e.consumer = rec.consumer;
    e.host = host;
    e.slots = sr.first;
    e.revoking = sr.second;
    e.since_ms = now();
    e.resources = rec.shape * sr.first;
    e.has_process = !rec.launch.command.empty();
    e.phase = ExecutorPhase::kLaunching;
    if (e.has_process) {
      to_launch_.push_back(e.id);
    } else {
      e.phase = ExecutorPhase::kRunning;  // slots only: the driver runs its own executors
      if (rec.first_executor_ms == 0) {
        rec.first_executor_ms = now();
        metrics_.observe_first_executor(rec.sla, static_cast<double>(rec.first_executor_ms - rec.registered_ms) / 1e3);
      }
    }
    rec.executor_on_host[host] = e.id;
    rec.executor_ids.insert(e.id);
    mark(e);
    mark(rec);
    executors_.emplace(e.id, std::move(e));
    changed = true;
  }
  if (changed) {
    account_usage(rec.consumer);
    meter(rec);
    touch(rec);
  }
}

billing::SessionAttrs Engine::billing_attrs(const SessionRecord& rec) const {
  return billing::SessionAttrs{rec.id, rec.consumer, rec.user, rec.application, rec.sla};
}

void Engine::meter(SessionRecord& rec) {
  std::int64_t slots = 0;
  if (const core::Session* cs = sched_->find_session(rec.id)) {
    for (const auto& p : cs->placements) slots += p.slots;
  }
  const TimeMs t = now();
  if (!meter_.hold(rec.id, slots, rec.shape * slots, t, [&] { return billing_attrs(rec); })) return;
  log_event(LogLevel::kDebug, "usage_hold",
            {{"session", rec.id},
             {"consumer", rec.consumer},
             {"slots", std::to_string(slots)},
             {"at_ms", std::to_string(t)}});
  save_interval(rec);
}

void Engine::save_interval(SessionRecord& rec) {
  const billing::OpenInterval* iv = meter_.open_interval(rec.id);
  rec.metered_slots = iv != nullptr ? iv->slots : 0;
  rec.metered_held = iv != nullptr ? iv->held : core::Resources{};
  rec.metered_since_s = iv != nullptr ? iv->start_s : 0;
  rec.metered_busy_slot_ms = iv != nullptr ? iv->busy_slot_ms : 0;
  rec.metered_busy_slots = iv != nullptr ? iv->busy_slots : 0;
  rec.metered_busy_since_ms = iv != nullptr ? iv->busy_since_ms : 0;
  dirty_intervals_.insert(rec.id);
}

void Engine::roll_usage() {
  if (now() < meter_.next_roll_ms()) return;
  if (!meter_.roll(now())) return;
  for (auto& [id, rec] : sessions_) {
    if (meter_.open_interval(id) != nullptr) save_interval(rec);
  }
}

std::vector<std::string> Engine::tenants() const {
  std::lock_guard lock(tenants_mu_);
  return tenants_;
}

void Engine::hand_to_backend_when_durable() {
  if (!to_launch_.empty() || !to_stop_.empty() || !to_resize_.empty()) flush_then([this] { start_launches(); });
}

void Engine::stop_executor(ExecutorRecord& e, TimeMs grace_ms, TimeMs delay_ms) {
  if (e.phase == ExecutorPhase::kExited) return;
  mark(e);
  if (!e.has_process) {
    e.phase = ExecutorPhase::kExited;
    e.exited_ms = now();
    e.detail = "released";
    return;
  }
  if (e.phase != ExecutorPhase::kStopping) {
    e.phase = ExecutorPhase::kStopping;
    to_stop_.push_back({e.id, grace_ms, delay_ms});
  }
}

void Engine::start_launches() {
  auto launches = std::move(to_launch_);
  to_launch_.clear();
  auto stops = std::move(to_stop_);
  to_stop_.clear();
  auto resizes = std::move(to_resize_);
  to_resize_.clear();
  for (const auto& id : launches) {
    auto it = executors_.find(id);
    if (it == executors_.end() || it->second.phase != ExecutorPhase::kLaunching) continue;
    resizes.erase(id);  // launched at its current size
    launch(it->second);
  }
  for (const auto& id : resizes) {
    auto it = executors_.find(id);
    if (it == executors_.end() || !it->second.live() || it->second.slots == 0) continue;
    // On the strand, in order: the last size asked is the one that stays.
    const Status s = backend_.resize(id, resources_now(it->second));
    if (!s.is_ok()) log_event(LogLevel::kWarn, "executor_resize_failed", {{"executor", id}, {"error", s.message()}});
  }
  for (const auto& stop : stops) {
    auto it = executors_.find(stop.executor);
    if (it == executors_.end() || it->second.phase != ExecutorPhase::kStopping) continue;
    const auto g = std::chrono::milliseconds(stop.grace_ms);
    // The backend may signal processes or call an API: off the strand.
    auto run = [this, id = stop.executor, g] {
      const Status s = backend_.stop(id, g);
      if (!s.is_ok()) log_event(LogLevel::kWarn, "executor_stop_failed", {{"executor", id}, {"error", s.message()}});
    };
    if (stop.delay_ms <= 0) {
      boost::asio::post(io_, std::move(run));
      continue;
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(stop.delay_ms));
    timer->async_wait([timer, run = std::move(run)](const boost::system::error_code& ec) {
      if (!ec) run();
    });
  }
}

core::Resources Engine::resources_now(const ExecutorRecord& e) const {
  auto s = sessions_.find(e.session);
  return s != sessions_.end() ? s->second.shape * e.slots : e.resources;
}

void Engine::launch(ExecutorRecord& e) {
  auto s = sessions_.find(e.session);
  if (s == sessions_.end()) return;
  const SessionRecord& rec = s->second;
  const auto host = sched_->hosts().find(e.host);
  std::int64_t max_on_host = e.slots;
  if (host) {
    const core::Resources cap = sched_->hosts().host(*host).capacity;
    max_on_host = std::max<std::int64_t>(e.slots, cap.count_of(rec.shape));
  }
  const std::map<std::string, std::string> values = {
      {"executor_id", e.id},
      // Spark wants numeric executor ids; ids are "<session>-<index>".
      {"executor_index", e.id.substr(std::min(e.id.size(), rec.id.size() + 1))},
      {"session_id", rec.id},
      {"host", e.host},
      {"slots", std::to_string(e.slots)},
      {"max_slots", std::to_string(max_on_host)},
      {"cpu_cores", std::to_string((rec.shape[core::kCpu] * e.slots + 999) / 1000)},
      {"memory_mib", std::to_string(rec.shape[core::kMemory] * e.slots)},
  };
  backend::LaunchRequest req;
  req.executor_id = e.id;
  req.session_id = rec.id;
  req.consumer = rec.consumer;
  req.host = e.host;
  req.slots = e.slots;
  req.resources = e.resources;
  for (const auto& a : rec.launch.command) req.command.push_back(expand(a, values));
  for (const auto& [k, v] : rec.launch.env) req.env[k] = expand(v, values);
  req.working_dir = expand(rec.launch.working_dir, values);
  req.image = rec.launch.image;
  req.backend_options = rec.launch.backend_options;
  req.warm_command = rec.launch.warm_command;  // register_session checked warm_args_from
  req.warm_args_from = rec.launch.warm_args_from;
  e.launch_requested_ms = now();
  log_event(LogLevel::kInfo, "executor_launch",
            {{"executor", e.id},
             {"session", rec.id},
             {"consumer", rec.consumer},
             {"host", e.host},
             {"slots", std::to_string(e.slots)}});
  boost::asio::post(io_, [this, req = std::move(req)] {
    const Status st = backend_.launch(req);
    if (!st.is_ok()) {
      backend::ExecutorEvent ev;
      ev.kind = backend::ExecutorEventKind::kLaunchFailed;
      ev.executor_id = req.executor_id;
      ev.detail = st.message();
      boost::asio::post(strand_, [this, ev] { on_executor_event(ev); });
    }
  });
}

void Engine::on_executor_event(const backend::ExecutorEvent& ev) {
  auto it = executors_.find(ev.executor_id);
  if (it == executors_.end()) {
    log_event(LogLevel::kDebug, "executor_event_unknown", {{"executor", ev.executor_id}});
    return;
  }
  ExecutorRecord& e = it->second;
  if (ev.kind == backend::ExecutorEventKind::kRunning) {
    if (!ev.backend_id.empty()) e.backend_id = ev.backend_id;
    mark(e);
    if (e.phase != ExecutorPhase::kLaunching) return;
    e.phase = ExecutorPhase::kRunning;
    if (e.launch_requested_ms > 0) metrics_.observe_launch(static_cast<double>(now() - e.launch_requested_ms) / 1e3);
    auto s = sessions_.find(e.session);
    if (s != sessions_.end()) {
      if (s->second.first_executor_ms == 0) {
        s->second.first_executor_ms = now();
        mark(s->second);
        metrics_.observe_first_executor(
            s->second.sla, static_cast<double>(s->second.first_executor_ms - s->second.registered_ms) / 1e3);
      }
      touch(s->second);
    }
    log_event(LogLevel::kInfo, "executor_running",
              {{"executor", e.id}, {"session", e.session}, {"consumer", e.consumer}, {"backend_id", e.backend_id}});
    return;
  }
  const bool expected = e.phase == ExecutorPhase::kStopping;
  executor_gone(e, ev.kind == backend::ExecutorEventKind::kLaunchFailed ? -1 : ev.exit_code,
                ev.kind == backend::ExecutorEventKind::kLaunchFailed ? "launch failed: " + ev.detail : ev.detail,
                expected);
}

void Engine::executor_gone(ExecutorRecord& e, int exit_code, const std::string& detail, bool expected) {
  if (e.phase == ExecutorPhase::kExited) return;
  const bool was_live = e.live();
  e.phase = ExecutorPhase::kExited;
  e.exit_code = exit_code;
  if (!detail.empty()) e.detail = detail;
  e.exited_ms = now();
  mark(e);
  metrics_.count_executor_exit(expected);
  log_event(expected ? LogLevel::kInfo : LogLevel::kWarn, "executor_exited",
            {{"executor", e.id},
             {"session", e.session},
             {"consumer", e.consumer},
             {"exit_code", std::to_string(exit_code)},
             {"expected", expected ? "true" : "false"},
             {"detail", e.detail}});
  auto s = sessions_.find(e.session);
  if (s == sessions_.end()) return;
  SessionRecord& rec = s->second;
  if (was_live) {
    auto h = rec.executor_on_host.find(e.host);
    if (h != rec.executor_on_host.end() && h->second == e.id) rec.executor_on_host.erase(h);
    if (e.slots > 0) {
      const Status st = sched_->release_slots(rec.id, e.host, e.slots);
      if (!st.is_ok()) log_event(LogLevel::kError, "release_failed", {{"executor", e.id}, {"error", st.message()}});
      e.slots = 0;
      e.revoking = 0;
      account_usage(rec.consumer);
    }
    if (!expected) note_failure(rec, e.id + ": " + e.detail);
    request_pass();
  }
  touch(rec);
}

void Engine::note_failure(SessionRecord& rec, const std::string& what) {
  ++rec.failures;
  mark(rec);
  if (rec.failed || rec.failures < config_.max_executor_failures) return;
  rec.failed = true;
  rec.failure = std::to_string(rec.failures) + " executors failed; last: " + what;
  core::SessionUpdate u;
  u.demand = 0;
  u.min = 0;
  const Status s = sched_->update_session(rec.id, u);
  if (!s.is_ok()) log_event(LogLevel::kError, "session_update_failed", {{"session", rec.id}, {"error", s.message()}});
  log_event(LogLevel::kError, "session_failed",
            {{"session", rec.id}, {"consumer", rec.consumer}, {"detail", rec.failure}});
}

void Engine::arm_wakeup() {
  const TimeMs next = sched_->next_wakeup();
  if (next == wakeup_at_) return;
  wakeup_at_ = next;
  if (next == core::kNever) {
    wakeup_timer_.cancel();
    return;
  }
  const TimeMs delay = std::max<TimeMs>(0, next - now());
  wakeup_timer_.expires_after(std::chrono::milliseconds(delay));
  wakeup_timer_.async_wait(boost::asio::bind_executor(strand_, [this](const boost::system::error_code& ec) {
    if (ec) return;
    wakeup_at_ = core::kNever;
    run_pass();
  }));
}

void Engine::housekeeping() {
  if (stopped_) return;
  const TimeMs t = now();
  std::vector<std::string> expired;
  for (auto& [id, rec] : sessions_) {
    if (rec.lease_expires_ms < t) expired.push_back(id);
  }
  for (const auto& id : expired) {
    auto it = sessions_.find(id);
    if (it != sessions_.end())
      expire_session(it->second,
                     "lease expired: no heartbeat for " + core::format_duration_ms(it->second.lease_ttl_ms));
  }
  for (auto it = executors_.begin(); it != executors_.end();) {
    const ExecutorRecord& e = it->second;
    if (e.phase == ExecutorPhase::kExited && t - e.exited_ms >= config_.exited_retention_ms) {
      auto s = sessions_.find(e.session);
      if (s != sessions_.end()) {
        s->second.executor_ids.erase(e.id);
        touch(s->second);
      }
      mark(e);
      it = executors_.erase(it);
      continue;
    }
    ++it;
  }
  roll_usage();
  // Soft state (demand) goes to disk within a tick even when nothing else
  // forces a write.
  if (!write_in_flight_ && has_dirty()) flush();
  housekeeping_timer_.expires_after(std::chrono::milliseconds(250));
  housekeeping_timer_.async_wait(boost::asio::bind_executor(strand_, [this](const boost::system::error_code& ec) {
    if (!ec) housekeeping();
  }));
}

void Engine::expire_session(SessionRecord& rec, const std::string& why) {
  log_event(LogLevel::kWarn, "session_expired", {{"session", rec.id}, {"consumer", rec.consumer}, {"detail", why}});
  end_session(rec, why, "lease_expired");
}

void Engine::end_session(SessionRecord& rec, const std::string& why, const std::string& end_reason) {
  const std::string id = rec.id;
  const Status s = sched_->unregister_session(id);
  if (!s.is_ok()) log_event(LogLevel::kError, "unregister_failed", {{"session", id}, {"error", s.message()}});
  for (auto& [host, eid] : rec.executor_on_host) {
    ExecutorRecord& e = executors_.at(eid);
    e.slots = 0;
    e.revoking = 0;
    e.detail = why;
    stop_executor(e, config_.kill_timeout_ms);
  }
  rec.executor_on_host.clear();
  account_usage(rec.consumer);
  const TimeMs ended = now();
  meter_.end(id, ended);
  log_event(LogLevel::kDebug, "usage_end",
            {{"session", id}, {"consumer", rec.consumer}, {"at_ms", std::to_string(ended)}});
  for (auto& u : meter_.take()) records_.emplace_back(std::move(u));
  {
    billing::SessionEndRecord r;
    r.who = billing_attrs(rec);
    r.registered_ms = rec.registered_ms;
    r.ended_ms = ended;
    r.end_reason = end_reason;
    r.time_to_first_executor_ms = rec.first_executor_ms > 0 ? rec.first_executor_ms - rec.registered_ms : -1;
    r.preemptions = rec.preemptions;
    r.slots_preempted = rec.slots_preempted;
    records_.emplace_back(std::move(r));
  }
  auto w = waiters_.find(id);
  if (w != waiters_.end()) {
    for (auto& waiter : w->second) {
      waiter.timer->cancel();
      waiter.reply(Status::not_found("session '" + id + "' ended: " + why));
    }
    waiters_.erase(w);
  }
  dirty_sessions_.insert(id);
  dirty_intervals_.insert(id);
  sessions_.erase(id);
  request_pass();
  hand_to_backend_when_durable();
}

// ---------------------------------------------------------------------------
// Sessions service

wire::Registration Engine::registration_of(const SessionRecord& rec) const {
  wire::Registration r;
  r.session_id = rec.id;
  r.lease_ttl_ms = rec.lease_ttl_ms;
  r.heartbeat_interval_ms = std::min(config_.heartbeat_interval_ms, rec.lease_ttl_ms / 3);
  r.max_wait_ms = static_cast<std::int32_t>(config_.max_wait_ms);
  return r;
}

void Engine::register_session(const api::Principal& who, const wire::SessionSpec& spec,
                              Reply<wire::Registration> reply) {
  if (!ready_) return reply(Status::unavailable("sessiond is starting: retry shortly"));
  if (Status utf8 = api::check_utf8(spec); !utf8.is_ok()) return reply(utf8);
  SessionRecord rec;
  rec.consumer = spec.consumer;
  if (rec.consumer.empty()) return reply(Status::invalid_argument("consumer is empty (a leaf path like /bank/risk)"));
  while (rec.consumer.size() > 1 && rec.consumer.back() == '/') rec.consumer.pop_back();
  auto node = sched_->tree().find(rec.consumer);
  if (!node) return reply(Status::not_found("unknown consumer '" + rec.consumer + "'"));
  if (!sched_->tree().node(*node).is_leaf()) {
    return reply(Status::invalid_argument("consumer '" + rec.consumer + "' is not a leaf; sessions belong to leaves"));
  }
  if (!who.may_act_on(rec.consumer)) {
    return reply(
        Status::permission_denied("principal '" + who.name + "' may not act on consumer '" + rec.consumer + "'"));
  }
  auto sla = api::to_core(spec.sla);
  if (!sla) return reply(sla.status());
  auto shape = api::to_core(spec.slot_shape);
  if (!shape) return reply(shape.status().with_context("slot_shape"));
  if (shape->is_zero()) *shape = config_.scheduler.slot;
  if (spec.min_slots < 0 || spec.max_slots < 0 || spec.initial_demand < 0) {
    return reply(Status::invalid_argument("min_slots, max_slots and initial_demand must not be negative"));
  }
  if (spec.max_slots > 0 && spec.min_slots > spec.max_slots) {
    return reply(Status::invalid_argument("min_slots (" + std::to_string(spec.min_slots) + ") is above max_slots (" +
                                          std::to_string(spec.max_slots) + ")"));
  }
  if (spec.lease_ttl_ms < 0) return reply(Status::invalid_argument("lease_ttl_ms must not be negative"));
  if (spec.launch.command.size() > 4096 || spec.launch.env.size() > 4096 || spec.launch.backend_options.size() > 256) {
    return reply(Status::invalid_argument(
        "launch spec too large (at most 4096 arguments, 4096 variables and 256 backend options)"));
  }
  if (!spec.launch.warm_command.empty() &&
      (spec.launch.warm_command.size() > 4096 || spec.launch.warm_args_from <= 0 ||
       static_cast<std::size_t>(spec.launch.warm_args_from) >= spec.launch.command.size())) {
    return reply(Status::invalid_argument("launch.warm_args_from (" + std::to_string(spec.launch.warm_args_from) +
                                          ") must point inside launch.command (" +
                                          std::to_string(spec.launch.command.size()) +
                                          " arguments) when launch.warm_command is given"));
  }
  if (spec.__isset.session_id) {
    if (!valid_id(spec.session_id)) {
      return reply(Status::invalid_argument("session_id must be 1-128 characters of letters, digits, '-', '_' or '.'"));
    }
    auto existing = sessions_.find(spec.session_id);
    if (existing != sessions_.end()) {
      if (existing->second.consumer == rec.consumer && existing->second.principal == who.name) {
        SessionRecord& e = existing->second;
        renew(e);
        const wire::Registration r = registration_of(e);
        return flush_then([reply, r] { reply(r); });
      }
      return reply(Status::already_exists("session id '" + spec.session_id + "' is taken"));
    }
    rec.id = spec.session_id;
  } else {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[32];
    std::snprintf(buf, sizeof buf, "s-%012llx", static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
    rec.id = buf;
  }
  rec.user = spec.user;
  rec.application = spec.application;
  rec.principal = who.name;
  rec.sla = *sla;
  rec.priority = spec.priority;
  rec.shape = *shape;
  rec.min = spec.min_slots;
  rec.max = spec.max_slots;
  rec.demand = spec.initial_demand;
  rec.launch.command = spec.launch.command;
  rec.launch.env = spec.launch.env;
  rec.launch.working_dir = spec.launch.working_dir;
  rec.launch.image = spec.launch.image;
  rec.launch.backend_options = spec.launch.backend_options;
  rec.launch.warm_command = spec.launch.warm_command;
  rec.launch.warm_args_from =
      rec.launch.warm_command.empty() ? 0 : static_cast<std::size_t>(spec.launch.warm_args_from);
  rec.lease_ttl_ms =
      spec.lease_ttl_ms > 0 ? std::clamp<TimeMs>(spec.lease_ttl_ms, 1000, 3'600'000) : config_.lease_ttl_ms;
  rec.registered_ms = now();
  rec.lease_expires_ms = rec.registered_ms + rec.lease_ttl_ms;
  const Status s = sched_->register_session(core_spec(rec));
  if (!s.is_ok()) return reply(s);
  log_event(LogLevel::kInfo, "session_registered",
            {{"session", rec.id},
             {"consumer", rec.consumer},
             {"principal", who.name},
             {"user", rec.user},
             {"application", rec.application},
             {"sla", std::string(core::sla_name(rec.sla))},
             {"demand", std::to_string(rec.demand)}});
  const wire::Registration r = registration_of(rec);
  mark(rec);
  account_usage(rec.consumer);
  sessions_.emplace(rec.id, std::move(rec));
  request_pass();
  flush_then([reply, r] { reply(r); });
}

void Engine::update_demand(const api::Principal& who, const std::string& id, const wire::Demand& demand,
                           Reply<Done> reply) {
  auto rec = session_for(who, id);
  if (!rec) return reply(rec.status());
  std::int64_t slots = 0;
  if (demand.__isset.slots) {
    slots = demand.slots;
  } else {
    if (demand.pending_tasks < 0 || demand.running_tasks < 0) {
      return reply(Status::invalid_argument("pending_tasks and running_tasks must not be negative"));
    }
    slots = demand.pending_tasks + demand.running_tasks;
  }
  if (slots < 0) return reply(Status::invalid_argument("slots must not be negative, got " + std::to_string(slots)));
  core::SessionUpdate u;
  if (demand.__isset.running_by_executor) {
    std::vector<std::pair<std::string, std::int64_t>> busy;
    for (const auto& [executor, n] : demand.running_by_executor) {
      if (n < 0) {
        return reply(Status::invalid_argument("running tasks of executor '" + executor +
                                              "' must not be negative, got " + std::to_string(n)));
      }
      // Executors already gone (or another session's) have no slots to spare.
      auto e = executors_.find(executor);
      if (e != executors_.end() && e->second.session == id && e->second.live()) busy.emplace_back(e->second.host, n);
    }
    u.busy = std::move(busy);
  }
  SessionRecord& r = **rec;
  renew(r);
  if (meter_.running(r.id, demand.running_tasks, now())) save_interval(r);
  const bool changed = r.demand != slots;
  if (changed) {
    r.demand = slots;
    u.demand = wanted_slots(r);
  }
  if (u.demand || u.busy) {
    const Status s = sched_->update_session(r.id, u);
    if (!s.is_ok()) return reply(s);
  }
  if (changed) {
    mark(r);
    request_pass();
  }
  reply(Done{});
}

void Engine::heartbeat(const api::Principal& who, const std::string& id, std::int64_t known_version,
                       std::int32_t wait_ms, Reply<wire::Directives> reply) {
  auto rec = session_for(who, id);
  if (!rec) return reply(rec.status());
  SessionRecord& r = **rec;
  renew(r);
  const TimeMs wait = std::clamp<TimeMs>(wait_ms, 0, std::min(config_.max_wait_ms, r.lease_ttl_ms / 2));
  // Versions count from recovery, so a driver that knows a higher one saw a
  // previous incarnation of this daemon: its view is stale, answer at once.
  if (r.version != known_version || wait == 0) {
    auto d = directives(r);
    return flush_then_for(r.id, [reply, d] { reply(d); });
  }
  Waiter w;
  w.known = known_version;
  w.reply = std::move(reply);
  w.timer = std::make_shared<boost::asio::steady_timer>(strand_);
  w.timer->expires_after(std::chrono::milliseconds(wait));
  auto timer = w.timer;
  waiters_[r.id].push_back(std::move(w));
  timer->async_wait(boost::asio::bind_executor(strand_, [this, id, timer](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    auto& list = it->second;
    for (auto w = list.begin(); w != list.end(); ++w) {
      if (w->timer != timer) continue;
      std::vector<Waiter> due;
      due.push_back(std::move(*w));
      list.erase(w);
      if (list.empty()) waiters_.erase(it);
      answer(id, std::move(due));
      return;
    }
  }));
}

void Engine::acknowledge(const api::Principal& who, const std::string& id, const std::vector<std::string>& executors,
                         Reply<Done> reply) {
  auto rec = session_for(who, id);
  if (!rec) return reply(rec.status());
  if (executors.size() > static_cast<std::size_t>(kMaxExecutorsPerCall)) {
    return reply(Status::invalid_argument("too many executor ids in one call"));
  }
  for (const auto& eid : executors) {
    auto it = executors_.find(eid);
    if (it == executors_.end() || it->second.session != id) {
      return reply(Status::not_found("session '" + id + "' has no executor '" + eid + "'"));
    }
  }
  SessionRecord& r = **rec;
  renew(r);
  bool changed = false;
  for (const auto& eid : executors) {
    ExecutorRecord& e = executors_.at(eid);
    if (e.acknowledged) continue;
    e.acknowledged = true;
    mark(e);
    changed = true;
  }
  if (changed) touch(r);
  flush_then([reply] { reply(Done{}); });
}

void Engine::release(const api::Principal& who, const std::string& id, const std::string& executor, std::int64_t slots,
                     Reply<Done> reply) {
  auto rec = session_for(who, id);
  if (!rec) return reply(rec.status());
  auto it = executors_.find(executor);
  if (it == executors_.end() || it->second.session != id) {
    return reply(Status::not_found("session '" + id + "' has no executor '" + executor + "'"));
  }
  ExecutorRecord& e = it->second;
  SessionRecord& r = **rec;
  renew(r);
  if (!e.live() || e.slots == 0) return flush_then([reply] { reply(Done{}); });  // already gone: nothing to do
  if (slots > e.slots) {
    return reply(Status::invalid_argument("executor '" + executor + "' holds " + std::to_string(e.slots) +
                                          " slots, cannot release " + std::to_string(slots)));
  }
  const std::int64_t n = slots <= 0 ? e.slots : slots;
  const Status s = sched_->release_slots(id, e.host, n);
  if (!s.is_ok()) return reply(s);
  if (n == e.slots) e.released_by_driver = true;
  log_event(LogLevel::kInfo, "slots_released",
            {{"session", id}, {"consumer", r.consumer}, {"executor", executor}, {"slots", std::to_string(n)}});
  sync_executors(r);
  request_pass();
  hand_to_backend_when_durable();
  flush_then([reply] { reply(Done{}); });
}

void Engine::unregister_session(const api::Principal& who, const std::string& id, Reply<Done> reply) {
  auto rec = session_for(who, id);
  if (!rec) return reply(rec.status());
  log_event(LogLevel::kInfo, "session_unregistered", {{"session", id}, {"consumer", (*rec)->consumer}});
  end_session(**rec, "unregistered", "unregistered");
  flush_then([reply] { reply(Done{}); });
}

// ---------------------------------------------------------------------------
// Views

wire::Executor Engine::executor_view(const ExecutorRecord& e) const {
  wire::Executor x;
  x.executor_id = e.id;
  x.host = e.host;
  x.slots = e.slots;
  x.revoking = e.revoking;
  x.state = to_wire(e.phase);
  x.since_ms = e.since_ms;
  x.acknowledged = e.acknowledged;
  x.exit_code = e.exit_code;
  x.detail = e.detail;
  x.resources = api::to_api(e.resources);
  return x;
}

std::vector<wire::Executor> Engine::executors_view(const SessionRecord& rec) const {
  std::vector<wire::Executor> out;
  for (const auto& eid : rec.executor_ids) {
    auto it = executors_.find(eid);
    if (it != executors_.end()) out.push_back(executor_view(it->second));
  }
  return out;
}

wire::Directives Engine::directives(const SessionRecord& rec) const {
  wire::Directives d;
  d.version = rec.version;
  d.server_time_ms = now();
  d.lease_expires_ms = rec.lease_expires_ms;
  const core::Session* cs = sched_->find_session(rec.id);
  d.granted_slots = cs != nullptr ? cs->held : 0;
  d.target_slots = cs != nullptr ? cs->target : 0;
  d.executors = executors_view(rec);
  if (cs != nullptr) {
    for (std::uint64_t rid : cs->revocations) {
      auto r = sched_->revocations().find(rid);
      if (r == sched_->revocations().end()) continue;
      wire::Revocation v;
      v.revocation_id = static_cast<std::int64_t>(rid);
      v.host = sched_->hosts().host(r->second.host).name;
      auto e = rec.executor_on_host.find(v.host);
      v.executor_id = e != rec.executor_on_host.end() ? e->second : "";
      v.slots = r->second.slots;
      v.issued_ms = r->second.issued;
      v.deadline_ms = r->second.deadline;
      v.reason = std::string(core::reason_name(r->second.reason));
      v.beneficiary = r->second.beneficiary;
      d.revocations.push_back(std::move(v));
    }
  }
  return d;
}

wire::SessionInfo Engine::session_info(const SessionRecord& rec) const {
  wire::SessionInfo i;
  i.session_id = rec.id;
  i.consumer = rec.consumer;
  i.user = rec.user;
  i.application = rec.application;
  i.sla = api::to_api(rec.sla);
  i.priority = rec.priority;
  i.slot_shape = api::to_api(rec.shape);
  i.min_slots = rec.min;
  i.max_slots = rec.max;
  i.demand = rec.demand;
  const core::Session* cs = sched_->find_session(rec.id);
  i.granted_slots = cs != nullptr ? cs->held : 0;
  i.revoking = cs != nullptr ? cs->revoking : 0;
  i.target_slots = cs != nullptr ? cs->target : 0;
  i.registered_ms = rec.registered_ms;
  i.lease_expires_ms = rec.lease_expires_ms;
  i.executors = executors_view(rec);
  i.principal = rec.principal;
  i.first_executor_ms = rec.first_executor_ms;
  return i;
}

core::Resources Engine::borrowed_total() const {
  const auto& tree = sched_->tree();
  core::Resources total;
  for (int leaf : tree.leaves()) total += positive_part(sched_->consumer_held(leaf) - sched_->plan(leaf).owned);
  return total;
}

std::map<std::string, int> Engine::sessions_per_consumer() const {
  std::map<std::string, int> out;
  for (const auto& [id, rec] : sessions_) ++out[rec.consumer];
  return out;
}

// One consumer's numbers, the same for the admin API and the gauges. `lent`
// is its unused owned amount capped by what all leaves borrow: an upper
// bound when several owners lend at once.
metrics::ConsumerFigures Engine::figures(int node, const core::Resources& borrowed_total,
                                         const std::map<std::string, int>& sessions_per_consumer) const {
  metrics::ConsumerFigures f;
  const auto& plan = sched_->plan(node);
  f.owned = plan.owned;
  f.allocated = sched_->consumer_held(node);
  f.demand = rounded(sched_->consumer_demand(node));
  f.target = rounded(sched_->consumer_target(node));
  f.borrowed = positive_part(f.allocated - f.owned);
  f.lent = core::Resources::min(positive_part(f.owned - f.allocated), borrowed_total);
  const std::string& path = sched_->tree().node(node).path;
  for (const auto& [consumer, k] : sessions_per_consumer)
    if (api::path_is_under(consumer, path)) f.sessions += k;
  return f;
}

wire::ConsumerTree Engine::tree_view(const api::Principal& who) const {
  wire::ConsumerTree t;
  if (who.admin) t.yaml = tree_yaml_;
  t.version = tree_version_;
  t.updated_ms = tree_updated_ms_;
  const auto& tree = sched_->tree();
  const core::Resources borrowed = borrowed_total();
  const auto per_consumer = sessions_per_consumer();
  for (std::size_t i = 0; i < tree.size(); ++i) {
    const auto& n = tree.node(static_cast<int>(i));
    if (!who.may_act_on(n.path)) continue;
    const core::ConsumerPlan& plan = sched_->plan(static_cast<int>(i));
    const metrics::ConsumerFigures f = figures(static_cast<int>(i), borrowed, per_consumer);
    wire::ConsumerInfo c;
    c.path = n.path;
    c.leaf = n.is_leaf();
    c.share = plan.share;
    c.owned = api::to_api(plan.owned);
    c.limit = api::to_api_limit(plan.limit);
    c.reserved = api::to_api(plan.reserved);
    c.borrow = plan.borrow;
    c.demand = api::to_api(f.demand);
    c.allocated = api::to_api(f.allocated);
    c.target = api::to_api(f.target);
    c.borrowed = api::to_api(f.borrowed);
    c.lent = api::to_api(f.lent);
    c.sessions = f.sessions;
    t.consumers.push_back(std::move(c));
  }
  return t;
}

// ---------------------------------------------------------------------------
// Admin service

std::map<std::string, int> Engine::live_executors_per_host() const {
  std::map<std::string, int> out;
  for (const auto& [id, e] : executors_)
    if (e.live()) ++out[e.host];
  return out;
}

wire::Host Engine::host_view(const core::Host& h, const std::map<std::string, int>& executors_per_host) const {
  wire::Host x;
  x.name = h.name;
  x.capacity = api::to_api(h.capacity);
  x.used = api::to_api(h.used);
  x.draining = h.draining;
  x.up = h.up;
  auto n = executors_per_host.find(h.name);
  x.executors = n == executors_per_host.end() ? 0 : n->second;
  return x;
}

void Engine::status(const api::Principal& who, Reply<wire::ClusterStatus> reply) {
  wire::ClusterStatus st;
  st.version = "0.1.0";
  st.server_time_ms = now();
  st.started_ms = started_ms_;
  st.backend = std::string(backend_.name());
  st.ready = ready_;
  st.principal = who.name;
  if (!sched_) return reply(st);
  st.slot = api::to_api(config_.scheduler.slot);
  core::Resources cap, used;
  const auto execs_per_host = live_executors_per_host();
  for (std::size_t i = 0; i < sched_->hosts().size(); ++i) {
    const core::Host& h = sched_->hosts().host(static_cast<int>(i));
    if (h.up) {
      cap += h.capacity;
      used += h.used;
    }
    st.hosts.push_back(host_view(h, execs_per_host));
  }
  st.capacity = api::to_api(cap);
  st.used = api::to_api(used);
  int sessions = 0;
  for (const auto& [id, rec] : sessions_)
    if (who.may_act_on(rec.consumer)) ++sessions;
  st.sessions = sessions;
  int execs = 0;
  for (const auto& [host, n] : execs_per_host) execs += n;
  st.executors = execs;
  st.pending_revocations = static_cast<std::int32_t>(sched_->pending_revocations());
  reply(st);
}

void Engine::get_tree(const api::Principal& who, Reply<wire::ConsumerTree> reply) {
  if (!ready_) return reply(Status::unavailable("sessiond is starting: retry shortly"));
  reply(tree_view(who));
}

Status Engine::apply_tree(const std::string& yaml, const core::TreeSpec& spec, bool persist) {
  SCHED_RETURN_IF_ERROR(sched_->set_tree(spec));
  tree_yaml_ = yaml;
  {
    std::vector<std::string> tenants;
    for (std::size_t i = 0; i < sched_->tree().size(); ++i) {
      const std::string& path = sched_->tree().node(static_cast<int>(i)).path;
      if (path.size() > 1 && path.find('/', 1) == std::string::npos) tenants.push_back(billing::tenant_of(path));
    }
    std::lock_guard lock(tenants_mu_);
    tenants_ = std::move(tenants);
  }
  if (persist) {
    ++tree_version_;
    tree_updated_ms_ = now();
  }
  return Status::ok();
}

void Engine::set_tree(const api::Principal& who, const std::string& yaml, bool dry_run,
                      Reply<wire::ConsumerTree> reply) {
  if (!ready_) return reply(Status::unavailable("sessiond is starting: retry shortly"));
  if (!who.admin) return reply(Status::permission_denied("only an admin token may change the consumer tree"));
  if (Status utf8 = api::check_utf8("tree", yaml); !utf8.is_ok()) return reply(utf8);
  auto spec = config::parse_tree_text(yaml, "tree");
  if (!spec) return reply(spec.status());
  // Validate fully (structure, amounts, live sessions' consumers) without
  // touching the live tree: build it, and check every session still has a leaf.
  auto built = core::ConsumerTree::build(*spec, config_.scheduler.slot);
  if (!built) return reply(built.status());
  for (const auto& [id, rec] : sessions_) {
    auto n = built->find(rec.consumer);
    if (!n || !built->node(*n).is_leaf()) {
      return reply(Status::failed_precondition("the new tree has no leaf '" + rec.consumer + "' for live session '" +
                                               id + "'; end the session first or keep the consumer"));
    }
  }
  if (dry_run) {
    auto view = tree_view(who);
    return reply(view);
  }
  // Usage up to now is metered under the old plans.
  for (const auto& [c, u] : usage_) account_usage(c);
  const Status s = apply_tree(yaml, *spec, true);
  if (!s.is_ok()) return reply(s);
  log_event(LogLevel::kInfo, "tree_set", {{"principal", who.name}, {"version", std::to_string(tree_version_)}});
  for (const auto& c : built->leaves()) account_usage(built->node(c).path);
  tree_meta_dirty_ = true;
  request_pass();
  auto view = tree_view(who);
  flush_then([reply, view] { reply(view); });
}

void Engine::list_sessions(const api::Principal& who, const std::string& prefix,
                           Reply<std::vector<wire::SessionInfo>> reply) {
  if (!ready_) return reply(Status::unavailable("sessiond is starting: retry shortly"));
  const std::string p = prefix.empty() ? "/" : prefix;
  std::vector<wire::SessionInfo> out;
  for (const auto& [id, rec] : sessions_) {
    if (!api::path_is_under(rec.consumer, p) || !who.may_act_on(rec.consumer)) continue;
    out.push_back(session_info(rec));
  }
  reply(out);
}

void Engine::drain_host(const api::Principal& who, const std::string& host, bool drain, Reply<wire::Host> reply) {
  if (!ready_) return reply(Status::unavailable("sessiond is starting: retry shortly"));
  if (!who.admin) return reply(Status::permission_denied("only an admin token may drain hosts"));
  const Status s = sched_->drain_host(host, drain);
  if (!s.is_ok()) return reply(s);
  log_event(LogLevel::kInfo, drain ? "host_drained" : "host_undrained", {{"host", host}, {"principal", who.name}});
  auto hi = sched_->hosts().find(host);
  const core::Host& h = sched_->hosts().host(*hi);
  const wire::Host x = host_view(h, live_executors_per_host());
  request_pass();
  reply(x);
}

void Engine::on_host_event(const backend::HostEvent& ev) {
  const std::string& name = ev.host.name;
  auto hi = sched_->hosts().find(name);
  const bool known = hi.is_ok() && sched_->hosts().host(*hi).up;
  Status s;
  if (ev.kind == backend::HostEvent::Kind::kRemoved) {
    if (!known) return;
    s = sched_->remove_host(name);
    backend_cordoned_.erase(name);
    log_event(LogLevel::kWarn, "host_removed", {{"host", name}, {"detail", ev.detail}});
  } else {
    if (!known) {
      s = sched_->add_host(ev.host);
      if (s.is_ok()) {
        log_event(LogLevel::kInfo, "host_added",
                  {{"host", name}, {"capacity", ev.host.capacity.to_string()}, {"detail", ev.detail}});
      }
    } else if (!(sched_->hosts().host(*hi).capacity == ev.host.capacity)) {
      s = sched_->set_host_capacity(name, ev.host.capacity);
      log_event(LogLevel::kInfo, "host_capacity",
                {{"host", name}, {"capacity", ev.host.capacity.to_string()}, {"detail", ev.detail}});
    }
    auto was = backend_cordoned_.find(name);
    const bool changed = was == backend_cordoned_.end() ? ev.cordoned : was->second != ev.cordoned;
    backend_cordoned_[name] = ev.cordoned;
    if (s.is_ok() && changed) {
      s = sched_->drain_host(name, ev.cordoned);
      log_event(LogLevel::kInfo, ev.cordoned ? "host_drained" : "host_undrained",
                {{"host", name}, {"principal", std::string(backend_.name())}, {"detail", ev.detail}});
    }
  }
  if (!s.is_ok()) {
    log_event(LogLevel::kError, "host_event_rejected", {{"host", name}, {"error", s.message()}});
    return;
  }
  request_pass();
}

void Engine::usage(const api::Principal& who, const std::string& prefix,
                   Reply<std::vector<wire::ConsumerUsage>> reply) {
  if (!ready_) return reply(Status::unavailable("sessiond is starting: retry shortly"));
  const std::string p = prefix.empty() ? "/" : prefix;
  std::vector<std::string> consumers;
  for (const auto& [c, u] : usage_) consumers.push_back(c);
  for (const auto& c : consumers) account_usage(c);
  // Leaves carry the meter; every node reports the sum of its subtree.
  const auto& tree = sched_->tree();
  std::vector<wire::ConsumerUsage> out;
  for (std::size_t i = 0; i < tree.size(); ++i) {
    const auto& n = tree.node(static_cast<int>(i));
    if (!api::path_is_under(n.path, p) || !who.may_act_on(n.path)) continue;
    wire::ConsumerUsage u;
    u.path = n.path;
    u.allocated = api::to_api(sched_->consumer_held(static_cast<int>(i)));
    TimeMs since = 0;
    for (const auto& [c, t] : usage_) {
      if (!api::path_is_under(c, n.path)) continue;
      u.cpu_seconds += t.cpu_seconds;
      u.memory_gib_seconds += t.memory_gib_seconds;
      u.gpu_seconds += t.gpu_seconds;
      if (since == 0 || (t.since_ms != 0 && t.since_ms < since)) since = t.since_ms;
    }
    u.since_ms = since;
    out.push_back(std::move(u));
  }
  reply(out);
}

void Engine::refresh_metrics() {
  if (!sched_ || !ready_) return;
  std::map<std::string, metrics::ConsumerFigures> all;
  const auto& tree = sched_->tree();
  std::map<std::string, int> by_sla = {{"interactive", 0}, {"streaming", 0}, {"batch", 0}};
  for (const auto& [id, rec] : sessions_) ++by_sla[std::string(core::sla_name(rec.sla))];
  const core::Resources borrowed = borrowed_total();
  const auto per_consumer = sessions_per_consumer();
  for (std::size_t i = 0; i < tree.size(); ++i) {
    all[tree.node(static_cast<int>(i)).path] = figures(static_cast<int>(i), borrowed, per_consumer);
  }
  metrics_.set_consumers(all);
  std::map<std::string, int> by_phase = {{"launching", 0}, {"running", 0}, {"stopping", 0}, {"exited", 0}};
  for (const auto& [id, e] : executors_) ++by_phase[phase_name(e.phase)];
  metrics_.set_counts(by_sla, by_phase);
}

}  // namespace sched::daemon
