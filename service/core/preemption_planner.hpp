// Who gives slots back, and where: the order victims are taken in, which of
// a victim's executors go first, and whether taking them helps anyone. Pure
// functions; the scheduler does the bookkeeping.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

#include "core/clock.hpp"
#include "core/resources.hpp"
#include "core/session.hpp"
#include "core/sla.hpp"

namespace sched::core {

// The order victims are chosen in; smaller is taken first: batch before
// streaming before interactive, lower priority first, youngest first (least
// work lost). The default (rank 3) means "nothing to take".
struct VictimKey {
  int rank = 3;
  int priority = 0;
  TimeMs minus_start = 0;
  std::int64_t minus_seq = 0;

  friend bool operator<(const VictimKey& a, const VictimKey& b) {
    return std::tie(a.rank, a.priority, a.minus_start, a.minus_seq) <
           std::tie(b.rank, b.priority, b.minus_start, b.minus_seq);
  }
  friend bool operator==(const VictimKey&, const VictimKey&) = default;
};

// `seq` is the registration order: among sessions started together the later
// one is the younger.
VictimKey victim_key(SlaClass sla, int priority, TimeMs start, std::uint64_t seq);

// The order in which to take a session's slots back: hosts marked in `prefer`
// first (a claimant already runs there, so slots move without a JVM
// starting), then the youngest executors (least work lost), then the smaller.
std::vector<std::size_t> revocation_order(std::span<const Placement> placements,
                                          const std::vector<std::uint8_t>* prefer);

// The fewest of `available` slots of `victim_shape` whose freeing, with the
// host's `free` room, lets an executor of one of `claimant_shapes` fit; -1 if
// no number would (a revocation there would help nobody).
std::int64_t slots_that_make_room(const Resources& free, const Resources& victim_shape, std::int64_t available,
                                  std::span<const Resources> claimant_shapes);

// Slots that could be taken on one host, in victim order.
struct TakeableSlots {
  Resources shape;
  std::int64_t available = 0;
};

// Room for one executor of `shape` on a host with `free` room: how many to
// take from each of `candidates` (in order, each whole executor at a time),
// or nullopt if even all of them would not do.
std::optional<std::vector<std::int64_t>> take_for_room(const Resources& free, const Resources& shape,
                                                       std::span<const TakeableSlots> candidates);

}  // namespace sched::core
