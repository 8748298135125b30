// SLA class names.
#include "core/sla.hpp"

namespace sched::core {

std::string_view sla_name(SlaClass c) {
  switch (c) {
    case SlaClass::kInteractive:
      return "interactive";
    case SlaClass::kStreaming:
      return "streaming";
    case SlaClass::kBatch:
      return "batch";
  }
  return "batch";
}

Result<SlaClass> parse_sla(std::string_view name) {
  if (name == "interactive") return SlaClass::kInteractive;
  if (name == "streaming") return SlaClass::kStreaming;
  if (name == "batch") return SlaClass::kBatch;
  return Status::invalid_argument("unknown SLA class '" + std::string(name) +
                                  "' (expected interactive, streaming or batch)");
}

}  // namespace sched::core
