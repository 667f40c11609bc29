// dataport::attribute_cache — stat results kept for DATASET_MOUNT_ATTRIBUTE_CACHE_TTL.
//
// Entries are positive (object_info) or negative (the path does not exist), keyed by the store's
// identity and the path. With no TTL (the platform default) entries never expire; invalidate()
// drops one after a local change. At most `max_entries` are kept (least recently stored dropped).
// The clock is injectable so tests never sleep.
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>

#include "dataport/object_store.hpp"

namespace dataport {

class attribute_cache {
 public:
  using clock_function = std::function<std::chrono::steady_clock::time_point()>;

  /// `ttl` unset: never expires; zero: nothing is kept.
  explicit attribute_cache(std::optional<std::chrono::milliseconds> ttl,
                           std::size_t max_entries = 1'000'000, clock_function clock = {});

  /// A cached lookup: nullopt when unknown or expired; an inner nullopt for a cached "not found".
  std::optional<std::optional<object_info>> get(const std::string& store_id,
                                                const std::string& path);
  void put(const std::string& store_id, const std::string& path, const object_info& info);
  void put_not_found(const std::string& store_id, const std::string& path);
  void invalidate(const std::string& store_id, const std::string& path);
  void clear();
  std::size_t size() const;

  /// stat through the cache: a hit costs no request; errc::not_found is cached and rethrown.
  boost::asio::awaitable<object_info> stat(object_store& store, std::string path);

 private:
  struct entry {
    std::optional<object_info> info;
    std::chrono::steady_clock::time_point stored;
    std::list<std::string>::iterator order;
  };
  void store(std::string key, std::optional<object_info> info);

  std::optional<std::chrono::milliseconds> ttl_;
  std::size_t max_entries_;
  clock_function clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> order_;  // front = newest
};

}  // namespace dataport
