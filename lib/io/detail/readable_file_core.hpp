// State of one open readable_file (see lib/io/readable_file.cpp). `mutex` guards the slot map,
// the planner and every slot's fields except `event` (a thread-safe channel).
#pragma once

#include <exception>
#include <map>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <boost/asio/experimental/concurrent_channel.hpp>

#include "io/detail/prefetch_planner.hpp"
#include "io/detail/reader_services_impl.hpp"

namespace dataport {

struct readable_file::core : std::enable_shared_from_this<readable_file::core> {
  struct slot {
    explicit slot(const boost::asio::any_io_executor& executor) : event(executor) {}
    ~slot();
    bool prefetch = false;
    bool done = false;
    bool used = false;  // a reader took its bytes (else, once it dies: prefetch_wasted_bytes)
    unsigned run = 0;   // on the first slot of a run: the run's length in blocks
    // A part (a random reader's first touch of a block, never mapped or cached): only the bytes
    // [base, base + part) of the block are fetched. part == 0: the whole block (base 0).
    std::uint64_t base = 0;
    std::uint64_t part = 0;
    std::uint64_t leased = 0;  // prefetch budget bytes returned on destruction
    reader_services::impl* owner = nullptr;
    block_data data;
    std::exception_ptr failure;
    boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> event;
  };

  core(std::shared_ptr<reader_services> s, std::shared_ptr<object_store> st, std::string p,
       object_info i);
  ~core();

  std::uint64_t block_length(std::uint64_t index) const;
  std::shared_ptr<slot> make_slot(bool prefetch);
  /// The block from the RAM or disk tier, or null. A disk hit enters the RAM tier as `how`.
  boost::asio::awaitable<block_data> cached_block(std::uint64_t index, admission how);
  /// Offers a block fetched from storage to the RAM tier (as `how`: prefetched blocks are
  /// streamed, demand blocks reused) and the disk tier.
  void offer(std::uint64_t index, const block_data& data, admission how);
  /// Fills `into` from the object's bytes at `offset` with ranged GETs (If-Match the pinned ETag),
  /// however many the transport needs; throws errc::changed if the object ends first.
  boost::asio::awaitable<void> fetch_into(std::uint64_t offset, std::span<std::byte> into);
  boost::asio::awaitable<block_data> load_block(std::uint64_t index);
  /// Loads a part slot: the whole block from a tier when it is there (base becomes 0), else one
  /// ranged GET of the part's bytes (lib/io/random_parts.cpp).
  boost::asio::awaitable<block_data> load_part(std::shared_ptr<slot> s, std::uint64_t index);
  /// Throws errc::changed: the object ended before a block it had when it was opened.
  [[noreturn]] void throw_shorter() const;
  using start_list = std::vector<std::pair<std::shared_ptr<slot>, std::uint64_t>>;
  /// Maps a prefetch slot for `index` whose budget the caller has acquired (the slot returns it)
  /// and queues its fetch in `out`. Caller holds the mutex.
  void add_leased_prefetch(std::uint64_t index, start_list& out);
  /// Starts one demand block.
  void start(std::shared_ptr<slot> s, std::uint64_t index);
  /// Makes the demand slot `head` of block `index` the first block of a run that also loads the
  /// missing blocks after it (up to fetch_blocks, within the budget) in one request. Requires
  /// mutex.
  /// For a random read of block `index`: queues a part slot with only the pages of
  /// [offset, offset + total) in it, unless the read covers the block or touched it before
  /// (then returns false: load the whole block). Requires mutex.
  bool plan_part(std::uint64_t index, std::uint64_t offset, std::size_t total, start_list& to_start,
                 std::vector<std::shared_ptr<slot>>& needed);
  void extend_demand(const std::shared_ptr<slot>& head, std::uint64_t index, start_list& to_start);
  /// Starts what plan()/pump() queued: demand blocks one by one, prefetch runs as one request each.
  void launch(start_list& list);
  /// One prefetch run of adjacent blocks: tier hits first, then one ranged GET for the rest whose
  /// blocks are finished one by one as their bytes arrive. Ends one in-flight prefetch request.
  boost::asio::awaitable<void> fetch_run(start_list run);
  void finish(const std::shared_ptr<slot>& s, block_data data, std::exception_ptr failure);
  /// Marks a slot whose loading coroutine was destroyed unfinished (the runtime shut down) as
  /// failed and wakes blocking readers; touches nothing of the io_context.
  void abandon(const std::shared_ptr<slot>& s);
  /// Abandons, on destruction, the slots its coroutine did not finish.
  struct abandon_guard {
    std::shared_ptr<core> file;
    std::vector<std::shared_ptr<slot>> slots;
    ~abandon_guard() {
      for (const auto& s : slots) file->abandon(s);
    }
  };
  void retire();               // requires mutex
  void pump(start_list& out);  // requires mutex; queues prefetch runs
  boost::asio::awaitable<std::size_t> read(std::uint64_t offset, std::span<std::byte> into);
  /// The same for a thread that may block (FUSE, C ABI): waits on `loaded`, never hops threads.
  std::size_t read_blocking(std::uint64_t offset, std::span<std::byte> into);
  /// The slots of the blocks of [offset, offset + total) (made and queued in `to_start` when
  /// missing; a random read's first touch of a block gets a part slot); feeds the planner and
  /// queues prefetch. Requires mutex.
  std::vector<std::shared_ptr<slot>> plan(std::uint64_t offset, std::size_t total,
                                          start_list& to_start);
  /// The read's first steps: the byte count `total` it can return at `offset` (0 past the end)
  /// and the slots of its blocks, planned under the lock; starts what the plan asks for. Throws
  /// the "changed" error once the object is known to have changed.
  std::vector<std::shared_ptr<slot>> prepare(std::uint64_t offset, std::size_t length,
                                             std::size_t& total);
  /// Blocks until every slot in `needed` is done (never hops threads).
  void wait_blocking(const std::vector<std::shared_ptr<slot>>& needed);
  /// The loaded `needed` blocks as views of [offset, offset + total) (rethrowing a block's
  /// failure); marks them used and queues the prefetch the read made room for. Requires every
  /// slot done.
  std::vector<block_view> views(std::uint64_t offset, std::size_t total,
                                const std::vector<std::shared_ptr<slot>>& needed);
  /// views(), copied into `into`.
  std::size_t deliver(std::uint64_t offset, std::size_t total,
                      const std::vector<std::shared_ptr<slot>>& needed, std::span<std::byte> into);
  boost::asio::awaitable<void> download_whole_file();
  void close();

  std::shared_ptr<reader_services> services;
  reader_services::impl& svc;
  std::shared_ptr<object_store> store;
  std::string path;
  object_info info;
  std::string object_id;
  std::uint64_t block_size;
  std::uint64_t block_count;
  std::shared_ptr<cached_file> whole;  // whole-file mode: the pinned local copy

  std::mutex mutex;
  std::condition_variable loaded;  // notified (under mutex) whenever a slot becomes done
  io_detail::prefetch_planner planner;
  std::map<std::uint64_t, std::shared_ptr<slot>> slots;
  unsigned inflight_prefetch = 0;                           // prefetch requests (runs) in flight
  std::unordered_map<std::uint64_t, std::uint64_t> parted;  // block -> cost of its parts so far
  bool closed = false;
  bool read_before = false;    // the file's first read has been planned
  std::exception_ptr changed;  // set once the object is known to have changed
};

}  // namespace dataport
