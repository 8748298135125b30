// The Kafka export loop: read records after the cursor, produce them, move
// the cursor over the delivered prefix, save it now and then; on a failed
// delivery purge and start again from the cursor.
#include "billing/kafka_sink.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>

#include "common/event_log.hpp"

namespace sched::billing {
namespace {

using Clock = std::chrono::steady_clock;

// The tenant of a record in its JSON form. Tenants are consumer names
// (letters, digits, '-', '_'), so a plain scan finds it; anything odder
// goes through the parser.
std::string tenant_in(const std::string& json) {
  static const std::string kField = "\"tenant\":\"";
  const auto at = json.find(kField);
  if (at != std::string::npos) {
    const auto from = at + kField.size();
    const auto to = json.find('"', from);
    if (to != std::string::npos && json.find('\\', from) > to) return json.substr(from, to - from);
  }
  try {
    return nlohmann::json::parse(json).value("tenant", "");
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

class KafkaSink::Impl : public RdKafka::DeliveryReportCb {
 public:
  Impl(KafkaSinkOptions options, const Ledger& ledger, store::StateStore& store, SinkStats& stats)
      : options_(std::move(options)), ledger_(ledger), store_(store), stats_(stats) {}

  ~Impl() override { stop(); }

  Status configure() {
    conf_.reset(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::map<std::string, std::string> settings = {
        {"bootstrap.servers", options_.brokers},
        {"client.id", "sessiond-billing"},
        {"linger.ms", "20"},
        {"compression.type", "lz4"},
        // Retry through outages for a long while before reporting failure;
        // the cursor makes a failure cost a re-send, not a loss.
        {"message.timeout.ms", "600000"},
        {"queue.buffering.max.messages", std::to_string(options_.max_in_flight + 1000)},
        {"socket.keepalive.enable", "true"},
        {"reconnect.backoff.max.ms", "2000"},
    };
    for (const auto& [k, v] : options_.properties) settings[k] = v;
    // These stay: without them a retry could duplicate or reorder within a partition.
    settings["enable.idempotence"] = "true";
    settings["acks"] = "all";
    std::string err;
    for (const auto& [k, v] : settings) {
      if (conf_->set(k, v, err) != RdKafka::Conf::CONF_OK) {
        return Status::invalid_argument("billing.kafka: setting '" + k + "': " + err);
      }
    }
    if (conf_->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) != RdKafka::Conf::CONF_OK) {
      return Status::internal("billing.kafka: " + err);
    }
    return Status::ok();
  }

  void start() {
    auto cursor = ledger_.cursor(kCursorName);
    cursor_ = cursor ? *cursor : 0;
    saved_ = cursor_;
    stats_.cursor = cursor_;
    thread_ = std::thread([this] { run(); });
  }

  void poke() {
    {
      std::lock_guard lock(mu_);
      poked_ = true;
    }
    cv_.notify_one();
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  // librdkafka calls this from poll()/flush() on the sink's own thread.
  void dr_cb(RdKafka::Message& m) override {
    const auto id = static_cast<std::int64_t>(reinterpret_cast<std::intptr_t>(m.msg_opaque()));
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      if (!failed_) {
        log_event(LogLevel::kWarn, "billing_kafka_delivery_failed",
                  {{"record_id", std::to_string(id)}, {"error", m.errstr()}});
      }
      failed_ = true;
      return;
    }
    if (id < base_ || id >= base_ + static_cast<std::int64_t>(delivered_.size())) return;  // from before a rewind
    delivered_[static_cast<std::size_t>(id - base_)] = true;
  }

 private:
  bool make_producer() {
    std::string err;
    producer_.reset(RdKafka::Producer::create(conf_.get(), err));
    if (!producer_) {
      log_event(LogLevel::kError, "billing_kafka_producer_failed", {{"error", err}});
      return false;
    }
    return true;
  }

  // Everything produced and not yet delivered is dropped; the next round
  // starts again after the cursor.
  void rewind() {
    ++stats_.failures;
    if (producer_) {
      producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
      producer_->poll(0);
      std::string reason;
      // An idempotent producer that hit a fatal error cannot go on.
      if (producer_->fatal_error(reason) != RdKafka::ERR_NO_ERROR) {
        log_event(LogLevel::kWarn, "billing_kafka_producer_reset", {{"error", reason}});
        producer_.reset();
      }
    }
    delivered_.clear();
    base_ = cursor_ + 1;
    failed_ = false;
  }

  void advance() {
    while (!delivered_.empty() && delivered_.front()) {
      delivered_.pop_front();
      cursor_ = base_;
      ++base_;
    }
    stats_.cursor = cursor_;
  }

  void save_cursor(bool force) {
    if (cursor_ == saved_) return;
    if (!force && Clock::now() - saved_at_ < std::chrono::milliseconds(250)) return;
    store::WriteSet ws;
    Ledger::put_cursor(ws, kCursorName, cursor_);
    const Status s = store_.write_now(ws);
    if (!s.is_ok()) {
      log_event(LogLevel::kError, "billing_cursor_write_failed", {{"sink", kCursorName}, {"error", s.message()}});
      return;
    }
    saved_ = cursor_;
    saved_at_ = Clock::now();
  }

  // Produces records after what is in flight, up to the window.
  void fill() {
    const std::int64_t next = base_ + static_cast<std::int64_t>(delivered_.size());
    if (delivered_.size() >= options_.max_in_flight || next > ledger_.durable_id()) return;
    std::vector<StoredRecord> batch;
    const Status s =
        ledger_.read_after(next - 1, std::min<std::size_t>(options_.max_in_flight - delivered_.size(), 20000), batch);
    if (!s.is_ok()) {
      log_event(LogLevel::kError, "billing_ledger_read_failed", {{"error", s.message()}});
      return;
    }
    for (auto& r : batch) {
      const std::string key = tenant_in(r.json);
      for (;;) {
        const RdKafka::ErrorCode e = producer_->produce(
            options_.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, r.json.data(), r.json.size(),
            key.data(), key.size(), 0, reinterpret_cast<void*>(static_cast<std::intptr_t>(r.id)));
        if (e == RdKafka::ERR_NO_ERROR) break;
        if (e == RdKafka::ERR__QUEUE_FULL) {
          producer_->poll(50);
          continue;
        }
        log_event(LogLevel::kWarn, "billing_kafka_produce_failed",
                  {{"record_id", std::to_string(r.id)}, {"error", RdKafka::err2str(e)}});
        failed_ = true;
        return;
      }
      delivered_.push_back(false);
      ++stats_.sent;
    }
  }

  void run() {
    base_ = cursor_ + 1;
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (stopping_) break;
        const bool idle = delivered_.empty() && ledger_.durable_id() <= cursor_;
        if (idle) cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return poked_ || stopping_; });
        poked_ = false;
        if (stopping_) break;
      }
      if (!producer_ && !make_producer()) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      fill();
      // Wait for delivery reports only when there is nothing more to send.
      const bool more = base_ + static_cast<std::int64_t>(delivered_.size()) <= ledger_.durable_id() &&
                        delivered_.size() < options_.max_in_flight;
      producer_->poll(delivered_.empty() || more ? 0 : 20);
      advance();
      if (failed_) {
        rewind();
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
      save_cursor(delivered_.empty());
    }
    if (producer_) {
      producer_->flush(5000);
      advance();
    }
    save_cursor(true);
    producer_.reset();
  }

  KafkaSinkOptions options_;
  const Ledger& ledger_;
  store::StateStore& store_;
  SinkStats& stats_;
  std::unique_ptr<RdKafka::Conf> conf_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false;
  bool stopping_ = false;

  // Sink thread only.
  std::int64_t cursor_ = 0;
  std::int64_t saved_ = 0;
  Clock::time_point saved_at_{};
  std::int64_t base_ = 1;       // id of delivered_.front()
  std::deque<bool> delivered_;  // ids base_, base_+1, ... produced
  bool failed_ = false;
};

Result<std::unique_ptr<KafkaSink>> KafkaSink::create(KafkaSinkOptions options, const Ledger& ledger,
                                                     store::StateStore& store) {
  auto sink = std::unique_ptr<KafkaSink>(new KafkaSink(nullptr));
  sink->impl_ = std::make_unique<Impl>(std::move(options), ledger, store, sink->stats_);
  SCHED_RETURN_IF_ERROR(sink->impl_->configure());
  return sink;
}

KafkaSink::KafkaSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaSink::~KafkaSink() {
  stop();
}

void KafkaSink::start() {
  impl_->start();
}

void KafkaSink::poke() {
  impl_->poke();
}

void KafkaSink::stop() {
  if (impl_) impl_->stop();
}

}  // namespace sched::billing
