// The prefetcher's decisions, as pure logic (no I/O, no clock) so tests can drive it directly.
// See lib/io/prefetcher.cpp for the design.
#pragma once

#include <cstdint>
#include <vector>

namespace dataport::io_detail {

class prefetch_planner {
 public:
  prefetch_planner(unsigned window_blocks, unsigned max_streams, unsigned seek_back_blocks,
                   unsigned seek_forward_blocks, std::uint64_t block_count);

  /// Records a read of blocks [first, last]. Returns true when it continued a known stream
  /// (sequential, or within the seek tolerance), false when it started a new one.
  bool on_read(std::uint64_t first, std::uint64_t last);
  /// Blocks that should be loaded or loading, most recent stream first, nearest block first.
  std::vector<std::uint64_t> wanted() const;
  /// Whether a loaded block is still worth keeping (wanted, or just read by a stream).
  bool keep(std::uint64_t block) const;
  /// Current prefetch window (blocks) of the most recent stream; 0 for a random reader.
  unsigned current_window() const;
  /// Forgets every stream (close, or a reset after an error).
  void reset();

 private:
  struct stream {
    std::uint64_t first = 0;   // first block of the last read
    std::uint64_t next = 0;    // block after the last read
    unsigned run = 0;          // reads that continued this stream
    std::uint64_t tick = 0;    // last use, for replacement
    std::uint64_t origin = 0;  // first block of the stream's first read
  };
  unsigned window_of(const stream& s) const;

  unsigned window_;
  unsigned max_streams_;
  unsigned back_;
  unsigned forward_;
  std::uint64_t block_count_;
  std::uint64_t tick_ = 0;
  std::vector<stream> streams_;
};

}  // namespace dataport::io_detail
