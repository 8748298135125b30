// Writing ledger records to export files, atomically and idempotently.
#include "billing/file_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/event_log.hpp"

namespace sched::billing {
namespace {

std::string padded(std::int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(v));
  return buf;
}

Status errno_status(const std::string& what) {
  return Status::unavailable(what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<FileSink>> FileSink::create(FileSinkOptions options, const Ledger& ledger,
                                                   store::StateStore& store) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Status::invalid_argument("billing.files.dir '" + options.dir + "': " + ec.message());
  if (::access(options.dir.c_str(), W_OK) != 0) return errno_status("billing.files.dir '" + options.dir + "'");
  return std::unique_ptr<FileSink>(new FileSink(std::move(options), ledger, store));
}

FileSink::FileSink(FileSinkOptions options, const Ledger& ledger, store::StateStore& store)
    : options_(std::move(options)), ledger_(ledger), store_(store) {}

FileSink::~FileSink() {
  stop();
}

void FileSink::start() {
  auto c = ledger_.cursor(kCursorName);
  stats_.cursor = c ? *c : 0;
  thread_ = std::thread([this] { run(); });
}

void FileSink::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void FileSink::run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms), [this] { return stopping_; });
    }
    const Status s = export_now();
    if (!s.is_ok()) log_event(LogLevel::kError, "billing_file_export_failed", {{"error", s.message()}});
    std::lock_guard lock(mu_);
    if (stopping_) return;
  }
}

Status FileSink::write_file(const std::string& name, const std::string& body) const {
  const std::string path = options_.dir + "/" + name;
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("cannot create " + tmp);
  std::size_t done = 0;
  while (done < body.size()) {
    const ssize_t n = ::write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const Status s = errno_status("cannot write " + tmp);
      ::close(fd);
      return s;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const Status s = errno_status("cannot fsync " + tmp);
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return errno_status("cannot rename " + tmp);
  // The rename is durable once the directory is.
  const int dfd = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

Status FileSink::export_now() {
  auto cursor = ledger_.cursor(kCursorName);
  if (!cursor) return cursor.status();
  std::int64_t at = *cursor;
  while (at < ledger_.durable_id()) {
    std::vector<StoredRecord> batch;
    SCHED_RETURN_IF_ERROR(ledger_.read_after(at, options_.max_records_per_file, batch));
    if (batch.empty()) break;
    const std::string range = padded(batch.front().id) + "-" + padded(batch.back().id);
    if (options_.format == "csv") {
      std::string usage = csv_header(RecordKind::kUsage) + "\n";
      std::string sessions = csv_header(RecordKind::kSession) + "\n";
      bool any_usage = false, any_sessions = false;
      for (const auto& r : batch) {
        auto row = csv_row_from_json(r.json);
        if (!row) return Status::internal("ledger record " + std::to_string(r.id) + ": " + row.status().message());
        const bool is_usage = row->first == RecordKind::kUsage;
        (is_usage ? usage : sessions) += row->second + "\n";
        (is_usage ? any_usage : any_sessions) = true;
      }
      if (any_usage) SCHED_RETURN_IF_ERROR(write_file("usage-" + range + ".csv", usage));
      if (any_sessions) SCHED_RETURN_IF_ERROR(write_file("sessions-" + range + ".csv", sessions));
    } else {
      std::string body;
      for (const auto& r : batch) body += r.json + "\n";
      SCHED_RETURN_IF_ERROR(write_file("usage-" + range + ".jsonl", body));
    }
    at = batch.back().id;
    store::WriteSet ws;
    Ledger::put_cursor(ws, kCursorName, at);
    SCHED_RETURN_IF_ERROR(store_.write_now(ws));
    stats_.cursor = at;
    stats_.sent += static_cast<std::int64_t>(batch.size());
    log_event(LogLevel::kInfo, "billing_file_written",
              {{"range", range}, {"records", std::to_string(batch.size())}, {"dir", options_.dir}});
  }
  return Status::ok();
}

}  // namespace sched::billing
