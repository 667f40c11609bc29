// The RAM tier: a byte-bounded, scan-resistant LRU of immutable shared blocks (see
// dataport/block_cache.hpp): two lists, main and probation, one index.
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
  auto& e = *it->second;
  if (e.probation) {  // read again: it is reused, not just streamed past
    e.probation = false;
    probation_used_ -= e.data->size();
    main_.splice(main_.begin(), probation_, it->second);
    if (counters_) counters_->add(counter::cache_promotions);
  } else {
    main_.splice(main_.begin(), main_, it->second);
  }
  if (counters_) counters_->add(counter::cache_hits_memory);
  return e.data;
}

void memory_block_cache::put(const block_key& key, block_data data, admission how) {
  if (!data) return;
  std::string k = key.to_string();
  std::lock_guard lock(mutex_);
  bool reused = how == admission::reused;
  if (auto it = index_.find(k); it != index_.end()) {
    reused = reused || !it->second->probation;  // a refresh never demotes
    remove(it);
  }
  const std::uint64_t size = data->size();
  if (size > capacity_) return;
  if (!reused) trim_probation(size);
  evict_to(capacity_ - size);
  used_ += size;
  auto& segment = reused ? main_ : probation_;
  segment.push_front(entry{k, std::move(data), !reused});
  if (!reused) probation_used_ += size;
  index_.emplace(std::move(k), segment.begin());
}

void memory_block_cache::erase(const block_key& key) {
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(key.to_string()); it != index_.end()) remove(it);
}

void memory_block_cache::remove(std::unordered_map<std::string, entries::iterator>::iterator it) {
  const auto e = it->second;
  used_ -= e->data->size();
  if (e->probation) {
    probation_used_ -= e->data->size();
    probation_.erase(e);
  } else {
    main_.erase(e);
  }
  index_.erase(it);
}

void memory_block_cache::set_capacity(std::uint64_t capacity) {
  std::lock_guard lock(mutex_);
  capacity_ = capacity;
  trim_probation(0);  // a smaller tier has a smaller probation share
  evict_to(capacity_);
}

void memory_block_cache::clear() {
  std::lock_guard lock(mutex_);
  main_.clear();
  probation_.clear();
  index_.clear();
  used_ = 0;
  probation_used_ = 0;
}

std::uint64_t memory_block_cache::capacity() const {
  std::lock_guard lock(mutex_);
  return capacity_;
}
std::uint64_t memory_block_cache::size_bytes() const {
  std::lock_guard lock(mutex_);
  return used_;
}
std::uint64_t memory_block_cache::probation_bytes() const {
  std::lock_guard lock(mutex_);
  return probation_used_;
}
std::size_t memory_block_cache::entry_count() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}

void memory_block_cache::evict_to(std::uint64_t limit) {
  while (used_ > limit && !(main_.empty() && probation_.empty())) {
    evict_last(probation_.empty() ? main_ : probation_);
  }
}

void memory_block_cache::trim_probation(std::uint64_t incoming) {
  const std::uint64_t share = capacity_ / probation_divisor;  // one block stays if larger
  while (probation_used_ + incoming > share && !probation_.empty()) evict_last(probation_);
}

void memory_block_cache::evict_last(entries& from) {
  remove(index_.find(from.back().key));
  if (counters_) counters_->add(counter::evictions);
}

}  // namespace dataport
