// FNV-1a over bytes: a hash that is the same across runs, builds and
// machines (std::hash is not promised to be), for names that must stay put:
// Kubernetes labels, cache files shared by daemons.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace sched {

inline constexpr std::uint64_t kFnv1aOffset = 1469598103934665603ULL;

// Continues the hash `h` over `bytes` (start with kFnv1aOffset).
inline std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = kFnv1aOffset) {
  for (const unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// A hash as 16 lower-case hex digits, for names made of it.
inline std::string hex16(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace sched
