// Names and the log form of decisions.
#include "core/decision.hpp"

#include "core/quantity.hpp"

namespace sched::core {

std::string_view reason_name(Reason r) {
  switch (r) {
    case Reason::kNone:
      return "none";
    case Reason::kOwnership:
      return "ownership";
    case Reason::kRebalance:
      return "rebalance";
    case Reason::kLimit:
      return "limit";
    case Reason::kSlaPriority:
      return "sla";
    case Reason::kDrain:
      return "drain";
    case Reason::kCapacity:
      return "capacity";
    case Reason::kDemand:
      return "demand";
    case Reason::kIdle:
      return "idle";
    case Reason::kHostLost:
      return "host-lost";
    case Reason::kUnregistered:
      return "unregistered";
  }
  return "none";
}

std::string_view decision_kind_name(DecisionKind k) {
  switch (k) {
    case DecisionKind::kGrant:
      return "grant";
    case DecisionKind::kRevoke:
      return "revoke";
    case DecisionKind::kRevokeCancel:
      return "revoke-cancel";
    case DecisionKind::kReclaim:
      return "reclaim";
    case DecisionKind::kRelease:
      return "release";
    case DecisionKind::kLost:
      return "lost";
  }
  return "grant";
}

std::string Decision::to_string() const {
  std::string s = std::string(decision_kind_name(kind)) + " session=" + session + " consumer=" + consumer +
                  " host=" + host + " slots=" + std::to_string(slots);
  if (reason != Reason::kNone) s += " reason=" + std::string(reason_name(reason));
  if (!beneficiary.empty()) s += " for=" + beneficiary;
  if (kind == DecisionKind::kRevoke) s += " deadline_ms=" + std::to_string(deadline);
  return s;
}

}  // namespace sched::core
