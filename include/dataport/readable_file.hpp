// dataport::readable_file — random-access reads of one version of a remote object.
//
// open() stats the object and pins its ETag; every ranged GET then carries If-Match, so a read
// returns bytes of that version or throws dataport::error(errc::changed) (the mount maps it to
// ESTALE). Two modes, chosen by DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED:
//   block mode       blocks of DATASET_MOUNT_READ_BLOCK_SIZE fetched on demand, a prefetcher
//                    ahead of sequential readers, RAM and disk tiers (dataport/block_cache.hpp,
//                    dataport/disk_cache.hpp); design in lib/io/prefetcher.cpp.
//   whole-file mode  open() downloads the whole object into the disk cache (parallel ranges) and
//                    reads are local preads; a file that cannot fit streams in block mode.
//
// reader_services holds what all open files share: the executor for network coroutines, the RAM
// tier, the disk tier and its thread pool, the prefetch memory budget and the metrics. Make one
// per context (or per io_context in tests) and keep it alive while files are open.
//
// Thread-safety: a readable_file may be read concurrently from any number of threads or
// coroutines. read_at_blocking() must not be called from the services' I/O threads (it would
// deadlock; it throws errc::internal instead). Ownership: a file keeps its services and store
// alive; prefetch still in flight when the file is closed finishes in the background and is
// discarded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "dataport/block_cache.hpp"
#include "dataport/object_store.hpp"
#include "dataport/settings.hpp"

namespace dataport {

class context;
class metrics;
class memory_block_cache;
class disk_cache;
class attribute_cache;
struct location;

/// Bytes [offset, offset + length) of one cached block (readable_file::view_blocking). Holding the
/// view keeps the block's memory alive; the bytes are immutable.
struct block_view {
  block_data block;
  std::size_t offset = 0;  ///< first byte within *block
  std::size_t length = 0;  ///< bytes
  std::span<const std::byte> bytes() const { return std::span(*block).subspan(offset, length); }
};

/// Reader tunables, normally derived from settings (see reader_options::from_settings).
struct reader_options {
  std::uint64_t block_size = 2ull << 20;  ///< DATASET_MOUNT_READ_BLOCK_SIZE, bytes
  unsigned window_blocks = 32;            ///< DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT
  unsigned max_inflight = 8;              ///< DATASET_MOUNT_READ_THREADS: prefetch GETs per file
  unsigned fetch_blocks =
      8;                   ///< DATAPORT_MOUNT_READ_FETCH_SIZE / block size: blocks per prefetch GET
  bool block_mode = true;  ///< DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED
  bool random_parts = true;                        ///< DATAPORT_MOUNT_RANDOM_READ_PARTS
  std::uint64_t part_request_cost = 128ull << 10;  ///< DATAPORT_MOUNT_RANDOM_READ_REQUEST_COST
  /// Bytes of prefetched blocks all open files may hold at once; prefetch stops (and resumes at a
  /// later read) at the limit rather than growing. 0: 2 × window × block size.
  std::uint64_t prefetch_memory_budget = 0;
  unsigned max_streams = 8;          ///< sequential streams tracked per file
  unsigned seek_back_blocks = 2;     ///< a backward seek this small keeps the stream
  unsigned seek_forward_blocks = 0;  ///< a forward skip this small keeps it; 0: window / 4
  std::uint64_t whole_file_chunk_size = 8ull << 20;  ///< range size of whole-file downloads

  static reader_options from_settings(const settings& config);
};

class reader_services {
 public:
  /// Uses ctx.io(), ctx.config() and ctx.counters(). The disk tier is opened when the settings
  /// ask for it (block disk tier or whole-file mode); a refused cache root throws.
  explicit reader_services(context& ctx);
  /// For tests and embedders without a context. `counters` may be null (a private one is made);
  /// `options` replaces reader_options::from_settings(config) when given.
  reader_services(boost::asio::io_context& io, settings config,
                  std::shared_ptr<metrics> counters = {},
                  std::optional<reader_options> options = std::nullopt);
  ~reader_services();
  reader_services(const reader_services&) = delete;
  reader_services& operator=(const reader_services&) = delete;

  const settings& config() const noexcept;
  const reader_options& options() const noexcept;
  boost::asio::io_context& io() noexcept;
  metrics& counters() noexcept;
  std::shared_ptr<metrics> counters_ptr() const noexcept;
  memory_block_cache* memory_cache() noexcept;  ///< null when DATASET_MOUNT_MEMORY_CACHE_SIZE=0
  disk_cache* disk() noexcept;                  ///< null when there is no disk tier
  attribute_cache& attributes() noexcept;       ///< stat cache for the mount's lookups
  /// Bytes of prefetched blocks held now by all files (for tests and metrics).
  std::uint64_t prefetch_bytes_held() const noexcept;

  struct impl;
  impl& state() noexcept { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

class readable_file {
 public:
  /// Opens `path` of `store`. `known` (from a fresh stat or listing) saves the stat request.
  /// Throws not_found, or unsupported for a directory. In whole-file mode waits for the download.
  static boost::asio::awaitable<std::shared_ptr<readable_file>> open(
      std::shared_ptr<reader_services> services, std::shared_ptr<object_store> store,
      std::string path, std::optional<object_info> known = std::nullopt);
  /// The same from a non-I/O thread.
  static std::shared_ptr<readable_file> open_blocking(
      std::shared_ptr<reader_services> services, std::shared_ptr<object_store> store,
      std::string path, std::optional<object_info> known = std::nullopt);
  /// Opens a resolved location through ctx.open_store().
  static std::shared_ptr<readable_file> open_blocking(context& ctx,
                                                      std::shared_ptr<reader_services> services,
                                                      const location& where);

  ~readable_file();
  readable_file(const readable_file&) = delete;
  readable_file& operator=(const readable_file&) = delete;

  /// Reads up to into.size() bytes at `offset` of the pinned version; returns the count, which is
  /// short only at the end of the object (0 at or past it). Throws errc::changed when the object
  /// changed since open, other dataport::error categories for storage failures.
  boost::asio::awaitable<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> into);
  /// The same, blocking; for FUSE and C API threads (never an I/O thread).
  std::size_t read_at_blocking(std::uint64_t offset, std::span<std::byte> into);
  /// Zero-copy read_at_blocking: views of the cached blocks that hold up to `length` bytes at
  /// `offset`, in order (one per block touched); their total is short only at the end of the
  /// object (empty at or past it). The views keep their blocks alive and are never written to.
  /// Block mode only: in whole-file mode (is_whole_file()) it throws errc::internal, use
  /// read_at_blocking. Same errors and thread rule as read_at_blocking.
  std::vector<block_view> view_blocking(std::uint64_t offset, std::size_t length);

  std::uint64_t size() const noexcept;
  const std::string& etag() const noexcept;
  const object_info& info() const noexcept;
  /// True when reads are served from a whole-file cache entry.
  bool is_whole_file() const noexcept;
  /// Stops prefetch and releases memory; later reads still work (without prefetch).
  void close();

  struct core;
  explicit readable_file(std::shared_ptr<core> state);

 private:
  std::shared_ptr<core> core_;
};

}  // namespace dataport
