// The prefetcher's decisions, as pure logic (no I/O, no clock) so tests can drive it directly.
// See lib/io/prefetcher.cpp for the design.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace dataport::io_detail {

class prefetch_planner {
 public:
  /// `budget_blocks`: the prefetch memory budget in blocks (0 = unbounded); the streams that
  /// prefetch share it, so no stream's window asks for more than its part. `run_blocks`: blocks
  /// per prefetch request; a wide window's end moves in steps of it, so the blocks it uncovers
  /// make whole requests, not one request per block read.
  prefetch_planner(unsigned window_blocks, unsigned max_streams, unsigned seek_back_blocks,
                   unsigned seek_forward_blocks, std::uint64_t block_count,
                   std::uint64_t budget_blocks = 0, unsigned run_blocks = 1);

  /// Records a read of blocks [first, last]. Returns true when it continued a known stream
  /// (sequential, or within the seek tolerance), false when it started a new one.
  /// `now` (any monotonic clock; none in pure tests) lets a stream count as idle only after
  /// `idle_time` without a read; `waiting`, when given, says whether a block is still loading: a
  /// stream whose last read waits for such a block is never idle (its thread waits for the
  /// network, it has not gone).
  bool on_read(std::uint64_t first, std::uint64_t last,
               std::optional<std::chrono::milliseconds> now = std::nullopt,
               const std::function<bool(std::uint64_t block)>& waiting = {});
  /// A stream is abandoned only after this long without a read (and the read-count horizon).
  static constexpr std::chrono::milliseconds idle_time{250};
  /// Blocks that should be loaded or loading, most recent stream first, nearest block first.
  std::vector<std::uint64_t> wanted() const;
  /// The same per stream (each block in one list only), so requests can be shared out fairly.
  std::vector<std::vector<std::uint64_t>> wanted_by_stream() const;
  /// Whether a loaded block is still worth keeping (wanted, or just read by a stream).
  bool keep(std::uint64_t block) const;
  /// The first block after `block` where a stream began (block_count if none): a request that
  /// extends a read stops there, that part is another stream's.
  std::uint64_t next_origin_after(std::uint64_t block) const;
  /// Current prefetch window (blocks) of the most recent stream; 0 for a random reader.
  unsigned current_window() const;
  /// Whether the file is read at random: at least half of its last (up to 8) reads after the
  /// first (which always starts a stream) continued no stream. Then a read continues a stream only
  /// when it starts in the block of that stream's last read or in the next one (a random reader
  /// lands within the usual seek tolerance of one of its 8 streams now and then, and each such read
  /// ramped a window).
  bool random() const;
  /// Forgets every stream (close, or a reset after an error).
  void reset();

 private:
  struct stream {
    std::uint64_t first = 0;            // first block of the last read
    std::uint64_t next = 0;             // block after the last read
    unsigned run = 0;                   // reads that continued this stream
    std::uint64_t tick = 0;             // last use, for replacement
    std::uint64_t origin = 0;           // first block of the stream's first read
    std::chrono::milliseconds time{0};  // `now` of the last read
  };
  unsigned window_of(const stream& s) const;
  void remember(bool fresh);  // records whether a read started a new stream
  /// The part of window_of(s) to request now: at most an equal share of the budget.
  unsigned share_of(const stream& s) const;

  unsigned window_;
  unsigned max_streams_;
  unsigned back_;
  unsigned forward_;
  std::uint64_t block_count_;
  std::uint64_t budget_blocks_;
  unsigned run_blocks_;
  std::uint64_t tick_ = 0;
  std::uint8_t fresh_ = 0;  // bit i: the i-th last read continued no stream
  unsigned reads_ = 0;      // reads after the first, counted up to 8
  bool started_ = false;    // the first read was seen
  std::vector<stream> streams_;
};

}  // namespace dataport::io_detail
