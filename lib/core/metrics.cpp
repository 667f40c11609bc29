// Metrics: relaxed atomic counters plus a log2 histogram of request latency in microseconds.
#include "dataport/metrics.hpp"

#include <bit>

#include <nlohmann/json.hpp>

namespace dataport {

std::string_view to_string(counter c) noexcept {
  switch (c) {
    case counter::requests:
      return "requests";
    case counter::retries:
      return "retries";
    case counter::throttled:
      return "throttled";
    case counter::http_errors:
      return "http_errors";
    case counter::transport_errors:
      return "transport_errors";
    case counter::bytes_received:
      return "bytes_received";
    case counter::bytes_sent:
      return "bytes_sent";
    case counter::connections_opened:
      return "connections_opened";
    case counter::resumed_bodies:
      return "resumed_bodies";
    case counter::files_done:
      return "files_done";
    case counter::files_failed:
      return "files_failed";
    case counter::files_skipped:
      return "files_skipped";
    case counter::cache_hits_memory:
      return "cache_hits_memory";
    case counter::cache_misses_memory:
      return "cache_misses_memory";
    case counter::cache_hits_disk:
      return "cache_hits_disk";
    case counter::cache_misses_disk:
      return "cache_misses_disk";
    case counter::prefetch_issued_bytes:
      return "prefetch_issued_bytes";
    case counter::prefetch_used_bytes:
      return "prefetch_used_bytes";
    case counter::prefetch_wasted_bytes:
      return "prefetch_wasted_bytes";
    case counter::disk_cache_writes_skipped:
      return "disk_cache_writes_skipped";
    case counter::evictions:
      return "evictions";
    case counter::reader_bytes_returned:
      return "reader_bytes_returned";
    case counter::whole_file_fallbacks:
      return "whole_file_fallbacks";
    case counter::checksum_mismatches:
      return "checksum_mismatches";
    case counter::random_part_fetches:
      return "random_part_fetches";
    case counter::cache_promotions:
      return "cache_promotions";
    case counter::count_:
      break;
  }
  return "unknown";
}

void metrics::record_latency(std::chrono::microseconds latency) noexcept {
  const auto us = static_cast<std::uint64_t>(latency.count() < 0 ? 0 : latency.count());
  // Bucket b holds values in [2^(b-1), 2^b); bucket 0 holds 0.
  unsigned bucket = static_cast<unsigned>(std::bit_width(us));
  if (bucket >= bucket_count) bucket = bucket_count - 1;
  latency_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  auto previous = latency_max_us_.load(std::memory_order_relaxed);
  while (us > previous &&
         !latency_max_us_.compare_exchange_weak(previous, us, std::memory_order_relaxed)) {
  }
}

std::uint64_t metrics::latency_percentile_us(double percentile) const noexcept {
  std::uint64_t total = 0;
  for (const auto& b : latency_buckets_) total += b.load(std::memory_order_relaxed);
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(percentile / 100.0 * static_cast<double>(total));
  std::uint64_t seen = 0;
  for (unsigned b = 0; b < bucket_count; ++b) {
    seen += latency_buckets_[b].load(std::memory_order_relaxed);
    if (seen > rank || (seen == total)) {
      const std::uint64_t upper = b == 0 ? 0 : (std::uint64_t{1} << b) - 1;
      return std::min(upper, latency_max_us_.load(std::memory_order_relaxed));
    }
  }
  return latency_max_us_.load(std::memory_order_relaxed);
}

std::string metrics::to_json() const {
  nlohmann::json counters = nlohmann::json::object();
  for (unsigned i = 0; i < static_cast<unsigned>(counter::count_); ++i) {
    counters[std::string(to_string(static_cast<counter>(i)))] = get(static_cast<counter>(i));
  }
  nlohmann::json out;
  out["counters"] = std::move(counters);
  out["request_latency_us"] = {{"p50", latency_percentile_us(50)},
                               {"p90", latency_percentile_us(90)},
                               {"p99", latency_percentile_us(99)},
                               {"max", latency_max_us_.load(std::memory_order_relaxed)}};
  return out.dump();
}

}  // namespace dataport
