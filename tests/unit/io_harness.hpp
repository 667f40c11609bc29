// Shared fixture of the reader tests: an in-memory store, a private io_context run by two
// threads (like the runtime's), and a fresh 0700 cache root per harness.
#pragma once

#include "support/test_support.hpp"  // first: silences a Boost.Asio false warning

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_future.hpp>
#include <sys/stat.h>

#include "dataport/block_cache.hpp"
#include "dataport/disk_cache.hpp"
#include "dataport/memory_store.hpp"
#include "dataport/metrics.hpp"
#include "dataport/readable_file.hpp"
#include "dataport/settings.hpp"

namespace dataport::test {

inline std::filesystem::path fresh_cache_root(std::string_view prefix) {
  const auto root = std::filesystem::temp_directory_path() / unique_name(prefix);
  std::filesystem::remove_all(root);
  return root;
}

/// A block (the caches' type) holding a copy of `bytes`.
inline block_data block_of(std::span<const std::byte> bytes) {
  return std::make_shared<const block_bytes>(bytes.begin(), bytes.end());
}

/// True when `block` holds exactly `bytes`.
inline bool same_bytes(const block_bytes& block, std::span<const std::byte> bytes) {
  return std::ranges::equal(block, bytes);
}

/// Settings with a small block so a few KiB exercise many blocks.
inline settings small_block_settings(std::uint64_t block = 4096) {
  settings s;
  s.read_block_size = block;
  s.read_buffer_block_count = 8;
  s.read_threads = 4;
  s.block_file_cache_write_threads = 2;
  s.reserved_free_disk_space = 0;
  s.memory_cache_size = 64 * block;
  return s;
}

struct reader_harness {
  explicit reader_harness(settings config, std::optional<reader_options> options = std::nullopt)
      : guard(io.get_executor()), root(fresh_cache_root("rdr")) {
    config.cache_dir = root.string();
    store = std::make_shared<memory_store>("memory://harness");
    counters = std::make_shared<metrics>();
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    services = std::make_shared<reader_services>(io, config, counters, options);
  }
  ~reader_harness() {
    services.reset();
    guard.reset();
    for (auto& t : threads) t.join();
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }
  std::shared_ptr<readable_file> open(const std::string& path) {
    return readable_file::open_blocking(services, store, path);
  }
  /// Replaces the services (a "restart": same cache root, new RAM tier).
  void restart(settings config, std::optional<reader_options> options = std::nullopt) {
    // A file just closed may still have a coroutine finishing on the I/O threads that holds the
    // old services, and with them the cache root's lock: the new services would then be isolated
    // in a private folder and miss every block. Wait (up to 10 s) for the old ones to go.
    // The weak pointer expires when the old services' destructor starts, not when it has released
    // the lock (a loaded ASan run in CI lost that race once): new services that came up isolated
    // (<root>/private-<pid>) are dropped and made again until they own the root.
    const std::weak_ptr<reader_services> old = services;
    services.reset();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!old.expired() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    config.cache_dir = root.string();
    for (;;) {
      services = std::make_shared<reader_services>(io, config, counters, options);
      const auto* disk = services->disk();
      const bool isolated = disk && disk->directory().filename().string().starts_with("private-");
      if (!isolated || std::chrono::steady_clock::now() >= deadline) break;
      services.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::vector<std::thread> threads;
  std::filesystem::path root;
  std::shared_ptr<memory_store> store;
  std::shared_ptr<metrics> counters;
  std::shared_ptr<reader_services> services;
};

}  // namespace dataport::test
