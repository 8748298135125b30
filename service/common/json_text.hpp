// JSON text written by hand, for records written often enough that building
// a JSON tree first shows in the profile (ledger records, session records).
#pragma once

#include <fmt/format.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sched {

// Whether `text` is UTF-8 as RFC 3629 has it: no overlong forms, no
// surrogates, nothing past U+10FFFF, nothing cut short.
bool valid_utf8(std::string_view text);

// A JSON string: quotes, backslashes and control characters escaped, UTF-8
// passed through, and any byte that is not part of valid UTF-8 written as
// U+FFFD, so the text always parses again.
void append_json_string(fmt::memory_buffer& b, std::string_view v);

// One JSON object's members, commas included. Open a nested object by
// writing its key() and constructing another writer on the same buffer.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(fmt::memory_buffer& b) : b_(b) { b_.push_back('{'); }
  void key(std::string_view k);
  void str(std::string_view k, std::string_view v);
  void boolean(std::string_view k, bool v);
  void strings(std::string_view k, const std::vector<std::string>& v);
  void string_map(std::string_view k, const std::map<std::string, std::string>& m);
  template <typename Int>
  void num(std::string_view k, Int v) {
    key(k);
    fmt::format_to(std::back_inserter(b_), "{}", v);
  }
  void close() { b_.push_back('}'); }
  fmt::memory_buffer& buffer() { return b_; }

 private:
  fmt::memory_buffer& b_;
  bool first_ = true;
};

}  // namespace sched
