// The JSON form of every sessionctl reply: the API's structs with their IDL
// field names in IDL order, enums in lower case, resources in base units.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "idl/session_scheduler_types.h"

namespace sched::sessionctl {

nlohmann::ordered_json json_of(const api::ResourceVector& v);
nlohmann::ordered_json json_of(const api::Host& h);
nlohmann::ordered_json json_of(const api::ClusterStatus& s);
nlohmann::ordered_json json_of(const api::ConsumerInfo& c);
nlohmann::ordered_json json_of(const api::ConsumerTree& t);
nlohmann::ordered_json json_of(const api::Executor& e);
nlohmann::ordered_json json_of(const api::SessionInfo& s);
nlohmann::ordered_json json_of(const api::ConsumerUsage& u);

template <typename T>
nlohmann::ordered_json json_of(const std::vector<T>& items) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& item : items) out.push_back(json_of(item));
  return out;
}

// Two-space indent and a final newline, so the output pipes into jq and
// reads in a terminal.
std::string json_text(const nlohmann::ordered_json& j);

}  // namespace sched::sessionctl
