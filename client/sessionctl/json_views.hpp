// The JSON form of every sessionctl reply: the API's structs with their IDL
// field names, enums in lower case, resources in base units.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "idl/session_scheduler_types.h"

namespace sched::sessionctl {

nlohmann::json json_of(const api::ResourceVector& v);
nlohmann::json json_of(const api::Host& h);
nlohmann::json json_of(const api::ClusterStatus& s);
nlohmann::json json_of(const api::ConsumerInfo& c);
nlohmann::json json_of(const api::ConsumerTree& t);
nlohmann::json json_of(const api::Executor& e);
nlohmann::json json_of(const api::SessionInfo& s);
nlohmann::json json_of(const api::ConsumerUsage& u);

template <typename T>
nlohmann::json json_of(const std::vector<T>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) out.push_back(json_of(item));
  return out;
}

// Two-space indent and a final newline, so the output pipes into jq and
// reads in a terminal.
std::string json_text(const nlohmann::json& j);

}  // namespace sched::sessionctl
