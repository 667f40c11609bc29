// dataport::metrics — counters and a latency histogram that every layer updates.
//
// Counters are relaxed atomics (cheap on hot paths); a snapshot is read as JSON by the CLI
// (--metrics) and the C API. Histograms use power-of-two microsecond buckets.
//
// Thread-safety: all members are safe to call concurrently.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace dataport {

enum class counter : unsigned {
  requests,            ///< HTTP attempts sent
  retries,             ///< attempts that were retries
  throttled,           ///< 429/503 responses
  http_errors,         ///< non-2xx final responses
  transport_errors,    ///< connect/reset/timeout failures (per attempt)
  bytes_received,      ///< HTTP body bytes received
  bytes_sent,          ///< HTTP body bytes sent
  connections_opened,  ///< new TCP/TLS connections
  resumed_bodies,      ///< ranged bodies resumed after a cut
  files_done,
  files_failed,
  files_skipped,
  cache_hits_memory,
  cache_misses_memory,
  cache_hits_disk,
  cache_misses_disk,
  prefetch_issued_bytes,
  prefetch_used_bytes,
  prefetch_wasted_bytes,
  disk_cache_writes_skipped,
  evictions,
  reader_bytes_returned,  ///< bytes returned by readable_file::read_at
  whole_file_fallbacks,   ///< whole-file opens that streamed blocks because the file could not be
                          ///< cached
  checksum_mismatches,    ///< ranges whose bytes did not match the server's transactional MD5
  random_part_fetches,    ///< GETs of only the pages a random read asked for (not a block)
  cache_promotions,       ///< RAM-tier hits on prefetched (probation) blocks, now kept as reused
  count_                  ///< number of counters (not a counter)
};

std::string_view to_string(counter c) noexcept;

class metrics {
 public:
  void add(counter c, std::uint64_t n = 1) noexcept {
    counters_[static_cast<unsigned>(c)].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t get(counter c) const noexcept {
    return counters_[static_cast<unsigned>(c)].load(std::memory_order_relaxed);
  }
  /// Records one request's latency (first byte of the response).
  void record_latency(std::chrono::microseconds latency) noexcept;
  /// Latency percentile (0..100) in microseconds, from the histogram (bucket upper bound).
  std::uint64_t latency_percentile_us(double percentile) const noexcept;

  /// {"counters": {...}, "request_latency_us": {"p50":..,"p90":..,"p99":..,"max":..}}
  std::string to_json() const;

 private:
  static constexpr unsigned bucket_count = 40;
  std::array<std::atomic<std::uint64_t>, static_cast<unsigned>(counter::count_)> counters_{};
  std::array<std::atomic<std::uint64_t>, bucket_count> latency_buckets_{};
  std::atomic<std::uint64_t> latency_max_us_{0};
};

}  // namespace dataport
