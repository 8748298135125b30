// billing-bench: what metering costs the decision path, and how fast the
// ledger is written and exported (files; Kafka when a broker is given), for
// 10,000 concurrent sessions. Prints figures and writes a JSON report.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "billing/file_sink.hpp"
#include "billing/kafka_sink.hpp"
#include "billing/ledger.hpp"
#include "billing/usage_meter.hpp"
#include "billing/usage_queries.hpp"
#include "core/scheduler.hpp"
#include "daemon/records.hpp"

namespace {

using namespace sched;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

core::TreeSpec tenants_tree(int tenants) {
  core::TreeSpec tree;
  for (int t = 0; t < tenants; ++t) {
    core::ConsumerSpec c;
    c.name = "t" + std::to_string(t);
    c.plan.share = 1.0 + t % 3;
    tree.consumers.push_back(c);
  }
  return tree;
}

// A Spark session's record as the engine stores it, launch spec and all:
// the JVM command with Spark's module options, the warm command, the env.
daemon::SessionRecord spark_session_record(const std::string& id, const std::string& consumer) {
  daemon::SessionRecord r;
  r.id = id;
  r.consumer = consumer;
  r.user = "user";
  r.application = "app";
  r.principal = consumer.substr(1);
  r.shape = core::Resources::cpu_mem(1000, 1024);
  r.demand = 8;
  std::vector<std::string> jvm = {"/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "-cp",
                                  "/opt/venv/lib/python3.11/site-packages/pyspark/jars/*", "-Xmx1g"};
  for (const char* m : {"java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
                        "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "jdk.internal.ref",
                        "sun.nio.ch", "sun.nio.cs", "sun.security.action", "sun.util.calendar"})
    jvm.push_back(std::string("--add-opens=java.base/") + m + "=ALL-UNNAMED");
  r.launch.command = jvm;
  for (const char* a :
       {"-Dspark.driver.port=40293", "org.apache.spark.executor.CoarseGrainedExecutorBackend", "--driver-url",
        "spark://CoarseGrainedScheduler@localhost:40293", "--executor-id", "{executor_index}", "--hostname", "{host}",
        "--cores", "{max_slots}", "--app-id", "spark-1795356789909-8vkqzj", "--resourceProfileId", "0"})
    r.launch.command.emplace_back(a);
  r.launch.warm_command = jvm;
  r.launch.warm_command.back() += ":/opt/session-scheduler/jars/spark-session-backend.jar";
  r.launch.warm_command.emplace_back("org.apache.spark.scheduler.cluster.session.WarmExecutor");
  r.launch.warm_args_from = jvm.size();
  r.launch.env = {{"JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"},
                  {"SPARK_HOME", "/opt/venv/lib/python3.11/site-packages/pyspark"},
                  {"PYSPARK_PYTHON", "/opt/venv/bin/python"},
                  {"PYTHONHASHSEED", "0"},
                  {"SPARK_USER", "user"}};
  r.launch.working_dir = "/tmp";
  r.lease_ttl_ms = 30'000;
  r.registered_ms = 1'795'255'200'000;
  return r;
}

billing::SessionAttrs attrs_of(const std::string& id, const std::string& consumer) {
  return billing::SessionAttrs{id, consumer, "user", "app", core::SlaClass::kBatch};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"billing-bench: metering overhead and ledger/export throughput"};
  int sessions = 10'000;
  int rounds = 200;
  int changes_per_round = 200;
  int records = 200'000;
  std::string dir = "bench/out/billing-work";
  std::string report = "bench/out/billing-bench.json";
  std::string kafka;
  std::string topic = "billing-bench";
  app.add_option("--sessions", sessions, "concurrent sessions");
  app.add_option("--rounds", rounds, "scheduling rounds measured");
  app.add_option("--changes", changes_per_round, "demand changes per round");
  app.add_option("--records", records, "records written and exported");
  app.add_option("--dir", dir, "scratch directory (RocksDB, export files)");
  app.add_option("--report", report, "JSON report");
  app.add_option("--kafka", kafka, "Kafka bootstrap servers: also measure the Kafka export");
  app.add_option("--topic", topic, "Kafka topic");
  CLI11_PARSE(app, argc, argv);
  nlohmann::json out;

  // 1. The decision path: a scheduling pass over 10,000 sessions versus
  //    metering what the pass changed (UsageMeter and the records' JSON).
  {
    core::ManualClock clock(1'795'255'200'000);
    core::SchedulerConfig cfg;
    cfg.slot = core::Resources::cpu_mem(1000, 1024);
    auto sched = core::Scheduler::create(cfg, &clock);
    if (!sched) {
      std::cerr << sched.status().message() << "\n";
      return 1;
    }
    auto& s = **sched;
    const int hosts = std::max(1, sessions / 10);
    for (int h = 0; h < hosts; ++h) {
      (void)s.add_host(core::HostSpec{"h" + std::to_string(h), core::Resources::cpu_mem(32'000, 32 * 1024), {}});
    }
    (void)s.set_tree(tenants_tree(20));
    std::mt19937 rng(7);
    std::vector<std::string> consumers(static_cast<std::size_t>(sessions));
    for (int i = 0; i < sessions; ++i) {
      core::SessionSpec spec;
      spec.id = "s" + std::to_string(i);
      spec.consumer = "/t" + std::to_string(i % 20);
      spec.demand = 1 + static_cast<std::int64_t>(rng() % 40);
      consumers[static_cast<std::size_t>(i)] = spec.consumer;
      (void)s.register_session(spec);
    }
    billing::UsageMeter meter;
    std::vector<daemon::SessionRecord> records_of(static_cast<std::size_t>(sessions));
    for (int i = 0; i < sessions; ++i)
      records_of[static_cast<std::size_t>(i)] = spark_session_record("s" + std::to_string(i), consumers[i]);
    double json_s = 0, session_json_s = 0;
    std::size_t rewrites = 0, rewrite_bytes = 0;
    // The engine stores a session's open interval when it changes (under
    // its own key, interval_key(): not the whole record, launch spec and
    // all, which is what to_json(record) would cost).
    auto rewrite = [&](daemon::SessionRecord& rec, std::int64_t held) {
      const auto j0 = Clock::now();
      rec.metered_slots = held;
      rec.metered_held = cfg.slot * held;
      rec.metered_since_s = clock.now_ms() / 1000;
      rewrite_bytes += daemon::interval_to_json(rec).size();
      ++rewrites;
      session_json_s += seconds_since(j0);
    };
    auto meter_decisions = [&](const core::Decisions& ds) {
      std::set<std::string> touched;
      for (const auto& d : ds) touched.insert(d.session);
      std::size_t made = 0;
      for (const auto& id : touched) {
        std::int64_t held = 0;
        if (const core::Session* cs = s.find_session(id)) {
          for (const auto& p : cs->placements) held += p.slots;
        }
        const std::size_t i = std::stoul(id.substr(1));
        if (meter.hold(id, held, cfg.slot * held, clock.now_ms(), [&] { return attrs_of(id, consumers[i]); }))
          rewrite(records_of[i], held);
      }
      const auto j0 = Clock::now();
      for (auto& r : meter.take()) made += billing::to_json(billing::LedgerRecord{std::move(r)}).size() > 0;
      json_s += seconds_since(j0);
      return made;
    };
    clock.advance(1000);
    meter_decisions(s.schedule());  // the initial fill, not measured
    double pass_s = 0, meter_s = 0, update_s = 0, busy_s = 0;
    std::size_t busy_rewrites = 0;
    std::size_t decisions = 0, recs = 0;
    for (int r = 0; r < rounds; ++r) {
      clock.advance(1000 + static_cast<core::TimeMs>(rng() % 2000));
      for (int k = 0; k < changes_per_round; ++k) {
        core::SessionUpdate u;
        u.demand = static_cast<std::int64_t>(rng() % 40);
        const std::size_t i = rng() % static_cast<unsigned>(sessions);
        const std::string id = "s" + std::to_string(i);
        const std::int64_t running = static_cast<std::int64_t>(rng() % 40);
        auto t0 = Clock::now();
        (void)s.update_session(id, u);
        update_s += seconds_since(t0);
        // The driver's running-task count comes with its demand: a change
        // is stored with the open interval (the engine's save_interval).
        t0 = Clock::now();
        if (meter.running(id, running, clock.now_ms())) {
          const core::Session* cs = s.find_session(id);
          rewrite(records_of[i], cs != nullptr ? cs->held : 0);
          ++busy_rewrites;
        }
        busy_s += seconds_since(t0);
      }
      auto t0 = Clock::now();
      auto ds = s.schedule();
      pass_s += seconds_since(t0);
      decisions += ds.size();
      t0 = Clock::now();
      recs += meter_decisions(ds);
      meter_s += seconds_since(t0);
    }
    const double overhead = 100.0 * meter_s / pass_s;
    const double updates = static_cast<double>(rounds) * changes_per_round;
    std::printf(
        "  of which record JSON: %.3f ms/round, open intervals stored: %.3f ms/round (%zu, %zu bytes "
        "each on average)\n",
        1e3 * json_s / rounds, 1e3 * session_json_s / rounds, rewrites, rewrites ? rewrite_bytes / rewrites : 0);
    std::printf(
        "demand updates: %.2f us each in the core; busy count metered and stored: %.2f us each (+%.2f%%, "
        "%zu intervals stored)\n",
        1e6 * update_s / updates, 1e6 * busy_s / updates, 100.0 * busy_s / update_s, busy_rewrites);
    std::printf(
        "decision path: %d rounds, %zu decisions, pass %.3f ms/round, metering %.3f ms/round (+%.2f%%), "
        "%zu records\n",
        rounds, decisions, 1e3 * pass_s / rounds, 1e3 * meter_s / rounds, overhead, recs);
    out["decision_path"] = {{"sessions", sessions},
                            {"rounds", rounds},
                            {"decisions", decisions},
                            {"pass_ms_per_round", 1e3 * pass_s / rounds},
                            {"meter_ms_per_round", 1e3 * meter_s / rounds},
                            {"overhead_percent", overhead},
                            {"interval_ms_per_round", 1e3 * session_json_s / rounds},
                            {"interval_bytes", rewrites ? rewrite_bytes / rewrites : 0},
                            {"session_record_bytes", daemon::to_json(records_of[0]).size()},
                            {"update_us", 1e6 * update_s / updates},
                            {"busy_meter_us", 1e6 * busy_s / updates},
                            {"busy_overhead_percent", 100.0 * busy_s / update_s},
                            {"records", recs}};
  }

  // 2. Ledger writes: records appended in synced batches of 1,000.
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = store::StateStore::open(dir + "/db", true);
  if (!store) {
    std::cerr << store.status().message() << "\n";
    return 1;
  }
  billing::Ledger ledger(**store);
  (void)ledger.load();
  {
    const auto t0 = Clock::now();
    for (int done = 0; done < records;) {
      std::vector<billing::LedgerRecord> batch;
      for (int k = 0; k < 1000 && done < records; ++k, ++done) {
        billing::UsageRecord u;
        u.who = attrs_of("s" + std::to_string(done % sessions), "/t" + std::to_string(done % 20));
        u.slots = 1 + done % 8;
        u.cpu_millis = 1000 * u.slots;
        u.memory_mib = 1024 * u.slots;
        u.start_s = 1'795'255'200 + done / sessions;
        u.end_s = u.start_s + 1;
        batch.emplace_back(std::move(u));
      }
      store::WriteSet ws;
      ledger.append(std::move(batch), ws);
      if (!(*store)->write_now(ws).is_ok()) return 1;
      ledger.mark_durable(ledger.last_id());
    }
    const double s = seconds_since(t0);
    std::printf("ledger writes: %d records in %.2f s = %.0f records/s (synced batches of 1000)\n", records, s,
                records / s);
    out["ledger_write"] = {{"records", records}, {"seconds", s}, {"records_per_second", records / s}};
  }

  // 2b. One tenant's monthly bill among 20 tenants sharing the ledger: the
  //     time index names each record's tenant, so the others' records are
  //     skipped unread.
  {
    billing::RateCard card;
    card.fallback = billing::Prices{0.05, 0.01, 2.0};
    const auto all = [](std::string_view) { return true; };
    std::vector<std::string> tenants;
    for (int t = 0; t < 20; ++t) tenants.push_back("t" + std::to_string(t));
    const auto t0 = Clock::now();
    auto bill = billing::monthly_bill(ledger, card, "t7", "2026-11", 1'798'000'000'000LL, tenants, all);
    const double s = seconds_since(t0);
    if (!bill) {
      std::cerr << bill.status().message() << "\n";
      return 1;
    }
    std::int64_t lines = 0;
    for (const auto& l : bill->bill.lines) lines += l.records;
    std::printf("monthly bill: tenant t7 of 20, %lld of its records among %d in the month, %.1f ms\n",
                static_cast<long long>(lines), records, 1e3 * s);
    out["monthly_bill"] = {{"tenant_records", lines}, {"month_records", records}, {"seconds", s}};
  }

  // 3. File export of everything.
  for (const std::string format : {"jsonl", "csv"}) {
    store::WriteSet reset;  // both formats export everything from the start
    billing::Ledger::put_cursor(reset, billing::FileSink::kCursorName, 0);
    (void)(*store)->write_now(reset);
    auto sink =
        billing::FileSink::create(billing::FileSinkOptions{dir + "/files-" + format, 60'000, format}, ledger, **store);
    if (!sink) return 1;
    const auto t0 = Clock::now();
    if (!(*sink)->export_now().is_ok()) return 1;
    const double s = seconds_since(t0);
    std::printf("file export (%s): %d records in %.2f s = %.0f records/s\n", format.c_str(), records, s, records / s);
    out["file_export_" + format] = {{"records", records}, {"seconds", s}, {"records_per_second", records / s}};
  }

  // 4. Kafka export of everything, delivery reports included.
  if (!kafka.empty()) {
    auto sink = billing::KafkaSink::create(billing::KafkaSinkOptions{kafka, topic, {}}, ledger, **store);
    if (!sink) {
      std::cerr << sink.status().message() << "\n";
      return 1;
    }
    const auto t0 = Clock::now();
    (*sink)->start();
    (*sink)->poke();
    while ((*sink)->stats().cursor.load() < ledger.last_id() && seconds_since(t0) < 300) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double s = seconds_since(t0);
    const auto delivered = (*sink)->stats().cursor.load();
    (*sink)->stop();
    std::printf("kafka export: %lld records delivered in %.2f s = %.0f records/s\n", static_cast<long long>(delivered),
                s, static_cast<double>(delivered) / s);
    out["kafka_export"] = {
        {"records", delivered}, {"seconds", s}, {"records_per_second", static_cast<double>(delivered) / s}};
  }
  (*store)->close();
  std::ofstream(report) << out.dump(2) << "\n";
  std::printf("report: %s\n", report.c_str());
  return 0;
}
