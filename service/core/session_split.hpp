// Inside one leaf consumer: how its allocation is split among its sessions.
// Streaming minimums come first and are never preempted; sessions keep what
// they hold; free gpus (and extras) go to the sessions that use them; other
// free slots go to interactive, then streaming, then batch, higher priority
// first, equal sessions alike; and a higher SLA class takes slots from a
// lower one once the grace period runs out (not those that run gpus).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/clock.hpp"
#include "core/decision.hpp"
#include "core/resources.hpp"
#include "core/sla.hpp"
#include "core/water_fill.hpp"

namespace sched::core {

struct SessionClaim {
  // Inputs (counts in slots of the session's own shape).
  SlaClass sla = SlaClass::kBatch;
  int priority = 0;
  TimeMs start = 0;
  int order = 0;  // a stable tie-break (registration order)
  Resources shape;
  std::int64_t want = 0;    // what it asks for now, within its min and max
  std::int64_t pinned = 0;  // the never-preempted part (streaming minimum)
  std::int64_t hold = 0;    // what it holds, revocations in flight excluded
  // Outputs.
  std::int64_t target = 0;
  Reason reason = Reason::kNone;  // set when target < hold
  int beneficiary = -1;           // the claim it loses slots to, for kSlaPriority
};

class SessionSplitter {
 public:
  // Splits `allocatable` among `claims`. `inherited` is why the leaf itself
  // lost capacity (ownership, limit, ...), used for the sessions that give
  // it up. The result never exceeds `allocatable`, nor any claim's want.
  void split(const FracResources& allocatable, const DominantShare& norm, Reason inherited,
             std::span<SessionClaim> claims);

 private:
  std::vector<std::size_t> order_;
  std::vector<std::int64_t> kept_;
  std::vector<FillClaim> fill_claims_;
  std::vector<FracResources> fill_out_;
  std::vector<std::size_t> group_;
  struct Taken {  // a take of step 3, to undo when it helps nobody
    std::size_t index;
    std::int64_t slots;
    Reason reason;
    int beneficiary;
  };
  std::vector<Taken> taken_;
  WaterFill fill_;
};

}  // namespace sched::core
