// What every open readable_file shares (see dataport/readable_file.hpp), and the one way reader
// code runs blocking file I/O: on_disk() hops to the disk pool and resumes on the I/O thread, so
// disk reads and pwrite never stall the network threads.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>
#include <type_traits>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dataport/attribute_cache.hpp"
#include "dataport/block_cache.hpp"
#include "dataport/disk_cache.hpp"
#include "dataport/metrics.hpp"
#include "dataport/readable_file.hpp"

namespace dataport {

/// The disk-work threads of an io_context, as one of its services. Why a service: a task on this
/// pool owns the handler (and so the coroutine) that waits for it, and through it the file and the
/// reader_services. Owned by reader_services, the pool could outlive the io_context (a task in
/// flight when the context is destroyed keeps its own pool alive), then post to a destroyed
/// io_context or call OpenSSL after its atexit cleanup. As a service, the io_context joins it on
/// destruction, after its threads stopped and before it destroys the queued handlers.
class blocking_pool final : public boost::asio::execution_context::service {
 public:
  using key_type = blocking_pool;
  static inline boost::asio::execution_context::id id;
  explicit blocking_pool(boost::asio::execution_context& owner)
      : boost::asio::execution_context::service(owner), pool_(4) {}
  boost::asio::thread_pool& pool() noexcept { return pool_; }

 private:
  void shutdown() override { pool_.join(); }
  boost::asio::thread_pool pool_;
};

struct reader_services::impl {
  impl(boost::asio::io_context& context_io, settings s, std::shared_ptr<metrics> c);
  ~impl();

  /// A buffer for one block of `length` bytes, contents unspecified (block_memory reuses freed
  /// block memory process-wide, so streaming does not fault in fresh pages per block).
  static std::shared_ptr<block_bytes> make_block(std::size_t length);

  /// Whole-file mode: open() downloads the file into the disk cache (or finds it there), so it
  /// does I/O even when the file's attributes are known. Otherwise an open with them does none.
  bool whole_file_mode() const noexcept { return !options.block_mode && disk != nullptr; }

  /// Reserves `n` bytes of the prefetch budget; false (and nothing reserved) when full.
  bool try_acquire_prefetch(std::uint64_t n) noexcept;
  void release_prefetch(std::uint64_t n) noexcept;

  /// Runs fn() on the disk pool; the awaiting coroutine resumes on its own executor with the
  /// result (or fn's exception). Not a coroutine itself: GCC 12 mishandles by-value closure
  /// parameters of coroutines, so `fn` lives in the initiation instead.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&>> on_disk(F fn) {
    using result = std::invoke_result_t<F&>;
    static_assert(!std::is_void_v<result>, "return a value from disk work");
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                       void(std::exception_ptr, result)>(
        [this](auto handler, F work) {
          auto back = boost::asio::get_associated_executor(handler, io.get_executor());
          boost::asio::post(disk_pool.pool(),
                            [handler = std::move(handler), work = std::move(work), back]() mutable {
                              std::exception_ptr failure;
                              result value{};
                              try {
                                value = work();
                              } catch (...) {
                                failure = std::current_exception();
                              }
                              boost::asio::post(back, [handler = std::move(handler), failure,
                                                       value = std::move(value)]() mutable {
                                std::move(handler)(failure, std::move(value));
                              });
                            });
        },
        boost::asio::use_awaitable, std::move(fn));
  }

  boost::asio::io_context& io;
  settings config;
  reader_options options;
  std::shared_ptr<metrics> counters;
  std::unique_ptr<memory_block_cache> memory;
  std::unique_ptr<disk_cache> disk;
  attribute_cache attributes;
  blocking_pool& disk_pool;  // owned by `io` (see blocking_pool)
  std::atomic<std::uint64_t> prefetch_held{0};
  std::uint64_t prefetch_budget = 0;
};

}  // namespace dataport
