// Victim order and where revocations help.
#include "core/preemption_planner.hpp"

#include <algorithm>

namespace sched::core {

VictimKey victim_key(SlaClass sla, int priority, TimeMs start, std::uint64_t seq) {
  return VictimKey{victim_rank(sla), priority, -start, -static_cast<std::int64_t>(seq)};
}

std::vector<std::size_t> revocation_order(std::span<const Placement> placements,
                                          const std::vector<std::uint8_t>* prefer) {
  std::vector<std::size_t> order(placements.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Placement& x = placements[a];
    const Placement& y = placements[b];
    if (prefer != nullptr) {
      const bool px = (*prefer)[static_cast<std::size_t>(x.host)] != 0;
      const bool py = (*prefer)[static_cast<std::size_t>(y.host)] != 0;
      if (px != py) return px;
    }
    if (x.since != y.since) return x.since > y.since;
    if (x.slots != y.slots) return x.slots < y.slots;
    return x.host < y.host;
  });
  return order;
}

std::int64_t slots_that_make_room(const Resources& free, const Resources& victim_shape, std::int64_t available,
                                  std::span<const Resources> claimant_shapes) {
  std::int64_t need = -1;
  for (const Resources& shape : claimant_shapes) {
    for (std::int64_t k = 1; k <= available; ++k) {
      if (shape.fits_in(free + victim_shape * k)) {
        if (need < 0 || k < need) need = k;
        break;
      }
    }
  }
  return need;
}

std::optional<std::vector<std::int64_t>> take_for_room(const Resources& free, const Resources& shape,
                                                       std::span<const TakeableSlots> candidates) {
  std::vector<std::int64_t> take(candidates.size(), 0);
  Resources room = free;
  for (std::size_t i = 0; i < candidates.size() && !shape.fits_in(room); ++i) {
    while (take[i] < candidates[i].available && !shape.fits_in(room)) {
      room += candidates[i].shape;
      ++take[i];
    }
  }
  if (!shape.fits_in(room)) return std::nullopt;
  return take;
}

}  // namespace sched::core
