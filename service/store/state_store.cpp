// RocksDB behind the state store, with the group-committing writer.
#include "store/state_store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

namespace sched::store {
namespace {

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::ok();
  return Status::unavailable(what + ": " + s.ToString());
}

}  // namespace

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& dir, bool sync, WriteObserver observer) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::unavailable("cannot create state directory '" + dir + "': " + ec.message());
  rocksdb::Options options;
  options.create_if_missing = true;
  // Small records, read back whole at start-up: the defaults suit, bar a
  // smaller write buffer so recovery replays little WAL. After kill -9 with
  // 10,000 sessions, replaying the WAL into the memtable was half of the
  // restart: 16 MiB took 830-850 ms to /readyz, 4 MiB 550-640 ms.
  options.write_buffer_size = 4 << 20;
  options.max_background_jobs = 2;
  options.keep_log_file_num = 3;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, dir + "/state", &raw);
  if (!s.ok()) {
    // The usual cause: a second sessiond on the same data directory.
    return Status::unavailable("cannot open the state database in '" + dir + "': " + s.ToString());
  }
  return std::unique_ptr<StateStore>(new StateStore(std::unique_ptr<rocksdb::DB>(raw), sync, std::move(observer)));
}

StateStore::StateStore(std::unique_ptr<rocksdb::DB> db, bool sync, WriteObserver observer)
    : db_(std::move(db)), sync_(sync), observer_(std::move(observer)) {
  writer_ = std::thread([this] { writer_loop(); });
}

StateStore::~StateStore() {
  close();
}

void StateStore::close() {
  {
    std::lock_guard lock(mu_);
    if (closing_ && !writer_.joinable()) return;
    closing_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

Result<std::optional<std::string>> StateStore::get(std::string_view key) const {
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return Status::unavailable("state read of '" + std::string(key) + "': " + s.ToString());
  return std::optional<std::string>(std::move(value));
}

Status StateStore::scan(std::string_view prefix,
                        const std::function<void(std::string_view, std::string_view)>& visit) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (!k.starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) break;
    visit(std::string_view(k.data(), k.size()), std::string_view(it->value().data(), it->value().size()));
  }
  return from_rocks(it->status(), "state scan");
}

Status StateStore::scan_range(std::string_view from, std::string_view to,
                              const std::function<bool(std::string_view, std::string_view)>& visit) const {
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper(to.data(), to.size());
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return from_rocks(it->status(), "state scan");
}

void StateStore::write(WriteSet batch, std::function<void(Status)> done) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(std::move(batch), std::move(done));
  }
  cv_.notify_one();
}

Status StateStore::write_now(const WriteSet& batch) {
  return apply({&batch});
}

Status StateStore::apply(const std::vector<const WriteSet*>& batches) {
  rocksdb::WriteBatch wb;
  std::size_t ops = 0;
  for (const WriteSet* b : batches) {
    for (const auto& [key, value] : b->ops) {
      if (value) {
        wb.Put(key, *value);
      } else {
        wb.Delete(key);
      }
      ++ops;
    }
  }
  if (ops == 0) return Status::ok();
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  const auto t0 = std::chrono::steady_clock::now();
  const rocksdb::Status s = db_->Write(wo, &wb);
  if (observer_) observer_(std::chrono::steady_clock::now() - t0, ops);
  return from_rocks(s, "state write");
}

void StateStore::writer_loop() {
  for (;;) {
    std::deque<std::pair<WriteSet, std::function<void(Status)>>> work;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty() && closing_) return;
      work.swap(queue_);
    }
    std::vector<const WriteSet*> batches;
    batches.reserve(work.size());
    for (const auto& w : work) batches.push_back(&w.first);
    const Status s = apply(batches);
    for (auto& w : work) {
      if (w.second) w.second(s);
    }
  }
}

}  // namespace sched::store
