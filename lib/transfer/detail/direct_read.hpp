// Chunks written with O_DIRECT (direct_io): a range read from the source into two aligned halves
// of a buffer, each full half handed to the file's direct writes on a disk pool while the other
// fills. Private to lib/transfer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "dataport/object_store.hpp"
#include "transfer/detail/destination.hpp"

namespace dataport::transfer_detail {

/// Bytes of the buffer read_direct needs for a chunk of `length` bytes: two halves of up to
/// 1 MiB each (1 MiB direct writes reached this VM's disk limit; 512 KiB ones ran 15 % slower),
/// each a whole number of `alignment` blocks.
std::size_t direct_buffer_size(std::size_t length, std::size_t alignment);

struct direct_range {
  std::string path;  ///< the object in the source store
  std::string etag;  ///< every read is pinned to it (If-Match)
  std::uint64_t offset = 0;
  std::size_t length = 0;
};

/// Reads `range` from `source` into the halves of `buffer` (aligned to `alignment`, sized by
/// direct_buffer_size) and writes each full half with writer.write_direct on `disk`, so the
/// network and the disk overlap: the caller's thread waits only when the disk is a whole half
/// behind. A last partial half is padded with zeros to the alignment (only a file's last chunk has
/// one: the writer's commit cuts the padding off). `progress(bytes)` is called as bytes arrive.
/// No write is left running on `buffer` when this returns or throws; a failed write is rethrown.
boost::asio::awaitable<read_result> read_direct(object_store& source, const direct_range& range,
                                                std::span<std::byte> buffer, std::size_t alignment,
                                                file_writer& writer, boost::asio::thread_pool& disk,
                                                const std::function<void(std::size_t)>& progress);

}  // namespace dataport::transfer_detail
