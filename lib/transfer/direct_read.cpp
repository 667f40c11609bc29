// read_direct: a chunk streamed from the source to O_DIRECT writes, double-buffered (see
// transfer/detail/direct_read.hpp). The I/O thread receives into one half of the buffer while a
// disk-pool thread writes the other; a pending write is always waited for before its half is
// reused, whatever ends the read.
#include "transfer/detail/direct_read.hpp"

#include <algorithm>
#include <cstring>
#include <future>
#include <memory>

#include <boost/asio/post.hpp>

#include "dataport/error.hpp"

namespace dataport::transfer_detail {
namespace {

constexpr std::size_t direct_slice = 1024 * 1024;

std::size_t round_up(std::size_t n, std::size_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

/// A direct write running on the disk pool. Its destructor waits for it, so a half is never
/// reused (or freed) while the disk still reads it.
struct pending_write {
  std::future<void> done;
  pending_write() = default;
  pending_write(const pending_write&) = delete;
  pending_write& operator=(const pending_write&) = delete;
  ~pending_write() {
    if (done.valid()) done.wait();
  }
  void finish() {  // rethrows the write's failure
    if (done.valid()) done.get();
  }
};

}  // namespace

std::size_t direct_buffer_size(std::size_t length, std::size_t alignment) {
  return 2 * round_up(std::min(length, direct_slice), alignment);
}

boost::asio::awaitable<read_result> read_direct(object_store& source, const direct_range& range,
                                                std::span<std::byte> buffer, std::size_t alignment,
                                                file_writer& writer, boost::asio::thread_pool& disk,
                                                const std::function<void(std::size_t)>& progress) {
  const std::size_t half = buffer.size() / 2;
  std::span<std::byte> halves[2] = {buffer.first(half), buffer.subspan(half, half)};
  unsigned current = 0;
  std::uint64_t position = range.offset;  // where the current half's first byte belongs
  std::size_t filled = 0;
  pending_write pending;
  object_store::byte_room room = [&]() { return halves[current].subspan(filled); };
  object_store::byte_sink sink = [&](std::span<const std::byte> piece) {
    if (piece.data() != halves[current].data() + filled || piece.size() > half - filled) {
      throw_error(errc::internal, "read_range_into delivered bytes outside the buffer's room");
    }
    filled += piece.size();
    progress(piece.size());
    if (filled < half) return;
    pending.finish();  // the other half is free again
    // A promise, not a packaged_task: Asio takes a packaged_task for a completion token and asks
    // it for its future itself.
    auto promise = std::make_shared<std::promise<void>>();
    pending.done = promise->get_future();
    boost::asio::post(disk, [promise, &writer, at = position, full = halves[current]] {
      try {
        writer.write_direct(at, full);
        promise->set_value();
      } catch (...) {
        promise->set_exception(std::current_exception());
      }
    });
    position += half;
    filled = 0;
    current ^= 1;
  };
  const read_result r = co_await source.read_range_into(
      range.path, range.offset, range.length, std::move(room), std::move(sink), range.etag);
  pending.finish();
  if (filled > 0 && r.bytes == range.length) {
    const std::size_t padded = round_up(filled, alignment);
    std::memset(halves[current].data() + filled, 0, padded - filled);
    writer.write_direct(position, halves[current].first(padded));
  }
  co_return r;
}

}  // namespace dataport::transfer_detail
