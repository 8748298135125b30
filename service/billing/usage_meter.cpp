// Metering allocation intervals into hour-cut, whole-second usage records.
#include "billing/usage_meter.hpp"

#include <algorithm>

namespace sched::billing {

bool UsageMeter::hold(const SessionAttrs& who, std::int64_t slots, const core::Resources& held, core::TimeMs t) {
  return hold(who.session, slots, held, t, [&who] { return who; });
}

bool UsageMeter::hold(const std::string& session, std::int64_t slots, const core::Resources& held, core::TimeMs t,
                      const std::function<SessionAttrs()>& who) {
  const std::int64_t s = metered_second(t);
  auto it = open_.find(session);
  if (it != open_.end()) {
    OpenInterval& iv = it->second;
    if (iv.slots == slots && iv.held == held) return false;
    // Same second: nothing to bill yet, the interval just changes shape.
    if (s > iv.start_s) close(iv, s, t);
    if (slots <= 0) {
      open_.erase(it);
      return true;
    }
    count_busy(iv, t);
    iv.slots = slots;
    iv.held = held;
    iv.busy_slots = std::min(iv.busy_slots, slots);
    if (iv.start_s != s) {
      iv.start_s = s;
      iv.busy_slot_ms = 0;
    }
    return true;
  }
  if (slots <= 0) return false;
  OpenInterval iv;
  iv.who = who();
  iv.slots = slots;
  iv.held = held;
  iv.start_s = s;
  iv.busy_since_ms = t;
  open_.emplace(session, std::move(iv));
  return true;
}

void UsageMeter::count_busy(OpenInterval& iv, core::TimeMs t) {
  if (t > iv.busy_since_ms) iv.busy_slot_ms += iv.busy_slots * (t - iv.busy_since_ms);
  iv.busy_since_ms = std::max(iv.busy_since_ms, t);
}

bool UsageMeter::running(const std::string& session, std::int64_t tasks, core::TimeMs t) {
  auto it = open_.find(session);
  if (it == open_.end()) return false;
  const std::int64_t busy = std::clamp<std::int64_t>(tasks, 0, it->second.slots);
  if (busy == it->second.busy_slots) return false;
  count_busy(it->second, t);
  it->second.busy_slots = busy;
  return true;
}

void UsageMeter::end(const std::string& session, core::TimeMs t) {
  auto it = open_.find(session);
  if (it == open_.end()) return;
  const std::int64_t s = metered_second(t);
  if (s > it->second.start_s) close(it->second, s, t);
  open_.erase(it);
}

bool UsageMeter::roll(core::TimeMs t) {
  const std::int64_t s = metered_second(t);
  // Cut in session order: the records' ids do not depend on the hash map's.
  std::vector<OpenInterval*> due;
  for (auto& [id, iv] : open_) {
    if ((iv.start_s / kHour + 1) * kHour <= s) due.push_back(&iv);
  }
  std::sort(due.begin(), due.end(),
            [](const OpenInterval* a, const OpenInterval* b) { return a->who.session < b->who.session; });
  for (OpenInterval* iv : due) {
    // Busy time is counted to now, so the cut carries all of it; the
    // next interval starts fresh at the last full hour.
    const std::int64_t last_hour = s / kHour * kHour;
    close(*iv, last_hour, t);
    iv->start_s = last_hour;
    iv->busy_slot_ms = 0;
  }
  return !due.empty();
}

core::TimeMs UsageMeter::next_roll_ms() const {
  core::TimeMs next = core::kNever;
  for (const auto& [id, iv] : open_) {
    // The cut at hour H is due once H is the metered second, i.e. at H - 0.5 s.
    next = std::min(next, (iv.start_s / kHour + 1) * kHour * 1000 - 500);
  }
  return next;
}

void UsageMeter::close(OpenInterval& iv, std::int64_t end_s, core::TimeMs t) {
  count_busy(iv, t);
  const std::int64_t total_s = end_s - iv.start_s;
  if (total_s <= 0) return;
  const std::int64_t busy_total = std::min(iv.busy_slot_ms, iv.slots * total_s * 1000);
  std::int64_t busy_left = busy_total;
  for (std::int64_t from = iv.start_s; from < end_s;) {
    const std::int64_t to = std::min(end_s, (from / kHour + 1) * kHour);
    UsageRecord r;
    r.who = iv.who;
    r.slots = iv.slots;
    r.cpu_millis = iv.held[core::kCpu];
    r.memory_mib = iv.held[core::kMemory];
    r.gpu_millis = iv.held[core::kGpu];
    r.start_s = from;
    r.end_s = to;
    // Busy time is spread over the hours by length; the last piece takes
    // the rounding so the pieces add up to the whole.
    r.busy_slot_millis = to == end_s ? busy_left : busy_total * (to - from) / total_s;
    busy_left -= r.busy_slot_millis;
    closed_.push_back(std::move(r));
    from = to;
  }
  iv.busy_slot_ms = 0;
}

std::vector<UsageRecord> UsageMeter::take() {
  std::vector<UsageRecord> out;
  out.swap(closed_);
  return out;
}

const OpenInterval* UsageMeter::open_interval(const std::string& session) const {
  auto it = open_.find(session);
  return it == open_.end() ? nullptr : &it->second;
}

void UsageMeter::restore(OpenInterval interval) {
  if (interval.slots <= 0) return;
  std::string id = interval.who.session;
  open_[id] = std::move(interval);
}

}  // namespace sched::billing
