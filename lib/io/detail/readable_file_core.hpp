// State of one open readable_file (see lib/io/readable_file.cpp). `mutex` guards the slot map,
// the planner and every slot's fields except `event` (a thread-safe channel).
#pragma once

#include <exception>
#include <map>
#include <memory>
#include <mutex>
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
    bool used = false;
    bool dropped = false;      // removed from the map (no stream wants it)
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
  boost::asio::awaitable<block_data> load_block(std::uint64_t index);
  void start(std::shared_ptr<slot> s, std::uint64_t index);
  void finish(const std::shared_ptr<slot>& s, block_data data, std::exception_ptr failure);
  void retire();                                                                 // requires mutex
  void pump(std::vector<std::pair<std::shared_ptr<slot>, std::uint64_t>>& out);  // requires mutex
  boost::asio::awaitable<std::size_t> read(std::uint64_t offset, std::span<std::byte> into);
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
  io_detail::prefetch_planner planner;
  std::map<std::uint64_t, std::shared_ptr<slot>> slots;
  unsigned inflight_prefetch = 0;
  bool closed = false;
  std::exception_ptr changed;  // set once the object is known to have changed
};

}  // namespace dataport
