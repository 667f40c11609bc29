// Opening a readable_file, and whole-file mode: the object is downloaded into the disk cache
// with parallel ranged GETs (If-Match on each), written by the disk pool, checksummed and renamed
// into place; reads are then local. No room, or a local write failure (ENOSPC), is not an error
// for the reader: the file streams in block mode instead (counted as whole_file_fallbacks).
#include <algorithm>
#include <atomic>

#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/redirect_error.hpp>
#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "io/detail/readable_file_core.hpp"

namespace dataport {

namespace asio = boost::asio;

asio::awaitable<void> readable_file::core::download_whole_file() {
  disk_cache* disk = svc.disk.get();
  auto create = [disk, id = object_id, etag = info.etag, size = info.size] {
    return std::shared_ptr<cached_file_writer>(disk->create_file(id, etag, size));
  };
  std::shared_ptr<cached_file_writer> writer = co_await svc.on_disk(std::move(create));
  if (!writer) co_return;  // no room: stream instead

  const std::uint64_t chunk = svc.options.whole_file_chunk_size;
  const std::uint64_t chunks = std::max<std::uint64_t>(1, (info.size + chunk - 1) / chunk);
  const unsigned workers =
      static_cast<unsigned>(std::min<std::uint64_t>(svc.options.max_inflight, chunks));
  struct shared_state {
    explicit shared_state(const asio::any_io_executor& ex) : finished(ex) {}
    std::atomic<std::uint64_t> next{0};
    std::atomic<unsigned> running{0};
    std::mutex mutex;
    std::exception_ptr failure;
    asio::experimental::concurrent_channel<void(boost::system::error_code)> finished;
  };
  auto state = std::make_shared<shared_state>(svc.io.get_executor());
  state->running = workers;
  auto self = shared_from_this();
  for (unsigned w = 0; w < workers; ++w) {
    asio::co_spawn(
        svc.io,
        [self, state, writer, chunk, chunks]() -> asio::awaitable<void> {
          try {
            std::vector<std::byte> buffer;
            for (;;) {
              {
                std::lock_guard lock(state->mutex);
                if (state->failure) break;
              }
              const std::uint64_t index = state->next++;
              if (index >= chunks) break;
              const std::uint64_t offset = index * chunk;
              const auto length =
                  static_cast<std::size_t>(std::min(chunk, self->info.size - offset));
              buffer.resize(length);
              std::size_t got = 0;
              while (got < length) {
                const auto r = co_await self->store->read_range(
                    self->path, offset + got, std::span(buffer).subspan(got), self->info.etag);
                if (r.bytes == 0) break;
                got += r.bytes;
              }
              if (got < length) {
                throw_error(errc::changed,
                            fmt::format("'{}' is shorter than when it was opened", self->path));
              }
              auto write = [&writer, offset, &buffer] {
                writer->write_at(offset, buffer);
                return true;
              };
              co_await self->svc.on_disk(std::move(write));
            }
          } catch (...) {
            std::lock_guard lock(state->mutex);
            if (!state->failure) state->failure = std::current_exception();
          }
          if (--state->running == 0) state->finished.close();
        },
        asio::detached);
  }
  boost::system::error_code ignored;  // closing the channel is the signal
  co_await state->finished.async_receive(asio::redirect_error(asio::use_awaitable, ignored));
  if (state->failure) {
    try {
      std::rethrow_exception(state->failure);
    } catch (const error& e) {
      if (e.code() != errc::no_space && e.code() != errc::io) throw;
      log::warn("reader", "cannot cache '{}' locally ({}); streaming it instead", path, e.what());
      co_return;
    }
  }
  try {
    auto commit = [writer] { return writer->commit(); };
    whole = co_await svc.on_disk(std::move(commit));
  } catch (const error& e) {
    log::warn("reader", "cannot cache '{}' locally ({}); streaming it instead", path, e.what());
  }
}

asio::awaitable<std::shared_ptr<readable_file>> readable_file::open(
    std::shared_ptr<reader_services> services, std::shared_ptr<object_store> store,
    std::string path, std::optional<object_info> known) {
  // No co_await inside ?: — GCC 12 destroys the temporaries of such expressions twice.
  object_info info;
  if (known) {
    info = std::move(*known);
  } else {
    info = co_await store->stat(path);
  }
  if (info.is_directory) {
    throw_error(errc::unsupported,
                fmt::format("'{}' is a folder, not a file; open a file in it", path));
  }
  auto state = std::make_shared<core>(services, std::move(store), std::move(path), std::move(info));
  auto& svc = state->svc;
  if (svc.whole_file_mode()) {
    disk_cache* disk = svc.disk.get();
    auto lookup = [disk, id = state->object_id, etag = state->info.etag] {
      return disk->open_file(id, etag);
    };
    state->whole = co_await svc.on_disk(std::move(lookup));
    if (!state->whole) co_await state->download_whole_file();
    if (!state->whole) svc.counters->add(counter::whole_file_fallbacks);
  }
  co_return std::make_shared<readable_file>(std::move(state));
}

}  // namespace dataport
