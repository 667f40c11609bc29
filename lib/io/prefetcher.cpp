// The prefetcher (what the reader fetches before it is asked), after mountpoint-s3's prefetch.rs.
//
// Each open file tracks up to `max_streams` sequential streams: a read whose first block is near
// a stream's next expected block (from `seek_back_blocks` behind to `seek_forward_blocks` ahead)
// continues that stream; any other read starts a new stream, replacing the least recently used.
// Several streams per file let several threads read different parts of one file without
// resetting each other, and the tolerance absorbs the kernel's readahead reordering.
//
// A stream's window ramps up: no prefetch after a single read (a random reader pays only for the
// block it asked for), then 2, 4, 8 ... blocks up to DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT. The
// reader (readable_file.cpp) starts the wanted blocks with at most DATASET_MOUNT_READ_THREADS
// prefetch requests in flight per file and only while the shared prefetch memory budget has room;
// otherwise prefetch waits for a later read, it never grows past the budget. Blocks no stream
// wants any more (a seek elsewhere, a replaced stream) are dropped: in flight, their bytes are
// discarded on arrival; either way they count as prefetch_wasted_bytes. A stream not continued
// during the last 8 × (streams + 1) reads is abandoned, so a single reader that seeks away stops
// paying for its old window after some reads at the new position. A window never extends into
// the part of the file where another stream began (that part is read by the other stream).
#include "io/detail/prefetch_planner.hpp"

#include <algorithm>

namespace dataport::io_detail {

prefetch_planner::prefetch_planner(unsigned window_blocks, unsigned max_streams,
                                   unsigned seek_back_blocks, unsigned seek_forward_blocks,
                                   std::uint64_t block_count)
    : window_(window_blocks),
      max_streams_(std::max(1u, max_streams)),
      back_(seek_back_blocks),
      forward_(seek_forward_blocks ? seek_forward_blocks : std::max(1u, window_blocks / 4)),
      block_count_(block_count) {}

bool prefetch_planner::on_read(std::uint64_t first, std::uint64_t last) {
  ++tick_;
  // A stream nobody continued during the last 8 × (streams + 1) reads is abandoned (the reader
  // seeked away): dropping it lets its window be cancelled. (At 2 × (streams + 1), four threads
  // reading one file abandoned each other's streams whenever one waited for a fetch while the
  // others read cached blocks: the dropped windows cost more than the file's size in waste.)
  const std::uint64_t horizon = 8 * streams_.size() + 8;
  std::erase_if(streams_, [&](const stream& s) { return tick_ - s.tick > horizon; });
  for (auto& s : streams_) {
    const std::uint64_t low = s.next > back_ + 1 ? s.next - back_ - 1 : 0;
    if (first >= low && first <= s.next + forward_) {
      s.first = first;
      s.next = std::max(s.next, last + 1);
      ++s.run;
      s.tick = tick_;
      return true;
    }
  }
  stream fresh{first, last + 1, 1, tick_, first};
  if (streams_.size() < max_streams_) {
    streams_.push_back(fresh);
  } else {
    *std::min_element(streams_.begin(), streams_.end(),
                      [](const stream& a, const stream& b) { return a.tick < b.tick; }) = fresh;
  }
  return false;
}

unsigned prefetch_planner::window_of(const stream& s) const {
  if (s.run < 2) return 0;
  const unsigned ramp = s.run >= 17 ? 1u << 16 : 1u << (s.run - 1);
  return std::min(window_, ramp);
}

std::vector<std::uint64_t> prefetch_planner::wanted() const {
  std::vector<const stream*> order;
  for (const auto& s : streams_) order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const stream* a, const stream* b) { return a->tick > b->tick; });
  std::vector<std::uint64_t> out;
  for (const stream* s : order) {
    // A window stops where another stream began ahead of this one: that part of the file is
    // being (or was) read by the other stream, so its blocks are loaded or cached already (four
    // threads reading four quarters fetched each boundary's window twice otherwise).
    std::uint64_t end = std::min<std::uint64_t>(block_count_, s->next + window_of(*s));
    for (const auto& other : streams_) {
      if (&other != s && other.origin >= s->next) end = std::min(end, other.origin);
    }
    for (std::uint64_t b = s->next; b < end; ++b) {
      if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    }
  }
  return out;
}

bool prefetch_planner::keep(std::uint64_t block) const {
  for (const auto& s : streams_) {
    const std::uint64_t behind = s.next > back_ + 1 ? s.next - back_ - 1 : 0;
    const std::uint64_t low = std::min(behind, s.first);
    if (block >= low && block < s.next + window_of(s)) return true;
  }
  return false;
}

unsigned prefetch_planner::current_window() const {
  const stream* newest = nullptr;
  for (const auto& s : streams_) {
    if (!newest || s.tick > newest->tick) newest = &s;
  }
  return newest ? window_of(*newest) : 0;
}

void prefetch_planner::reset() {
  streams_.clear();
}

}  // namespace dataport::io_detail
