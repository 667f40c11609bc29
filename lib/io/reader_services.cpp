// reader_services: the shared parts of all open files (caches, disk pool, prefetch budget).
#include <algorithm>
#include <thread>

#include "dataport/context.hpp"
#include "dataport/log.hpp"
#include "io/detail/reader_services_impl.hpp"

namespace dataport {

reader_options reader_options::from_settings(const settings& config) {
  reader_options o;
  o.block_size = std::max<std::uint64_t>(config.read_block_size, 4096);
  o.window_blocks = config.read_buffer_block_count;
  o.max_inflight = std::max(1u, config.effective_read_threads());
  o.fetch_blocks = static_cast<unsigned>(
      std::clamp<std::uint64_t>(config.read_fetch_size / o.block_size, 1, 64));
  o.block_mode = config.block_based_cache_enabled;
  o.random_parts = config.random_read_parts;
  o.part_request_cost = config.random_read_request_cost;
  o.prefetch_memory_budget = 2ull * std::max(1u, o.window_blocks) * o.block_size;
  o.whole_file_chunk_size = std::max<std::uint64_t>(o.block_size, 8ull << 20);
  return o;
}

reader_services::impl::impl(boost::asio::io_context& context_io, settings s,
                            std::shared_ptr<metrics> c)
    : io(context_io),
      config(std::move(s)),
      options(reader_options::from_settings(config)),
      counters(c ? std::move(c) : std::make_shared<metrics>()),
      attributes(config.attribute_cache_ttl),
      disk_pool(boost::asio::use_service<blocking_pool>(
          static_cast<boost::asio::execution_context&>(context_io))) {
  prefetch_budget = options.prefetch_memory_budget;
  if (config.memory_cache_size > 0) {
    memory = std::make_unique<memory_block_cache>(config.memory_cache_size, counters);
  }
  const bool wants_disk = config.block_based_cache_enabled ? config.block_file_cache_enabled : true;
  if (wants_disk)
    disk = std::make_unique<disk_cache>(disk_cache_options::from_settings(config), counters);
  log::debug("reader",
             "block {} B, window {} blocks, {} prefetch requests, memory tier {} B, disk "
             "tier {}",
             options.block_size, options.window_blocks, options.max_inflight,
             config.memory_cache_size, disk ? disk->directory().string() : std::string("off"));
}

reader_services::impl::~impl() = default;

std::shared_ptr<block_bytes> reader_services::impl::make_block(std::size_t length) {
  return std::make_shared<block_bytes>(length);
}

bool reader_services::impl::try_acquire_prefetch(std::uint64_t n) noexcept {
  auto held = prefetch_held.load(std::memory_order_relaxed);
  do {
    if (held + n > prefetch_budget) return false;
  } while (!prefetch_held.compare_exchange_weak(held, held + n, std::memory_order_relaxed));
  return true;
}

void reader_services::impl::release_prefetch(std::uint64_t n) noexcept {
  prefetch_held.fetch_sub(n, std::memory_order_relaxed);
}

reader_services::reader_services(context& ctx)
    : impl_(std::make_unique<impl>(ctx.io(), ctx.config(), ctx.counters())) {}

reader_services::reader_services(boost::asio::io_context& io, settings config,
                                 std::shared_ptr<metrics> counters,
                                 std::optional<reader_options> options)
    : impl_(std::make_unique<impl>(io, std::move(config), std::move(counters))) {
  if (options) {
    impl_->options = *options;
    if (impl_->options.prefetch_memory_budget == 0) {
      impl_->options.prefetch_memory_budget =
          2ull * std::max(1u, options->window_blocks) * options->block_size;
    }
    impl_->prefetch_budget = impl_->options.prefetch_memory_budget;
  }
}

reader_services::~reader_services() = default;

const settings& reader_services::config() const noexcept {
  return impl_->config;
}
const reader_options& reader_services::options() const noexcept {
  return impl_->options;
}
boost::asio::io_context& reader_services::io() noexcept {
  return impl_->io;
}
metrics& reader_services::counters() noexcept {
  return *impl_->counters;
}
std::shared_ptr<metrics> reader_services::counters_ptr() const noexcept {
  return impl_->counters;
}
memory_block_cache* reader_services::memory_cache() noexcept {
  return impl_->memory.get();
}
disk_cache* reader_services::disk() noexcept {
  return impl_->disk.get();
}
attribute_cache& reader_services::attributes() noexcept {
  return impl_->attributes;
}
std::uint64_t reader_services::prefetch_bytes_held() const noexcept {
  return impl_->prefetch_held.load(std::memory_order_relaxed);
}

}  // namespace dataport
