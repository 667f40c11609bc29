// Random-read parts: a random reader's reads of a block fetch only their pages, until the block
// has been read often enough that loading it whole is cheaper.
//
// When the planner says a file is read at random (prefetch_planner::random()), a read of a block
// that is not loaded gets a part slot: the 4 KiB pages it asks for, fetched with one ranged GET
// (If-Match) into memory private to that read. A part is never mapped in the slot map and never
// offered to the tiers, so it cannot be served as a whole block. Each block remembers what its
// parts cost (bytes plus DATAPORT_MOUNT_RANDOM_READ_REQUEST_COST per request); the read whose
// part would take that past the block's own cost loads the block whole, and it is cached like
// any other (plan() in readable_file.cpp). The RAM and disk tiers are still asked first.
#include "io/detail/readable_file_core.hpp"

#include <algorithm>

#include "dataport/metrics.hpp"

namespace dataport {

namespace asio = boost::asio;

bool readable_file::core::plan_part(std::uint64_t index, std::uint64_t offset, std::size_t total,
                                    start_list& to_start,
                                    std::vector<std::shared_ptr<slot>>& needed) {
  constexpr std::uint64_t page = 4096;
  constexpr std::size_t remembered = 1 << 16;  // blocks; then forget them all and start over
  const std::uint64_t block_start = index * block_size;
  const std::uint64_t length = block_length(index);
  const std::uint64_t from = (std::max(offset, block_start) - block_start) / page * page;
  const std::uint64_t until = std::min(
      length,
      (std::min<std::uint64_t>(offset + total, block_start + length) - block_start + page - 1) /
          page * page);
  if (until - from >= length) return false;  // the read wants the whole block anyway
  if (parted.size() >= remembered) parted.clear();
  // Rent parts until they would cost more than buying the block (ski rental: at most twice the
  // cheaper choice in hindsight). Loading a block whole at its second read, the rule before,
  // fetched 7.7 bytes per byte read for 2000 random 64 KiB reads of 1 GiB (~4 reads per 2 MiB
  // block) and ran at a third to a half of the speed of parts.
  const std::uint64_t cost = svc.options.part_request_cost;
  auto& paid = parted[index];
  if (paid + (until - from) + cost > length + cost) return false;  // load it whole and cache it
  paid += (until - from) + cost;
  auto s = make_slot(false);
  s->base = from;
  s->part = until - from;
  to_start.emplace_back(s, index);
  needed.push_back(std::move(s));
  return true;
}

asio::awaitable<block_data> readable_file::core::load_part(std::shared_ptr<slot> s,
                                                           std::uint64_t index) {
  if (auto hit = co_await cached_block(index, admission::reused)) {
    s->base = 0;  // read by views() only after finish() has published the slot
    co_return hit;
  }
  auto buffer = svc.make_block(static_cast<std::size_t>(s->part));
  co_await fetch_into(index * block_size + s->base, *buffer);
  svc.counters->add(counter::random_part_fetches);
  co_return block_data(std::move(buffer));
}

}  // namespace dataport
