// Shared state of a disk_cache (index, budget, block slabs, write queue), split from the public
// class so the writer threads and the whole-file handles can keep it alive. Lock order: `mutex`
// only; file I/O runs outside it except what eviction does (unlink, hole punching) and opening a
// slab for writing.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "dataport/disk_cache.hpp"
#include "dataport/metrics.hpp"

namespace dataport {

struct disk_cache::impl {
  /// One slot of one slab (lib/cache/detail/block_slabs.hpp). `generation` changes when a slab
  /// is lost and recreated, so a slot of the old file is never freed into the new one.
  struct slot_id {
    std::uint64_t capacity = 0;
    std::uint64_t index = 0;
    std::uint64_t generation = 0;
    auto operator<=>(const slot_id&) const = default;
  };
  /// A slab file open for writing; closed when the last writer using it lets go.
  struct slab_file {
    int fd = -1;
    bool direct = false;  // opened with O_DIRECT (false where the file system refuses it)
    // Held by a writer around its pwritev. ext4 takes the inode's lock exclusively for a direct
    // write that extends the file or fills a hole (every slab write here), so the writers of
    // one slab run one at a time anyway; without this they waited spinning in the kernel
    // (rwsem_down_write_slowpath: 8 % of the mount daemon's samples in a 1 GiB read).
    std::mutex write_mutex;
    ~slab_file();
  };
  struct slab {
    std::shared_ptr<slab_file> file;  // null until the first write (or after a loss)
    std::uint64_t generation = 0;
    std::uint64_t slot_count = 0;           // slots [0, slot_count) may hold data
    std::vector<std::uint64_t> free_slots;  // below slot_count; reused before growing
    std::pair<dev_t, ino_t> identity{};     // of the file in use; a reader finding another
                                            // file at the slab's name treats the slab as lost
  };

  struct index_entry {
    std::uint64_t size = 0;  // bytes on disk, header included
    bool whole_file = false;
    int pins = 0;  // open cached_file handles (whole files only)
    std::list<std::string>::iterator lru_position;
    slot_id slot;  // blocks only
  };

  impl(disk_cache_options o, std::shared_ptr<metrics> c);

  void count(counter c, std::uint64_t n = 1);
  std::filesystem::path file_path_of(const std::string& hex) const;  // a whole file's path
  // All of these require `mutex`.
  void touch(index_entry& e);
  index_entry* lookup(const std::string& hex);  // touched, or null (a miss, counted)
  void add_entry(const std::string& hex, std::uint64_t size, bool whole_file, int pins,
                 slot_id slot);
  void remove_entry(const std::string& hex, bool count_eviction);
  bool evict_one();
  bool reserve(std::uint64_t n);  // on success in_flight += n
  void scan();
  // Block slabs (lib/cache/disk_cache_slabs.cpp); all but scan_slabs require `mutex`.
  std::filesystem::path slab_path(std::uint64_t capacity) const;
  void scan_slabs();
  // Null when it cannot be opened; `may_recreate`: a slab gone or replaced is lost and created
  // anew (never while the caller iterates `entries`).
  std::shared_ptr<slab_file> writable_slab(std::uint64_t capacity, bool may_recreate);
  std::optional<slot_id> allocate_slot(std::uint64_t capacity);
  void release_slot(const slot_id& slot);  // frees now, or when its last reader is done
  void end_read(const slot_id& slot);
  void lose_slab(std::uint64_t capacity);  // the file is gone or replaced: forget its blocks

  void writer_loop();
  bool write_block(const block_key& key, std::span<const std::byte> data);  // false: skipped
  std::filesystem::path make_temp_path(const std::string& hex);             // for a whole file

  disk_cache_options options;
  std::shared_ptr<metrics> counters;
  std::filesystem::path directory;
  int root_lock_fd = -1;
  int private_lock_fd = -1;

  std::mutex mutex;
  std::unordered_map<std::string, index_entry> entries;
  std::list<std::string> lru;  // front = most recently used
  std::uint64_t used = 0;
  std::uint64_t in_flight = 0;  // reserved by writes not finished yet
  std::uint64_t temp_counter = 0;
  std::map<std::uint64_t, slab> slabs;  // by capacity
  std::map<slot_id, int> slot_readers;  // get_block calls reading a slot
  std::set<slot_id> free_after_read;    // released while being read
  bool holes_unsupported = false;       // no hole punching: the block tier stops writing

  struct queued_write {
    block_key key;
    block_data data;
  };
  std::deque<queued_write> queue;
  std::uint64_t queued_bytes = 0;
  unsigned running_writes = 0;
  bool stopping = false;
  std::condition_variable queue_changed;
  std::condition_variable queue_idle;
  std::vector<std::thread> writers;
};

}  // namespace dataport
