// The daemon's durable state in RocksDB: a small key-value surface with one
// writer thread that group-commits synced batches, so the scheduling strand
// never waits on the disk and many acknowledgements share one fsync.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.hpp"

namespace rocksdb {
class DB;
}

namespace sched::store {

// Puts (value set) and deletes (no value), applied atomically in order.
struct WriteSet {
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  void put(std::string key, std::string value) { ops.emplace_back(std::move(key), std::move(value)); }
  void erase(std::string key) { ops.emplace_back(std::move(key), std::nullopt); }
  bool empty() const { return ops.empty(); }
};

class StateStore {
 public:
  // Called on the writer thread with each batch's write time (for metrics).
  using WriteObserver = std::function<void(std::chrono::nanoseconds, std::size_t ops)>;

  // Opens (creating if missing) the database under `dir`. With `sync`, every
  // batch is fsynced before its callback runs.
  static Result<std::unique_ptr<StateStore>> open(const std::string& dir, bool sync, WriteObserver observer = {});
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Reads. Safe from any thread; used at start-up before writes begin.
  Result<std::optional<std::string>> get(std::string_view key) const;
  // Every key starting with `prefix`, in key order.
  Status scan(std::string_view prefix, const std::function<void(std::string_view, std::string_view)>& visit) const;
  // Keys in [from, to), in key order, until `visit` returns false.
  Status scan_range(std::string_view from, std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& visit) const;

  // Queues a batch; `done` runs on the writer thread once it is durable (or
  // failed). Batches queued together are written as one, in queue order.
  void write(WriteSet batch, std::function<void(Status)> done);
  // Writes at once on the calling thread (start-up, tests).
  Status write_now(const WriteSet& batch);

  // Waits for queued batches and stops the writer. Idempotent.
  void close();

 private:
  StateStore(std::unique_ptr<rocksdb::DB> db, bool sync, WriteObserver observer);
  void writer_loop();
  Status apply(const std::vector<const WriteSet*>& batches);

  std::unique_ptr<rocksdb::DB> db_;
  bool sync_;
  WriteObserver observer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<WriteSet, std::function<void(Status)>>> queue_;
  bool closing_ = false;
  std::thread writer_;
};

}  // namespace sched::store
