// pwrite_all: writes a whole span at an offset, retrying short writes and EINTR.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>

namespace dataport::detail {

/// Bytes per pwrite of a buffered (page-cache) write of bulk data. The kernel sizes new page-cache
/// folios by the write: 1-4 MiB writes got large folios, and filling those cost 2-3x the CPU of
/// 64 KiB writes on the 2-core VM (1 GiB download from nginx, transfer_bench medians of 3: 742 MB/s
/// at 1.47 CPU s with 4 MiB writes, 1876 MB/s at 0.55 CPU s with 64 KiB, 1353 with 16 KiB).
/// O_DIRECT writes do not go through the page cache and are not split.
inline constexpr std::size_t buffered_write_piece = 64 * 1024;

/// Writes all of `data` at `offset` in pieces of at most `piece` bytes. Returns false with errno
/// set on the first failure (0-byte writes report EIO). Thread-safe as pwrite is.
inline bool pwrite_all(int fd, std::span<const std::byte> data, std::uint64_t offset,
                       std::size_t piece = buffered_write_piece) noexcept {
  while (!data.empty()) {
    const ssize_t n =
        ::pwrite(fd, data.data(), std::min(data.size(), piece), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

}  // namespace dataport::detail
