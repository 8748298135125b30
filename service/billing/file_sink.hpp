// The periodic file export: every interval, the records since the last file
// go into new files (JSON lines, or CSV with one file per kind) named by
// their id range, written whole (temp file, fsync, rename) before the cursor
// moves. A crash in between rewrites the same range under the same name.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "billing/kafka_sink.hpp"
#include "billing/ledger.hpp"
#include "core/clock.hpp"
#include "store/state_store.hpp"

namespace sched::billing {

struct FileSinkOptions {
  std::string dir;
  core::TimeMs interval_ms = 60'000;
  std::string format = "jsonl";  // jsonl or csv
  std::size_t max_records_per_file = 100'000;
};

class FileSink {
 public:
  // Creates the directory; fails when it cannot be written.
  static Result<std::unique_ptr<FileSink>> create(FileSinkOptions options, const Ledger& ledger,
                                                  store::StateStore& store);
  ~FileSink();
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  void start();
  // Writes what is durable now, then stops.
  void stop();
  // Writes every durable record not yet in a file (the sink's thread does
  // this each interval).
  Status export_now();
  const SinkStats& stats() const { return stats_; }

  static constexpr const char* kCursorName = "files";

 private:
  FileSink(FileSinkOptions options, const Ledger& ledger, store::StateStore& store);
  Status write_file(const std::string& name, const std::string& body) const;
  void run();

  FileSinkOptions options_;
  const Ledger& ledger_;
  store::StateStore& store_;
  SinkStats stats_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace sched::billing
