// dataport::block_cache — the vocabulary of the reader's caches and the RAM tier.
//
// A block is `read_block_size` bytes of one version of one object. Its key holds the object's
// identity (store description + path), its ETag and the block index, so a changed object never
// hits blocks of an older version. A miss is an empty pointer, never an error.
//
// The RAM tier (memory_block_cache) is an LRU bounded in bytes (DATASET_MOUNT_MEMORY_CACHE_SIZE;
// capacity 0 keeps nothing), resistant to scans: blocks a sequential stream fetched ahead of its
// reader (admission::streamed) wait in a probation segment of at most 1/8 of the capacity, and
// only a hit moves one to the main segment. A 100 GB file streamed once therefore cycles through
// 16 MB of the default 128 MB instead of flushing every block other readers reuse (a random
// reader's index, the blocks of small files), and a streaming process keeps reusing the same
// few buffers instead of touching 128 MB of fresh memory. Blocks are immutable and shared
// (block_data), so a hit costs no copy and a block evicted while a reader still uses it stays alive
// until that reader is done. The disk tier is dataport/disk_cache.hpp.
//
// Thread-safety: memory_block_cache is safe to call from any thread (one mutex, O(1) work).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataport/block_memory.hpp"

namespace dataport {

class metrics;

/// Immutable bytes of one block (shared by the caches and the readers using it).
using block_data = std::shared_ptr<const block_bytes>;

struct block_key {
  std::string object_id;  ///< store identity + "\n" + path (see readable_file)
  std::string etag;       ///< the version the bytes belong to
  std::uint64_t block_index = 0;

  bool operator==(const block_key&) const = default;
  /// One string holding every field, unambiguous (fields are length-prefixed).
  std::string to_string() const;
};

/// CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 to start). Uses carry-less folding
/// with AVX-512 + VPCLMULQDQ, else SSE4.2's crc32 instruction, else a table, as the CPU allows;
/// all give the same result (crc32c("123456789") == 0xE3069283). Thread-safe, no allocation.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;

/// How a block enters the RAM tier.
enum class admission {
  reused,    ///< main segment: a block read on demand (small files, random readers, first blocks)
  streamed,  ///< probation segment: a block prefetched for a sequential stream
};

/// The RAM tier: LRU of blocks, bounded by the sum of their sizes in bytes, with a probation
/// segment for streamed blocks (see the file comment).
class memory_block_cache {
 public:
  /// The probation segment's share of the capacity: capacity / probation_divisor bytes.
  static constexpr std::uint64_t probation_divisor = 8;

  /// `capacity` in bytes (0: every put is dropped). `counters` may be null; when set, get() counts
  /// cache_hits_memory / cache_misses_memory / cache_promotions, and evictions are counted.
  explicit memory_block_cache(std::uint64_t capacity, std::shared_ptr<metrics> counters = {});

  /// The block, or null on a miss. A hit becomes the most recently used of the main segment
  /// (a streamed block that is read again is promoted).
  block_data get(const block_key& key);
  /// Inserts (or refreshes) a block. Makes room by evicting least recently used blocks,
  /// probation ones first; a streamed block also evicts older streamed blocks beyond the
  /// probation share. A block larger than the capacity is not kept.
  void put(const block_key& key, block_data data, admission how = admission::reused);
  void erase(const block_key& key);
  /// Changes the capacity, evicting as needed (probation blocks beyond the new share too).
  void set_capacity(std::uint64_t capacity);
  void clear();

  std::uint64_t capacity() const;
  std::uint64_t size_bytes() const;
  /// Bytes in the probation segment (streamed blocks not read again yet).
  std::uint64_t probation_bytes() const;
  std::size_t entry_count() const;

 private:
  struct entry {
    std::string key;
    block_data data;
    bool probation = false;
  };
  using entries = std::list<entry>;             // front = most recently used
  void evict_to(std::uint64_t limit);           // requires mutex_; total bytes, probation first
  void trim_probation(std::uint64_t incoming);  // requires mutex_; share left for `incoming`
  void evict_last(entries& from);               // requires mutex_
  void remove(std::unordered_map<std::string, entries::iterator>::iterator it);  // mutex_

  mutable std::mutex mutex_;
  std::uint64_t capacity_;
  std::uint64_t used_ = 0;
  std::uint64_t probation_used_ = 0;
  entries main_;
  entries probation_;
  std::unordered_map<std::string, entries::iterator> index_;
  std::shared_ptr<metrics> counters_;
};

}  // namespace dataport
