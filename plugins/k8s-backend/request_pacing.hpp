// How fast and how often the Kubernetes backend may call the API server: a
// token bucket bounds the request rate, and a jittered exponential backoff
// spaces out retries after 429s, 5xx answers and broken connections. Pure
// arithmetic on times passed in, so both are tested without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

namespace sched::backend::k8s {

using Clock = std::chrono::steady_clock;

// `qps` requests per second on average, bursts of up to `burst`. Thread-safe.
class TokenBucket {
 public:
  TokenBucket(double qps, double burst);
  // Takes one token and returns how long the caller must wait before it may
  // send (zero when a token was there). Reservations queue: ten callers at
  // an empty bucket get waits of 1/qps, 2/qps, ... so the rate holds.
  Clock::duration reserve(Clock::time_point now);
  double qps() const { return qps_; }

 private:
  std::mutex mu_;
  double qps_;
  double burst_;
  double tokens_;  // may go negative: reservations not yet covered
  Clock::time_point last_;
  bool started_ = false;
};

// Full-jitter exponential backoff: the n-th retry waits a uniformly random
// time in [base*2^n / 2, base*2^n], capped at `cap`; a server's Retry-After
// is honoured when it is longer.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, std::uint64_t seed = std::random_device{}());
  std::chrono::milliseconds next(std::chrono::milliseconds retry_after = std::chrono::milliseconds{0});
  void reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace sched::backend::k8s
