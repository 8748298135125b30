// FNV-1a over bytes: a hash that is the same across runs, builds and
// machines (std::hash is not promised to be), for names that must stay put:
// Kubernetes labels, cache files shared by daemons.
#pragma once

#include <cstdint>
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

}  // namespace sched
