// Hand-written JSON text: UTF-8 checking and string escaping.
#include "common/json_text.hpp"

#include <iterator>

namespace sched {
namespace {

// Length of the valid UTF-8 sequence starting at t[i], or 0 if there is none.
std::size_t sequence_at(std::string_view t, std::size_t i) {
  const auto c = static_cast<unsigned char>(t[i]);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + n >= t.size()) return 0;  // cut short
  for (std::size_t k = 1; k <= n; ++k) {
    const auto d = static_cast<unsigned char>(t[i + k]);
    if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n + 1;
}

}  // namespace

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_at(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_json_string(fmt::memory_buffer& b, std::string_view v) {
  b.push_back('"');
  for (std::size_t i = 0; i < v.size();) {
    // Runs of plain ASCII go in at once: most of a command line is.
    std::size_t plain = i;
    while (plain < v.size()) {
      const auto p = static_cast<unsigned char>(v[plain]);
      if (p < 0x20 || p >= 0x80 || p == '"' || p == '\\') break;
      ++plain;
    }
    if (plain > i) {
      b.append(v.data() + i, v.data() + plain);
      i = plain;
      continue;
    }
    const char c = v[i];
    if (c == '"' || c == '\\') {
      b.push_back('\\');
      b.push_back(c);
      ++i;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      fmt::format_to(std::back_inserter(b), "\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
      ++i;
    } else if (const std::size_t n = sequence_at(v, i); n > 0) {
      b.append(v.data() + i, v.data() + i + n);
      i += n;
    } else {
      fmt::format_to(std::back_inserter(b), "\\ufffd");
      ++i;
    }
  }
  b.push_back('"');
}

void JsonObjectWriter::key(std::string_view k) {
  if (!first_) b_.push_back(',');
  first_ = false;
  append_json_string(b_, k);
  b_.push_back(':');
}

void JsonObjectWriter::str(std::string_view k, std::string_view v) {
  key(k);
  append_json_string(b_, v);
}

void JsonObjectWriter::boolean(std::string_view k, bool v) {
  key(k);
  fmt::format_to(std::back_inserter(b_), "{}", v ? "true" : "false");
}

void JsonObjectWriter::strings(std::string_view k, const std::vector<std::string>& v) {
  key(k);
  b_.push_back('[');
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) b_.push_back(',');
    append_json_string(b_, v[i]);
  }
  b_.push_back(']');
}

void JsonObjectWriter::string_map(std::string_view k, const std::map<std::string, std::string>& m) {
  key(k);
  JsonObjectWriter inner(b_);
  for (const auto& [mk, mv] : m) inner.str(mk, mv);
  inner.close();
}

}  // namespace sched
