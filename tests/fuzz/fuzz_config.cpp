// libFuzzer target: YAML text through sessiond's configuration loader and the
// consumer-tree reader (what `sessionctl tree set` and set_tree feed it).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/daemon_config.hpp"
#include "config/tree_yaml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = sched::config::parse_config_text(text, "fuzz.yaml");
  config.status().ignore_error();
  auto tree = sched::config::parse_tree_text(text, "fuzz.yaml");
  tree.status().ignore_error();
  return 0;
}
