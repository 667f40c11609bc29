// dataport::memory_store — an object_store held in memory, for tests of every layer above the
// storage backends (reader, mount, C API) and for examples.
//
// Behaves like the blob backend where it matters to readers: ETags change on every write,
// read_range honours if_match (errc::changed), reads past the end return 0 bytes, stat of a
// prefix with children is a directory. Seams for tests: per-call counters, an injectable failure
// hook run before every call, and the list of every read_range issued.
//
// Thread-safety: all members may be called concurrently (one mutex). Operations complete
// immediately (no I/O); they never suspend, so they are deterministic.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataport/object_store.hpp"

namespace dataport {

class memory_store final : public object_store {
 public:
  /// One read_range call as received.
  struct range_call {
    std::string path;
    std::uint64_t offset = 0;
    std::size_t length = 0;
    std::string if_match;
  };
  /// Called before each operation with its name ("stat", "read_range", "put", ...) and path;
  /// throw from it to inject a failure.
  using failure_hook = std::function<void(std::string_view operation, const std::string& path)>;

  explicit memory_store(std::string name = "memory://test");

  /// Creates or replaces an object (a new ETag); returns the new ETag.
  std::string set_object(const std::string& path, std::vector<std::byte> data);
  /// Current bytes of `path` (throws not_found).
  std::vector<std::byte> object(const std::string& path) const;
  void set_failure_hook(failure_hook hook);
  /// What capabilities() reports (default: all false/true as in store_capabilities). Set before
  /// the store is shared with other threads.
  void set_capabilities(store_capabilities caps) noexcept { caps_ = caps; }

  std::uint64_t stat_calls() const noexcept { return stat_calls_.load(); }
  std::uint64_t read_calls() const noexcept { return read_calls_.load(); }
  /// list() calls (one per listing started, whatever its pages).
  std::uint64_t list_calls() const noexcept { return list_calls_.load(); }
  std::uint64_t bytes_served() const noexcept { return bytes_served_.load(); }
  std::vector<range_call> range_calls() const;
  void reset_counters();

  boost::asio::awaitable<object_info> stat(std::string path) override;
  std::unique_ptr<list_pager> list(list_options options) override;
  boost::asio::awaitable<read_result> read_range(std::string path, std::uint64_t offset,
                                                 std::span<std::byte> into,
                                                 std::string if_match) override;
  boost::asio::awaitable<object_info> put(std::string path, std::span<const std::byte> data,
                                          put_options options) override;
  boost::asio::awaitable<void> stage_block(std::string path, std::string block_id,
                                           std::span<const std::byte> data,
                                           std::string content_md5) override;
  boost::asio::awaitable<object_info> commit_blocks(std::string path,
                                                    std::vector<std::string> block_ids,
                                                    put_options options) override;
  boost::asio::awaitable<object_info> append_blocks(std::string path,
                                                    std::vector<std::string> committed_ids,
                                                    std::uint64_t committed_size,
                                                    std::vector<std::string> new_ids,
                                                    put_options options) override;
  boost::asio::awaitable<void> remove(std::string path) override;
  boost::asio::awaitable<void> create_container() override;
  store_capabilities capabilities() const noexcept override;
  std::string describe() const override;

 private:
  struct stored {
    std::shared_ptr<const std::vector<std::byte>> data;
    std::string etag;
  };
  void check(std::string_view operation, const std::string& path);
  object_info info_of(const std::string& path, const stored& s) const;

  std::string name_;
  mutable std::mutex mutex_;
  std::map<std::string, stored> objects_;
  std::map<std::string, std::map<std::string, std::vector<std::byte>>> staged_;
  std::uint64_t version_ = 0;
  failure_hook hook_;
  std::vector<range_call> range_calls_;
  std::atomic<std::uint64_t> stat_calls_{0}, read_calls_{0}, list_calls_{0}, bytes_served_{0};
  store_capabilities caps_;
};

}  // namespace dataport
