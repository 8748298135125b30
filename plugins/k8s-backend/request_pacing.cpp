// Token bucket and jittered backoff for the Kubernetes API client.
#include "request_pacing.hpp"

#include <algorithm>
#include <cmath>

namespace sched::backend::k8s {

TokenBucket::TokenBucket(double qps, double burst)
    : qps_(std::max(qps, 0.001)), burst_(std::max(burst, 1.0)), tokens_(std::max(burst, 1.0)) {}

Clock::duration TokenBucket::reserve(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!started_) {
    last_ = now;
    started_ = true;
  }
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * qps_);
    last_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / qps_));
}

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, std::uint64_t seed)
    : base_(base), cap_(cap), rng_(seed) {}

std::chrono::milliseconds Backoff::next(std::chrono::milliseconds retry_after) {
  const double grown = static_cast<double>(base_.count()) * std::ldexp(1.0, std::min(attempt_, 30));
  const double top = std::min(grown, static_cast<double>(cap_.count()));
  ++attempt_;
  std::uniform_real_distribution<double> half(top / 2, top);
  const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(half(rng_)));
  return std::max(wait, retry_after);
}

}  // namespace sched::backend::k8s
