// dataport::block_cache — the vocabulary of the reader's caches and the RAM tier.
//
// A block is `read_block_size` bytes of one version of one object. Its key holds the object's
// identity (store description + path), its ETag and the block index, so a changed object never
// hits blocks of an older version. A miss is an empty pointer, never an error.
//
// The RAM tier (memory_block_cache) is an LRU bounded in bytes (DATASET_MOUNT_MEMORY_CACHE_SIZE;
// capacity 0 keeps nothing). Blocks are immutable and shared (block_data), so a hit costs no copy
// and a block evicted while a reader still uses it stays alive until that reader is done.
// The disk tier is dataport/disk_cache.hpp.
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

/// CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 to start). Uses SSE4.2 when the CPU
/// has it and a table otherwise; both give the same result (crc32c("123456789") == 0xE3069283).
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;

/// The RAM tier: LRU of blocks, bounded by the sum of their sizes in bytes.
class memory_block_cache {
 public:
  /// `capacity` in bytes (0: every put is dropped). `counters` may be null; when set, get() counts
  /// cache_hits_memory / cache_misses_memory and evictions.
  explicit memory_block_cache(std::uint64_t capacity, std::shared_ptr<metrics> counters = {});

  /// The block, or null on a miss. A hit becomes the most recently used.
  block_data get(const block_key& key);
  /// Inserts (or refreshes) a block, evicting least recently used blocks to stay within capacity.
  /// A block larger than the capacity is not kept.
  void put(const block_key& key, block_data data);
  void erase(const block_key& key);
  /// Changes the capacity, evicting as needed.
  void set_capacity(std::uint64_t capacity);
  void clear();

  std::uint64_t capacity() const;
  std::uint64_t size_bytes() const;
  std::size_t entry_count() const;

 private:
  struct entry {
    std::string key;
    block_data data;
  };
  void evict_to(std::uint64_t limit);  // requires mutex_

  mutable std::mutex mutex_;
  std::uint64_t capacity_;
  std::uint64_t used_ = 0;
  std::list<entry> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
  std::shared_ptr<metrics> counters_;
};

}  // namespace dataport
