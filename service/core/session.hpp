// A session (one Spark application) as the scheduling core tracks it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/decision.hpp"
#include "core/resources.hpp"
#include "core/sla.hpp"

namespace sched::core {

inline constexpr std::int64_t kUnlimitedSlots = std::int64_t{1} << 40;

// What a driver says about itself when it registers.
struct SessionSpec {
  std::string id;
  std::string consumer;  // a leaf path, "/bank/risk/alice"
  SlaClass sla = SlaClass::kBatch;
  int priority = 0;         // higher first, inside one consumer
  Resources shape;          // one slot; zero means the scheduler's slot
  std::int64_t demand = 0;  // slots it could use now (pending + running tasks)
  std::int64_t min = 0;     // floor it keeps; guaranteed for streaming
  std::int64_t max = kUnlimitedSlots;
  std::string user;
  std::string application;
};

// A later change; unset fields stay as they are.
struct SessionUpdate {
  std::optional<std::int64_t> demand;
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
  std::optional<int> priority;
  // Tasks running per host, as the driver counts them: replaces the last
  // count. Unknown hosts are ignored (the count may predate a release).
  std::optional<std::vector<std::pair<std::string, std::int64_t>>> busy;
};

// Slots of one session on one host.
struct Placement {
  int host = -1;
  std::int64_t slots = 0;     // held, revocations in flight included
  std::int64_t revoking = 0;  // of those, promised back
  TimeMs since = 0;           // when the session first got slots here
  std::int64_t busy = 0;      // running tasks the driver last reported here
};

struct Session {
  SessionSpec spec;
  int consumer = -1;      // leaf node index
  std::uint64_t seq = 0;  // registration order: a stable tie-break
  TimeMs start = 0;
  bool live = false;
  std::vector<Placement> placements;
  std::vector<std::uint64_t> revocations;
  std::int64_t held = 0;
  std::int64_t revoking = 0;
  // Computed each pass.
  std::int64_t want = 0;
  std::int64_t pinned = 0;
  std::int64_t target = 0;
  Reason reason = Reason::kNone;
  std::string beneficiary;
  std::optional<TimeMs> idle_since;  // interactive: when demand fell below holdings
  // Its executors fit on no host: it asks for no more than it holds until
  // room for its shape appears (the share math splits usable room only).
  bool blocked = false;

  std::int64_t effective() const { return held - revoking; }
};

}  // namespace sched::core
