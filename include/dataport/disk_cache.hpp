// dataport::disk_cache — the on-disk tier shared by block mode and whole-file mode.
//
// Layout under the cache root (settings.cache_dir, else $XDG_CACHE_HOME/dataport, else
// ~/.cache/dataport):
//   lock                       flock'ed by the process using the root
//   v1/slabs/<capacity>.slab   blocks, one per slot of 4096 + capacity bytes: header page + bytes
//   v1/files/ab/<hash>.file    one whole object: header padded to 4 KiB + bytes
//   private-<pid>/...          the same layout for a second process (see below)
// <hash> is SHA-256 of the key (object identity, ETag, block index or "file"), so names never come
// from blob names and nothing is written outside the root. Every block slot and every file starts
// with a header (magic, format version, key hash, ETag, length, CRC-32C of the bytes); one whose
// header or checksum does not match (corrupt, torn, older format, another key) is a miss and its
// slot or file is freed. A block is indexed only once its write returned, and a slot being read
// is not reused until the read ends (lib/cache/disk_cache_slabs.cpp); an evicted slot is punched
// back into a hole and reused. Whole files go to a 0600 temp file (O_EXCL|O_NOFOLLOW) in a 0700
// folder, then rename(), so a crash never leaves a partial file under its final name; temp files
// left by a crash are deleted at start.
//
// Two processes: the first takes an exclusive flock on <root>/lock. A second process using the
// same root is isolated, not refused: it gets <root>/private-<pid>, removed when it closes (and
// at the next start if it crashed). It never sees the first process's files.
//
// Budget: at most `max_size` bytes (unset: unlimited; negative: leave that much disk free) and
// never below `reserved_free_space` free bytes on the file system (statvfs, counting writes in
// flight). When a write does not fit, least-recently-used unpinned entries are evicted; when the
// cache reaches prune_threshold × max_size it prunes down to prune_target × max_size. If there is
// still no room the write is skipped (a cache that cannot write just misses): the cache never
// makes a reader fail with ENOSPC.
//
// Block writes are asynchronous: put_block_async() queues the block for the writer threads; the
// queue holds at most max_queue_bytes, beyond which writes are skipped (disk_cache_writes_skipped).
// Everything else blocks on file I/O: call it from a disk thread, never from an I/O thread.
//
// Thread-safety: every member is safe to call concurrently.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dataport/block_cache.hpp"

namespace dataport {

class metrics;
struct settings;

struct disk_cache_options {
  std::filesystem::path root;            ///< cache root (created 0700 when missing)
  std::optional<std::int64_t> max_size;  ///< bytes; unset unlimited; negative = keep free
  std::uint64_t reserved_free_space = 150ull << 20;  ///< bytes of free disk never used
  double prune_threshold = 1.0;                      ///< fraction of max_size that starts a prune
  double prune_target = 0.7;                         ///< fraction of max_size a prune goes down to
  std::uint64_t max_queue_bytes = 512ull << 20;      ///< RAM held by queued block writes
  unsigned write_threads = 2;                        ///< block writer threads (>= 1)
  /// Free bytes of the file system holding `path` (default: statvfs f_bavail × f_frsize).
  /// Injectable so tests can simulate a full disk.
  std::function<std::uint64_t(const std::filesystem::path&)> free_space;
  /// Tests only: runs in get_block once the slot is pinned, before its bytes are read (on the
  /// calling thread, no lock held), so a test can evict and rewrite blocks mid-read.
  std::function<void(const block_key&)> before_block_read;

  /// From DATASET_MOUNT_CACHE_SIZE, DATASET_RESERVED_FREE_DISK_SPACE, prune threshold/target,
  /// queue size, writer threads and DATAPORT_CACHE_DIR (else $XDG_CACHE_HOME/dataport).
  static disk_cache_options from_settings(const settings& config);
};

/// The default cache root: $XDG_CACHE_HOME/dataport, else $HOME/.cache/dataport, else
/// /tmp/dataport-cache-<uid>.
std::filesystem::path default_cache_root();

/// A whole object held in the cache, open for reading. While any handle lives the file is pinned
/// (never pruned). read_at is a plain pread: call it from a non-I/O thread.
class cached_file {
 public:
  virtual ~cached_file() = default;
  virtual std::uint64_t size() const noexcept = 0;
  /// Reads up to into.size() bytes at offset; returns the count (0 at or past the end).
  virtual std::size_t read_at(std::uint64_t offset, std::span<std::byte> into) const = 0;
};

/// Fills a whole-file entry being downloaded. Abandoning it (destroying without commit) deletes
/// the temp file and frees its reservation.
class cached_file_writer {
 public:
  virtual ~cached_file_writer() = default;
  /// pwrite at `offset`; throws dataport::error(no_space or io) on failure.
  virtual void write_at(std::uint64_t offset, std::span<const std::byte> data) = 0;
  /// Checksums, renames into place and returns the pinned file. Throws on I/O failure.
  virtual std::shared_ptr<cached_file> commit() = 0;
};

class disk_cache {
 public:
  /// Opens (creating) the root, takes the lock, cleans stale temp files and private folders and
  /// indexes existing entries. Throws dataport::error(permission_denied) for a root that is a
  /// symlink, not a directory, world-writable or owned by another user, naming the fix.
  disk_cache(disk_cache_options options, std::shared_ptr<metrics> counters = {});
  /// Finishes queued writes, stops the writers, releases the lock (and removes a private folder).
  ~disk_cache();
  disk_cache(const disk_cache&) = delete;
  disk_cache& operator=(const disk_cache&) = delete;

  /// The folder in use: the root, or <root>/private-<pid> when another process holds the root.
  const std::filesystem::path& directory() const noexcept { return directory_; }
  bool is_private() const noexcept { return private_; }

  // ---- blocks ----
  /// The verified block, or null (miss; a bad file is deleted). Counts cache_hits/misses_disk.
  block_data get_block(const block_key& key);
  /// Queues a write; skipped (and counted) when the queue is full or the block already cached.
  void put_block_async(const block_key& key, block_data data);
  /// Writes now (used by the writers and tests). Returns false when skipped for lack of room or
  /// on an I/O error; never throws for those.
  bool put_block(const block_key& key, std::span<const std::byte> data);
  /// Waits until the write queue is empty and no write is running.
  void flush();

  // ---- whole files ----
  /// The verified whole file (pinned), or null. `verify` checks the CRC of all its bytes.
  std::shared_ptr<cached_file> open_file(const std::string& object_id, const std::string& etag,
                                         bool verify = true);
  /// Reserves room for a file of `size` bytes (pruning LRU entries) and returns its writer, or
  /// null when it cannot fit (the caller streams instead).
  std::unique_ptr<cached_file_writer> create_file(const std::string& object_id,
                                                  const std::string& etag, std::uint64_t size);

  // ---- budget ----
  void set_max_size(std::optional<std::int64_t> max_size);
  std::uint64_t used_bytes() const;  ///< bytes of the entries on disk (headers included)
  std::size_t entry_count() const;
  /// Removes every unpinned entry.
  void clear();

  struct impl;  // shared with the writer and file handles (lib/cache/disk_cache.cpp)

 private:
  std::filesystem::path directory_;
  bool private_ = false;
  std::shared_ptr<impl> impl_;
};

}  // namespace dataport
