// SLA classes: what each class is promised, who may preempt whom, and the
// order in which victims are chosen.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "core/clock.hpp"

namespace sched::core {

enum class SlaClass : std::uint8_t { kInteractive = 0, kStreaming = 1, kBatch = 2 };
inline constexpr std::size_t kSlaClassCount = 3;

std::string_view sla_name(SlaClass c);
Result<SlaClass> parse_sla(std::string_view name);

// Grant order: interactive sessions are served first, batch last.
inline int grant_rank(SlaClass c) {
  return static_cast<int>(c);
}
// Victim order: batch is preempted first, interactive last.
inline int victim_rank(SlaClass c) {
  return 2 - static_cast<int>(c);
}

// Inside one consumer, a session of class `claimant` may take slots from a
// session of class `victim` once the grace period runs out: interactive from
// batch and streaming (above its minimum), streaming from batch.
inline bool preempts_within_consumer(SlaClass claimant, SlaClass victim) {
  return victim_rank(victim) < victim_rank(claimant);
}

// A grace period per SLA class, or unset for classes that fall back.
struct GraceByClass {
  std::optional<TimeMs> any;  // applies to every class not named below
  std::array<std::optional<TimeMs>, kSlaClassCount> per_class{};

  bool empty() const {
    if (any) return false;
    for (const auto& g : per_class)
      if (g) return false;
    return true;
  }
  std::optional<TimeMs> for_class(SlaClass c) const {
    const auto& g = per_class[static_cast<std::size_t>(c)];
    return g ? g : any;
  }
};

// Per-class behaviour configured for the whole scheduler.
struct SlaPolicy {
  // Grace before a revocation's slots are taken, by victim class.
  std::array<TimeMs, kSlaClassCount> grace_ms{30'000, 30'000, 30'000};
  // An interactive session keeps what it holds this long after its demand
  // drops (a notebook between cells), then shrinks to its floor.
  TimeMs interactive_idle_timeout_ms = 60'000;
};

}  // namespace sched::core
