// Resource vectors: the amounts of cpu, memory, gpu and named extras in which
// capacity, plans, executor shapes and allocations are written.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace sched::core {

// Eight kinds keep a vector in one cache line and the arithmetic branch-free;
// three are fixed, five are free for named extras (fpga, licences, ...).
inline constexpr std::size_t kMaxResourceKinds = 8;
using ResourceKind = std::size_t;
inline constexpr ResourceKind kCpu = 0;     // millicores
inline constexpr ResourceKind kMemory = 1;  // MiB
inline constexpr ResourceKind kGpu = 2;     // milli-units (Spark asks fractions)

// The names of resource kinds. The three fixed kinds always exist; an extra
// kind is added the first time a configuration names it. Process-wide because
// a kind means the same thing everywhere; guarded because the daemon's
// config loader and the core may run on different threads.
class ResourceKinds {
 public:
  // Returns the kind for `name`, adding it if there is room.
  static Result<ResourceKind> find_or_add(std::string_view name);
  static std::optional<ResourceKind> find(std::string_view name);
  static std::string name(ResourceKind kind);
  // Number of kinds in use (fixed kinds included).
  static std::size_t count();
};

// An exact amount of every kind, in base units (millicores, MiB, milli-units).
class Resources {
 public:
  constexpr Resources() = default;
  static Resources of(ResourceKind kind, std::int64_t amount) {
    Resources r;
    r.v_[kind] = amount;
    return r;
  }
  static Resources cpu_mem(std::int64_t millicores, std::int64_t mib) {
    Resources r;
    r.v_[kCpu] = millicores;
    r.v_[kMemory] = mib;
    return r;
  }

  std::int64_t operator[](ResourceKind k) const { return v_[k]; }
  std::int64_t& operator[](ResourceKind k) { return v_[k]; }

  Resources& operator+=(const Resources& o) {
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) v_[k] += o.v_[k];
    return *this;
  }
  Resources& operator-=(const Resources& o) {
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) v_[k] -= o.v_[k];
    return *this;
  }
  friend Resources operator+(Resources a, const Resources& b) { return a += b; }
  friend Resources operator-(Resources a, const Resources& b) { return a -= b; }
  friend Resources operator*(Resources a, std::int64_t n) {
    for (auto& x : a.v_) x *= n;
    return a;
  }
  friend bool operator==(const Resources&, const Resources&) = default;

  // True when every kind is at most the other's.
  bool fits_in(const Resources& o) const {
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k)
      if (v_[k] > o.v_[k]) return false;
    return true;
  }
  bool is_zero() const {
    for (auto x : v_)
      if (x != 0) return false;
    return true;
  }
  bool any_negative() const {
    for (auto x : v_)
      if (x < 0) return true;
    return false;
  }
  // How many whole `shape`s fit in this amount; the shape must be non-zero.
  std::int64_t count_of(const Resources& shape) const;

  static Resources min(const Resources& a, const Resources& b);
  static Resources max(const Resources& a, const Resources& b);

  // "cpu=2, memory=8Gi" (zero kinds left out; "none" when all are zero).
  std::string to_string() const;

 private:
  std::array<std::int64_t, kMaxResourceKinds> v_{};
};

// A fractional amount for the share arithmetic (water-filling splits pools
// into fractions; allocations are rounded to whole slots only at the end).
class FracResources {
 public:
  constexpr FracResources() = default;
  explicit FracResources(const Resources& r) {
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) v_[k] = static_cast<double>(r[k]);
  }
  double operator[](ResourceKind k) const { return v_[k]; }
  double& operator[](ResourceKind k) { return v_[k]; }

  FracResources& operator+=(const FracResources& o) {
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) v_[k] += o.v_[k];
    return *this;
  }
  FracResources& operator-=(const FracResources& o) {
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) v_[k] -= o.v_[k];
    return *this;
  }
  friend FracResources operator+(FracResources a, const FracResources& b) { return a += b; }
  friend FracResources operator-(FracResources a, const FracResources& b) { return a -= b; }
  friend FracResources operator*(FracResources a, double f) {
    for (auto& x : a.v_) x *= f;
    return a;
  }
  friend bool operator==(const FracResources&, const FracResources&) = default;

  static FracResources min(const FracResources& a, const FracResources& b);
  static FracResources max(const FracResources& a, const FracResources& b);
  // Each kind clamped to [0, inf).
  FracResources clamped() const;
  // True when no kind exceeds the other's by more than `eps` base units.
  bool fits_in(const FracResources& o, double eps = 1e-6) const;
  bool is_zero(double eps = 1e-9) const;
  // How many whole `shape`s fit, tolerating float noise; shape non-zero.
  std::int64_t count_of(const Resources& shape) const;

 private:
  std::array<double, kMaxResourceKinds> v_{};
};

// Hot in every pass: defined here so they inline.
inline std::int64_t Resources::count_of(const Resources& shape) const {
  std::int64_t n = std::numeric_limits<std::int64_t>::max();
  bool any = false;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    if (shape.v_[k] <= 0) continue;
    any = true;
    n = std::min(n, v_[k] <= 0 ? 0 : v_[k] / shape.v_[k]);
  }
  return any ? n : 0;
}

inline Resources Resources::min(const Resources& a, const Resources& b) {
  Resources r;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) r.v_[k] = std::min(a.v_[k], b.v_[k]);
  return r;
}

inline Resources Resources::max(const Resources& a, const Resources& b) {
  Resources r;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) r.v_[k] = std::max(a.v_[k], b.v_[k]);
  return r;
}

inline FracResources FracResources::min(const FracResources& a, const FracResources& b) {
  FracResources r;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) r.v_[k] = std::min(a.v_[k], b.v_[k]);
  return r;
}

inline FracResources FracResources::max(const FracResources& a, const FracResources& b) {
  FracResources r;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) r.v_[k] = std::max(a.v_[k], b.v_[k]);
  return r;
}

inline FracResources FracResources::clamped() const {
  FracResources r = *this;
  for (auto& x : r.v_) x = std::max(0.0, x);
  return r;
}

inline bool FracResources::fits_in(const FracResources& o, double eps) const {
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k)
    if (v_[k] > o.v_[k] + eps) return false;
  return true;
}

inline bool FracResources::is_zero(double eps) const {
  for (auto x : v_)
    if (std::abs(x) > eps) return false;
  return true;
}

inline std::int64_t FracResources::count_of(const Resources& shape) const {
  double n = std::numeric_limits<double>::infinity();
  bool any = false;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    if (shape[k] <= 0) continue;
    any = true;
    n = std::min(n, v_[k] / static_cast<double>(shape[k]));
  }
  if (!any || n <= 0) return 0;
  // 1e-6 of a shape absorbs the rounding of the fractional share arithmetic.
  return static_cast<std::int64_t>(std::floor(n + 1e-6));
}

// Dominant share relative to a fixed total: max over kinds of amount/total.
// Precomputes reciprocals so the hot loops multiply instead of divide.
class DominantShare {
 public:
  DominantShare() = default;
  explicit DominantShare(const Resources& total);
  double of(const FracResources& r) const {
    double d = 0;
    for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
      const double s = r[k] * inv_[k];
      if (s > d) d = s;
    }
    return d;
  }
  double of(const Resources& r) const { return of(FracResources(r)); }

 private:
  std::array<double, kMaxResourceKinds> inv_{};
};

// Whole `shape`s needed to cover `need` (kinds the shape lacks cannot help):
// how many executors a cut of `need` takes from one session.
inline std::int64_t shapes_to_cover(const FracResources& need, const Resources& shape) {
  std::int64_t n = 0;
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    const auto kind = static_cast<ResourceKind>(k);
    if (need[kind] <= 1e-6 || shape[kind] <= 0) continue;
    n = std::max<std::int64_t>(
        n, static_cast<std::int64_t>(std::ceil(need[kind] / static_cast<double>(shape[kind]) - 1e-9)));
  }
  return n;
}

// Whether taking executors of `shape` reduces `need` at all.
inline bool helps(const FracResources& need, const Resources& shape) {
  for (std::size_t k = 0; k < kMaxResourceKinds; ++k) {
    const auto kind = static_cast<ResourceKind>(k);
    if (need[kind] > 1e-6 && shape[kind] > 0) return true;
  }
  return false;
}

// Gpus or a named extra: kinds only some executors use.
inline bool uses_special_kind(const Resources& shape) {
  for (ResourceKind k = kGpu; k < kMaxResourceKinds; ++k)
    if (shape[k] > 0) return true;
  return false;
}

}  // namespace sched::core
