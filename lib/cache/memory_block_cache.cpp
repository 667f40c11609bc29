// The RAM tier: a byte-bounded LRU of immutable shared blocks (see dataport/block_cache.hpp).
#include "dataport/block_cache.hpp"

#include <fmt/format.h>

#include "dataport/metrics.hpp"

namespace dataport {

std::string block_key::to_string() const {
  return fmt::format("{}:{}|{}:{}|{}", object_id.size(), object_id, etag.size(), etag, block_index);
}

memory_block_cache::memory_block_cache(std::uint64_t capacity, std::shared_ptr<metrics> counters)
    : capacity_(capacity), counters_(std::move(counters)) {}

block_data memory_block_cache::get(const block_key& key) {
  const std::string k = key.to_string();
  std::lock_guard lock(mutex_);
  auto it = index_.find(k);
  if (it == index_.end()) {
    if (counters_) counters_->add(counter::cache_misses_memory);
    return {};
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  if (counters_) counters_->add(counter::cache_hits_memory);
  return it->second->data;
}

void memory_block_cache::put(const block_key& key, block_data data) {
  if (!data) return;
  std::string k = key.to_string();
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(k); it != index_.end()) {
    used_ -= it->second->data->size();
    lru_.erase(it->second);
    index_.erase(it);
  }
  if (data->size() > capacity_) return;
  evict_to(capacity_ - data->size());
  used_ += data->size();
  lru_.push_front(entry{k, std::move(data)});
  index_.emplace(std::move(k), lru_.begin());
}

void memory_block_cache::erase(const block_key& key) {
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(key.to_string()); it != index_.end()) {
    used_ -= it->second->data->size();
    lru_.erase(it->second);
    index_.erase(it);
  }
}

void memory_block_cache::set_capacity(std::uint64_t capacity) {
  std::lock_guard lock(mutex_);
  capacity_ = capacity;
  evict_to(capacity_);
}

void memory_block_cache::clear() {
  std::lock_guard lock(mutex_);
  lru_.clear();
  index_.clear();
  used_ = 0;
}

std::uint64_t memory_block_cache::capacity() const {
  std::lock_guard lock(mutex_);
  return capacity_;
}
std::uint64_t memory_block_cache::size_bytes() const {
  std::lock_guard lock(mutex_);
  return used_;
}
std::size_t memory_block_cache::entry_count() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}

void memory_block_cache::evict_to(std::uint64_t limit) {
  while (used_ > limit && !lru_.empty()) {
    auto& victim = lru_.back();
    used_ -= victim.data->size();
    index_.erase(victim.key);
    lru_.pop_back();
    if (counters_) counters_->add(counter::evictions);
  }
}

}  // namespace dataport
