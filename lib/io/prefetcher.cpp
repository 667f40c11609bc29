// The prefetcher (what the reader fetches before it is asked), after mountpoint-s3's prefetch.rs.
//
// Each open file tracks up to `max_streams` sequential streams: a read whose first block is near
// a stream's next expected block (from `seek_back_blocks` behind to `seek_forward_blocks` ahead)
// continues that stream; any other read starts a new stream, replacing the least recently used.
// Several streams per file let several threads read different parts of one file without
// resetting each other, and the tolerance absorbs the kernel's readahead reordering. A file read
// at random (random(): at least half of its last 8 reads after the first started new streams)
// gets a strict tolerance instead (the block of the stream's last read or the next one), so that
// a random read that happens to land near an earlier one does not ramp a window of blocks nobody
// reads; its streams open a window only at their third read. The mode is per file, so a
// sequential thread sharing the file with a random one reads under the strict tolerance too: a
// reordered read restarts its ramp, but its old window's blocks are still used. Keeping the
// usual tolerance for streams continued 4 times was tried and was worse: random reads landing up
// to 8 blocks ahead were taken for the stream's own (537 -> 723 GETs in random_reads' mixed test).
//
// A stream's window ramps up: no prefetch after a single read (a random reader pays only for the
// block it asked for), then 2, 4, 8 ... blocks up to DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT. The
// reader (readable_file.cpp) starts the wanted blocks with at most DATASET_MOUNT_READ_THREADS
// prefetch requests in flight per file and only while the shared prefetch memory budget has room;
// otherwise prefetch waits for a later read, it never grows past the budget. Blocks no stream
// wants any more (a seek elsewhere, a replaced stream) are dropped: in flight, their bytes are
// discarded on arrival; either way they count as prefetch_wasted_bytes. A stream not continued
// during the last 8 × (streams + 1) reads and the last 250 ms is abandoned (unless its last read
// still waits for its block), so a single reader that seeks away stops paying for its old window
// after some reads at the new position. A window never extends into
// the part of the file where another stream began (that part is read by the other stream), and
// the streams that prefetch share the memory budget equally: with four threads on one file, the
// first windows took the whole budget and the others read block by block (1.5 x the GETs).
// Blocks already loaded past a shrunk share are kept (keep() uses the whole window).
#include "io/detail/prefetch_planner.hpp"

#include <algorithm>
#include <bit>

namespace dataport::io_detail {

prefetch_planner::prefetch_planner(unsigned window_blocks, unsigned max_streams,
                                   unsigned seek_back_blocks, unsigned seek_forward_blocks,
                                   std::uint64_t block_count, std::uint64_t budget_blocks,
                                   unsigned run_blocks)
    : window_(window_blocks),
      max_streams_(std::max(1u, max_streams)),
      back_(seek_back_blocks),
      forward_(seek_forward_blocks ? seek_forward_blocks : std::max(1u, window_blocks / 4)),
      block_count_(block_count),
      budget_blocks_(budget_blocks),
      run_blocks_(std::max(1u, run_blocks)) {}

bool prefetch_planner::on_read(std::uint64_t first, std::uint64_t last,
                               std::optional<std::chrono::milliseconds> now,
                               const std::function<bool(std::uint64_t)>& waiting) {
  ++tick_;
  const auto time = now.value_or(std::chrono::milliseconds{0});
  // A stream nobody continued during the last 8 × (streams + 1) reads is abandoned (the reader
  // seeked away): dropping it lets its window be cancelled. (At 2 × (streams + 1), four threads
  // reading one file abandoned each other's streams whenever one waited for a fetch while the
  // others read cached blocks: the dropped windows cost more than the file's size in waste.)
  // Nor is a stream idle before idle_time has passed, or while its last read still waits for
  // its block: through FUSE, the kernel's page cache answers most of a thread's reads and its
  // readahead sends the rest in bursts, so four threads on one descriptor reach the daemon
  // unevenly, and every abandoned stream restarted with single-block requests (1.5 x the GETs).
  const std::uint64_t horizon = 8 * streams_.size() + 8;
  std::erase_if(streams_, [&](const stream& s) {
    return tick_ - s.tick > horizon && (!now || time - s.time >= idle_time) &&
           !(waiting && waiting(s.first));
  });
  const bool strict = random();
  for (auto& s : streams_) {
    const std::uint64_t low = strict ? s.first : s.next > back_ + 1 ? s.next - back_ - 1 : 0;
    const std::uint64_t high = strict ? s.next : s.next + forward_;
    if (first >= low && first <= high) {
      s.first = first;
      s.next = std::max(s.next, last + 1);
      ++s.run;
      s.tick = tick_;
      s.time = time;
      remember(false);
      return true;
    }
  }
  remember(true);
  stream fresh{first, last + 1, 1, tick_, first, time};
  if (streams_.size() < max_streams_) {
    streams_.push_back(fresh);
  } else {
    *std::min_element(streams_.begin(), streams_.end(),
                      [](const stream& a, const stream& b) { return a.tick < b.tick; }) = fresh;
  }
  return false;
}

void prefetch_planner::remember(bool fresh) {
  if (!started_) {  // a file's first read always starts a stream: it tells nothing
    started_ = true;
    return;
  }
  fresh_ = static_cast<std::uint8_t>((fresh_ << 1) | (fresh ? 1 : 0));
  reads_ = std::min(reads_ + 1, 8u);
}

bool prefetch_planner::random() const {
  return reads_ >= 1 && 2 * static_cast<unsigned>(std::popcount(fresh_)) >= reads_;
}

unsigned prefetch_planner::window_of(const stream& s) const {
  // At random, two reads in a row in one place are common (a record and its neighbour, or the
  // kernel's readahead after a read through FUSE): the window opens one read later.
  if (s.run < (random() ? 3u : 2u)) return 0;
  const unsigned ramp = s.run >= 17 ? 1u << 16 : 1u << (s.run - 1);
  return std::min(window_, ramp);
}

unsigned prefetch_planner::share_of(const stream& s) const {
  const unsigned window = window_of(s);
  if (budget_blocks_ == 0 || window == 0) return window;
  const auto prefetching = static_cast<std::uint64_t>(std::count_if(
      streams_.begin(), streams_.end(), [&](const stream& x) { return window_of(x); }));
  const auto share = std::max<std::uint64_t>(1, budget_blocks_ / prefetching);
  return static_cast<unsigned>(std::min<std::uint64_t>(window, share));
}

std::vector<std::vector<std::uint64_t>> prefetch_planner::wanted_by_stream() const {
  std::vector<const stream*> order;
  for (const auto& s : streams_) order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const stream* a, const stream* b) { return a->tick > b->tick; });
  std::vector<std::vector<std::uint64_t>> out;
  std::vector<std::uint64_t> seen;
  for (const stream* s : order) {
    // A window stops where another stream began ahead of this one: that part of the file is
    // being (or was) read by the other stream, so its blocks are loaded or cached already (four
    // threads reading four quarters fetched each boundary's window twice otherwise).
    const unsigned share = share_of(*s);
    std::uint64_t end = s->next + share;
    // Reads move the window one block at a time; its end moves by whole requests (when the
    // window holds at least two), so every prefetch request is full-size.
    if (share >= 2 * run_blocks_) end -= end % run_blocks_;
    end = std::min<std::uint64_t>(block_count_, end);
    for (const auto& other : streams_) {
      if (&other != s && other.origin >= s->next) end = std::min(end, other.origin);
    }
    std::vector<std::uint64_t> blocks;
    for (std::uint64_t b = s->next; b < end; ++b) {
      if (std::find(seen.begin(), seen.end(), b) == seen.end()) {
        seen.push_back(b);
        blocks.push_back(b);
      }
    }
    if (!blocks.empty()) out.push_back(std::move(blocks));
  }
  return out;
}

std::vector<std::uint64_t> prefetch_planner::wanted() const {
  std::vector<std::uint64_t> out;
  for (const auto& blocks : wanted_by_stream()) out.insert(out.end(), blocks.begin(), blocks.end());
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

std::uint64_t prefetch_planner::next_origin_after(std::uint64_t block) const {
  std::uint64_t end = block_count_;
  for (const auto& s : streams_) {
    if (s.origin > block) end = std::min(end, s.origin);
  }
  return end;
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
  fresh_ = 0;
  reads_ = 0;
  started_ = false;
}

}  // namespace dataport::io_detail
