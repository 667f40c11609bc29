// Shared state of a disk_cache (index, budget, write queue), split from the public class so the
// writer threads and the whole-file handles can keep it alive. Lock order: `mutex` only; file I/O
// runs outside it except unlink() during eviction.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dataport/disk_cache.hpp"
#include "dataport/metrics.hpp"

namespace dataport {

struct disk_cache::impl {
  struct index_entry {
    std::uint64_t size = 0;  // bytes on disk, header included
    bool whole_file = false;
    int pins = 0;  // open cached_file handles
    std::list<std::string>::iterator lru_position;
  };

  impl(disk_cache_options o, std::shared_ptr<metrics> c);

  void count(counter c, std::uint64_t n = 1);
  std::filesystem::path path_of(const std::string& hex, bool whole_file) const;
  // All of these require `mutex`.
  void touch(index_entry& e);
  void add_entry(const std::string& hex, std::uint64_t size, bool whole_file, int pins);
  void remove_entry(const std::string& hex, bool count_eviction);
  bool evict_one();
  bool reserve(std::uint64_t n);  // on success in_flight += n
  void scan();

  void writer_loop();
  bool write_block(const block_key& key, std::span<const std::byte> data);  // false: skipped
  std::filesystem::path make_temp_path(const std::string& hex, bool whole_file);

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
