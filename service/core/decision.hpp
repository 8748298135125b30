// Decisions: what the scheduling core tells the mechanism to do, and why.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/resources.hpp"

namespace sched::core {

// Why slots move. Every revocation carries one, so operators can tell a
// reclaim for an owner from a drain or a limit change.
enum class Reason : std::uint8_t {
  kNone = 0,
  kOwnership,     // an owner wants its owned amount back from a borrower
  kRebalance,     // rebalance mode: back toward the share ratio
  kLimit,         // the consumer holds more than its (lowered) limit
  kSlaPriority,   // inside one consumer: a higher SLA class needs the slots
  kDrain,         // the host is being drained
  kCapacity,      // capacity shrank below what owners are guaranteed
  kDemand,        // the session needs fewer slots (a release, not a preemption)
  kIdle,          // an interactive session idled past its timeout
  kHostLost,      // the host went away
  kUnregistered,  // the session ended
};
std::string_view reason_name(Reason r);

enum class DecisionKind : std::uint8_t {
  kGrant,         // slots granted to a session on a host
  kRevoke,        // slots the session must return by `deadline`
  kRevokeCancel,  // a pending revocation is withdrawn (the claimant left)
  kReclaim,       // the deadline passed: the slots are taken back
  kRelease,       // slots returned at once (demand fell, idle, session ended)
  kLost,          // slots vanished with their host
};
std::string_view decision_kind_name(DecisionKind k);

struct Decision {
  DecisionKind kind = DecisionKind::kGrant;
  std::string session;
  std::string consumer;  // the session's consumer path
  std::string host;
  std::int64_t slots = 0;
  Resources amount;  // slots x the session's shape
  TimeMs at = 0;
  TimeMs deadline = kNever;  // revocations only
  Reason reason = Reason::kNone;
  // Who the slots are taken for: a consumer path or a session id.
  std::string beneficiary;
  std::uint64_t revocation_id = 0;  // revocations, cancels and reclaims

  std::string to_string() const;
};

using Decisions = std::vector<Decision>;

}  // namespace sched::core
