// Lower-case enum names from the generated value tables.
#include "client/sessionctl/enum_text.hpp"

#include <cctype>
#include <map>

namespace sched::sessionctl {

namespace {

// A newer server may send a value this build does not know: print its number.
std::string lower_name(const std::map<int, const char*>& names, int value) {
  const auto it = names.find(value);
  if (it == names.end()) return std::to_string(value);
  std::string out = it->second;
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

}  // namespace

std::string sla_name(api::SlaClass::type sla) {
  return lower_name(api::_SlaClass_VALUES_TO_NAMES, sla);
}

std::string executor_state_name(api::ExecutorState::type state) {
  return lower_name(api::_ExecutorState_VALUES_TO_NAMES, state);
}

}  // namespace sched::sessionctl
