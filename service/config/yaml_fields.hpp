// Reading YAML configuration with precise errors: every message names the
// file, the line and the field path ("consumers[1].owned: ..."). Shared by
// session-sim's scenarios and sessiond's configuration.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "core/clock.hpp"
#include "core/consumer_tree.hpp"
#include "core/resources.hpp"

namespace sched::config {

// The field being read, for messages: "steps[2].sessions[0].demand".
struct FieldPath {
  const std::string* source;
  std::string field;

  FieldPath operator/(const std::string& key) const {
    return FieldPath{source, field.empty() ? key : field + "." + key};
  }
  FieldPath operator[](std::size_t i) const { return FieldPath{source, field + "[" + std::to_string(i) + "]"}; }

  Status error(const YAML::Node& at, const std::string& what) const {
    std::string where = *source;
    if (at.IsDefined() && at.Mark().line >= 0) where += ":" + std::to_string(at.Mark().line + 1);
    return Status::invalid_argument(where + ": " + (field.empty() ? "" : field + ": ") + what);
  }
};

int line_of(const YAML::Node& n);
// How a node reads in a message: 'text', a map, a list, nothing.
std::string scalar_text(const YAML::Node& n);
// A map key as text. YAML allows maps, lists and null as keys; converting
// those throws, so every reader of keys goes through here.
Result<std::string> read_key(const FieldPath& ctx, const YAML::Node& key);
// Fails on any key of `map` not in `allowed`, listing the allowed ones.
Status check_keys(const FieldPath& ctx, const YAML::Node& map, std::initializer_list<const char*> allowed);
Result<double> read_number(const FieldPath& ctx, const YAML::Node& n);
// A whole, non-negative number.
Result<std::int64_t> read_count(const FieldPath& ctx, const YAML::Node& n);
Result<int> read_int(const FieldPath& ctx, const YAML::Node& n);
Result<bool> read_bool(const FieldPath& ctx, const YAML::Node& n);
Result<std::string> read_string(const FieldPath& ctx, const YAML::Node& n);
// "30s", "2m", "500ms".
Result<core::TimeMs> read_duration(const FieldPath& ctx, const YAML::Node& n);
// {cpu: 2, memory: 8Gi, gpu: 1, fpga: 1}: every key is a resource kind.
// `named` (optional) gets a bit per kind written.
Result<core::Resources> read_vector(const FieldPath& ctx, const YAML::Node& n, std::uint32_t* named = nullptr);
// A plan amount: a number of slots or a resource map.
Result<core::AmountSpec> read_amount(const FieldPath& ctx, const YAML::Node& n);

// Parses YAML text, turning yaml-cpp's exceptions into a Status naming
// `source` and the line.
Result<YAML::Node> load_yaml(const std::string& text, const std::string& source);
// Reads a whole file; kNotFound names it when it cannot be read.
Result<std::string> read_text_file(const std::string& path, const std::string& what);

}  // namespace sched::config
