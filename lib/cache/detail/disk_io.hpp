// Low-level file I/O of the disk tier: full reads, vectored writes that resume after short writes,
// and O_DIRECT reads through page-aligned memory.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dataport/log.hpp"

namespace dataport::cache_detail {

inline constexpr std::size_t direct_alignment = 4096;

struct alignas(direct_alignment) aligned_page {
  std::byte bytes[direct_alignment];
};

/// Reads up to into.size() bytes at `offset`, retrying short reads and EINTR; returns the count
/// (less at the end of the file or on an error).
inline std::size_t read_full(int fd, std::span<std::byte> into, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < into.size()) {
    const ssize_t n =
        ::pread(fd, into.data() + done, into.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

/// Writes all of iov[0..count) at `offset` with pwritev, resuming after short writes (an O_DIRECT
/// write is cut only at a block boundary, so the rest stays aligned). False with errno set.
inline bool pwritev_all(int fd, iovec* iov, int count, std::uint64_t offset) {
  while (count > 0) {
    const ssize_t n = ::pwritev(fd, iov, count, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    offset += static_cast<std::uint64_t>(n);
    auto left = static_cast<std::size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

/// Turns O_DIRECT on or off for `fd`; false when the file system refuses it.
inline bool set_direct(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  const int wanted = on ? (flags | O_DIRECT) : (flags & ~O_DIRECT);
  return wanted == flags || ::fcntl(fd, F_SETFL, wanted) == 0;
}

/// Reads exactly into.size() bytes at the page-aligned `offset` into page-aligned `into` through
/// an O_DIRECT descriptor: straight from the disk into the block's memory, no page-cache fill (a
/// buffered first read of 1 GB of cached blocks cost 0.37 s of system time, a direct one 0.09 s).
/// The last partial page goes through a zero-padded bounce page. False on a short read.
inline bool read_direct(int fd, std::span<std::byte> into, std::uint64_t offset) {
  const std::size_t body = into.size() / direct_alignment * direct_alignment;
  if (read_full(fd, into.first(body), offset) != body) return false;
  if (body == into.size()) return true;
  auto page = std::make_unique<aligned_page>();
  const std::size_t tail = into.size() - body;
  if (read_full(fd, std::span<std::byte>(page->bytes), offset + body) < tail) return false;
  std::memcpy(into.data() + body, page->bytes, tail);
  return true;
}

/// Creates `dir` (0700) when missing. A link or a file planted at its name would send a write
/// outside the cache root (O_NOFOLLOW only guards the last component): it is replaced with a
/// real folder. Other failures show up when a file is created in it.
inline void ensure_real_folder(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    log::warn("cache", "replacing {}: it is not a folder (a planted link?)", dir.string());
    ::unlink(dir.c_str());
    ::mkdir(dir.c_str(), 0700);
  }
}

}  // namespace dataport::cache_detail
