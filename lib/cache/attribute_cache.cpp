// Attribute cache: a TTL map of stat results, negative entries included (a FUSE lookup of a
// missing name is as frequent as of an existing one, and both cost a request).
#include "dataport/attribute_cache.hpp"

#include "dataport/error.hpp"

namespace dataport {

namespace {
std::string key_of(const std::string& store_id, const std::string& path) {
  return std::to_string(store_id.size()) + ":" + store_id + path;
}
}  // namespace

attribute_cache::attribute_cache(std::optional<std::chrono::milliseconds> ttl,
                                 std::size_t max_entries, clock_function clock)
    : ttl_(ttl), max_entries_(max_entries), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

std::optional<std::optional<object_info>> attribute_cache::get(const std::string& store_id,
                                                               const std::string& path) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key_of(store_id, path));
  if (it == entries_.end()) return std::nullopt;
  if (ttl_ && clock_() - it->second.stored >= *ttl_) {
    order_.erase(it->second.order);
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.info;
}

void attribute_cache::store(std::string key, std::optional<object_info> info) {
  if (ttl_ && ttl_->count() <= 0) return;
  if (max_entries_ == 0) return;
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    order_.erase(it->second.order);
    entries_.erase(it);
  }
  while (entries_.size() >= max_entries_ && !order_.empty()) {
    entries_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(key);
  entries_.emplace(std::move(key), entry{std::move(info), clock_(), order_.begin()});
}

void attribute_cache::put(const std::string& store_id, const std::string& path,
                          const object_info& info) {
  store(key_of(store_id, path), info);
}

void attribute_cache::put_not_found(const std::string& store_id, const std::string& path) {
  store(key_of(store_id, path), std::nullopt);
}

void attribute_cache::invalidate(const std::string& store_id, const std::string& path) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key_of(store_id, path)); it != entries_.end()) {
    order_.erase(it->second.order);
    entries_.erase(it);
  }
}

void attribute_cache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  order_.clear();
}

std::size_t attribute_cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

boost::asio::awaitable<object_info> attribute_cache::stat(object_store& store, std::string path) {
  const std::string id = store.describe();
  if (auto cached = get(id, path)) {
    if (!*cached) throw_error(errc::not_found, "'" + path + "' does not exist (cached)");
    co_return **cached;
  }
  try {
    object_info info = co_await store.stat(path);
    put(id, path, info);
    co_return info;
  } catch (const error& e) {
    if (e.code() == errc::not_found) put_not_found(id, path);
    throw;
  }
}

}  // namespace dataport
