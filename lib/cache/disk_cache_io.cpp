// File I/O of the disk tier: verified reads, temp+rename writes, the writer threads and the
// whole-file entries. Every open uses O_NOFOLLOW, every create O_EXCL with mode 0600.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/format.h>

#include "cache/detail/cache_file_format.hpp"
#include "core/detail/pwrite_all.hpp"
#include "cache/detail/disk_cache_impl.hpp"
#include "dataport/block_memory.hpp"
#include "dataport/error.hpp"
#include "dataport/log.hpp"

namespace dataport {

namespace fs = std::filesystem;
using namespace cache_detail;

namespace {

std::string block_hash_text(const block_key& key) {
  return "block\n" + key.to_string();
}

std::string file_hash_text(const std::string& object_id, const std::string& etag) {
  return "file\n" + block_key{object_id, etag, 0}.to_string();
}

// Unsplit writes: O_DIRECT block files (their pieces are pages, not page-cache folios).
bool write_all(int fd, std::span<const std::byte> data, std::uint64_t offset) {
  return detail::pwrite_all(fd, data, offset, data.size());
}

std::size_t read_full(int fd, std::span<std::byte> into, std::uint64_t offset) {
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

// Block files: a header (natural size, or padded to one page for O_DIRECT writes) then the bytes.
constexpr std::size_t direct_alignment = 4096;
constexpr std::size_t direct_threshold = block_memory::page_threshold;  // 64 KiB

struct alignas(direct_alignment) aligned_page {
  std::byte bytes[direct_alignment];
};

bool write_buffered(const fs::path& temp, std::span<const std::byte> header,
                    std::span<const std::byte> data) {
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool written = ::fchmod(fd, 0600) == 0 && write_all(fd, header, 0) &&
                 detail::pwrite_all(fd, data, header.size());
  return (::close(fd) == 0) && written;
}

enum class direct_result { written, failed, unsupported };

// Writes all of iov[0..count) at `offset` with pwritev, resuming after short writes (an O_DIRECT
// write is cut only at a block boundary, so the rest stays aligned). False with errno set.
bool pwritev_all(int fd, iovec* iov, int count, std::uint64_t offset) {
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

// Writes a block file with O_DIRECT: the bytes go from the block's memory to the disk without a
// copy into the page cache (a buffered write of a streamed file cost the mount daemon about a
// fifth of its CPU time, plus the kernel's writeback). `header` is one page; `data` starts on a
// page boundary; its last partial page is written from a zero-padded page and the file is then
// truncated to its exact length. Header, whole pages and last page go in one pwritev: one disk
// request per block instead of three (each a synchronous device round trip, which on a virtual
// machine is an exit to the host: 2000 small files through the mount spent ~1 CPU s in their
// disk-tier writes). A file system without O_DIRECT (EINVAL) gets `unsupported`.
direct_result write_direct(const fs::path& temp, std::span<const std::byte> header,
                           std::span<const std::byte> data) {
  const int fd =
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_DIRECT, 0600);
  if (fd < 0) return errno == EINVAL ? direct_result::unsupported : direct_result::failed;
  auto pages = std::make_unique<aligned_page[]>(2);  // [0] the header, [1] the padded last page
  std::memcpy(pages[0].bytes, header.data(), direct_alignment);
  const std::size_t body = data.size() / direct_alignment * direct_alignment;
  const std::size_t tail = data.size() - body;
  std::array<iovec, 3> iov{};
  int count = 0;
  iov[count++] = {pages[0].bytes, direct_alignment};
  if (body > 0) iov[count++] = {const_cast<std::byte*>(data.data()), body};
  if (tail > 0) {
    std::memcpy(pages[1].bytes, data.data() + body, tail);
    std::memset(pages[1].bytes + tail, 0, direct_alignment - tail);
    iov[count++] = {pages[1].bytes, direct_alignment};
  }
  bool ok = ::fchmod(fd, 0600) == 0 && pwritev_all(fd, iov.data(), count, 0) &&
            (tail == 0 || ::ftruncate(fd, static_cast<off_t>(direct_alignment + data.size())) == 0);
  const int write_errno = ok ? 0 : errno;
  ok = (::close(fd) == 0) && ok;
  if (ok) return direct_result::written;
  ::unlink(temp.c_str());
  return write_errno == EINVAL ? direct_result::unsupported : direct_result::failed;
}

// Reads `into` (page-aligned, at a page-aligned file offset) with O_DIRECT: straight from the
// disk into the block's memory, no page-cache fill (a buffered first read of 1 GB of block files
// cost 0.37 s of system time, a direct one 0.09 s). The last partial page goes through a
// zero-padded bounce page. False when the file system refuses O_DIRECT or the file is short:
// the descriptor is then back in buffered mode for the caller's buffered read; on success it is
// left in O_DIRECT mode (the caller only closes it: no syscall to restore it per disk hit).
bool read_direct(int fd, std::span<std::byte> into, std::uint64_t offset) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) return false;
  const std::size_t body = into.size() / direct_alignment * direct_alignment;
  bool ok = read_full(fd, into.first(body), offset) == body;
  if (ok && body < into.size()) {
    auto page = std::make_unique<aligned_page>();
    const std::size_t tail = into.size() - body;
    ok = read_full(fd, std::span<std::byte>(page->bytes), offset + body) == tail;
    if (ok) std::memcpy(into.data() + body, page->bytes, tail);
  }
  if (!ok) ::fcntl(fd, F_SETFL, flags);
  return ok;
}

// The block in an open block file, or null when the file is not a valid block of this key.
block_data read_block_file(int fd, const key_hash& hash, const std::string& etag) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return {};
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  std::vector<std::byte> head(static_cast<std::size_t>(std::min<std::uint64_t>(file_size, 4096)));
  if (read_full(fd, head, 0) != head.size()) return {};
  const auto header = decode_header(head);
  if (!header || header->hash != hash || header->etag != etag ||
      header->length != file_size - header->header_size) {
    return {};
  }
  auto data = std::make_shared<block_bytes>(static_cast<std::size_t>(header->length));
  // A header padded to one page marks a block written with O_DIRECT: read it back the same way.
  const bool direct = header->header_size == direct_alignment &&
                      reinterpret_cast<std::uintptr_t>(data->data()) % direct_alignment == 0;
  if (!(direct && read_direct(fd, *data, header->header_size)) &&
      read_full(fd, *data, header->header_size) != data->size()) {
    return {};
  }
  if (crc32c(*data) != header->data_crc) return {};
  return data;
}

void ensure_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return;
  // EEXIST is the normal case; any other failure shows up when the file is created. A link or a
  // file planted at the shard's name would send the write outside the cache root (O_NOFOLLOW only
  // guards the last component): replace it with a real folder.
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    log::warn("cache", "replacing {}: it is not a folder (a planted link?)", dir.string());
    ::unlink(dir.c_str());
    ::mkdir(dir.c_str(), 0700);
  }
}

// CRC of `length` bytes of `fd` from `offset`, read in 1 MiB pieces (the file is in page cache).
std::optional<std::uint32_t> crc_of(int fd, std::uint64_t offset, std::uint64_t length) {
  std::vector<std::byte> buffer(std::min<std::uint64_t>(length, 1u << 20));
  std::uint32_t crc = 0;
  std::uint64_t done = 0;
  while (done < length) {
    const auto piece =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - done));
    if (read_full(fd, std::span(buffer).first(piece), offset + done) != piece) return std::nullopt;
    crc = crc32c(std::span(buffer).first(piece), crc);
    done += piece;
  }
  return crc;
}

class pinned_file final : public cached_file {
 public:
  pinned_file(std::shared_ptr<disk_cache::impl> state, std::string hex, int fd, std::uint64_t size)
      : state_(std::move(state)), hex_(std::move(hex)), fd_(fd), size_(size) {}
  ~pinned_file() override {
    ::close(fd_);
    std::lock_guard lock(state_->mutex);
    if (auto it = state_->entries.find(hex_); it != state_->entries.end() && it->second.pins > 0) {
      --it->second.pins;
    }
  }
  std::uint64_t size() const noexcept override { return size_; }
  std::size_t read_at(std::uint64_t offset, std::span<std::byte> into) const override {
    if (offset >= size_) return 0;
    into =
        into.first(static_cast<std::size_t>(std::min<std::uint64_t>(into.size(), size_ - offset)));
    const std::size_t n = read_full(fd_, into, offset + whole_file_header_size);
    if (n != into.size()) {
      throw_error(errc::io,
                  fmt::format("cached copy ended early ({} of {} bytes); delete the cache "
                              "folder if this repeats",
                              n, into.size()));
    }
    return n;
  }

 private:
  std::shared_ptr<disk_cache::impl> state_;
  std::string hex_;
  int fd_;
  std::uint64_t size_;
};

class file_writer final : public cached_file_writer {
 public:
  file_writer(std::shared_ptr<disk_cache::impl> state, std::string hex, key_hash hash,
              std::string etag, std::uint64_t size, fs::path temp, int fd)
      : state_(std::move(state)),
        hex_(std::move(hex)),
        hash_(hash),
        etag_(std::move(etag)),
        size_(size),
        temp_(std::move(temp)),
        fd_(fd) {}
  ~file_writer() override {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(temp_.c_str());
    }
    if (!committed_) {
      std::lock_guard lock(state_->mutex);
      state_->in_flight -= size_ + whole_file_header_size;
    }
  }
  void write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    if (!detail::pwrite_all(fd_, data, offset + whole_file_header_size)) {
      const int e = errno;
      throw_error(e == ENOSPC ? errc::no_space : errc::io,
                  fmt::format("cannot write the cache file: {}", std::strerror(e)));
    }
  }
  std::shared_ptr<cached_file> commit() override {
    const auto crc = crc_of(fd_, whole_file_header_size, size_);
    if (!crc) throw_error(errc::io, "cannot read back the cache file being committed");
    file_header header{hash_, etag_, size_, *crc, 0};
    const auto bytes = encode_header(header, whole_file_header_size);
    if (!write_all(fd_, bytes, 0)) {
      throw_error(errc::io, fmt::format("cannot write the cache header: {}", std::strerror(errno)));
    }
    const fs::path final_path = state_->path_of(hex_, true);
    if (::rename(temp_.c_str(), final_path.c_str()) != 0) {
      throw_error(errc::io, fmt::format("cannot rename the cache file: {}", std::strerror(errno)));
    }
    const int fd = fd_;
    fd_ = -1;
    committed_ = true;
    {
      std::lock_guard lock(state_->mutex);
      state_->in_flight -= size_ + whole_file_header_size;
      state_->add_entry(hex_, size_ + whole_file_header_size, true, 1);
    }
    return std::make_shared<pinned_file>(state_, hex_, fd, size_);
  }

 private:
  std::shared_ptr<disk_cache::impl> state_;
  std::string hex_;
  key_hash hash_;
  std::string etag_;
  std::uint64_t size_;
  fs::path temp_;
  int fd_;
  bool committed_ = false;
};

}  // namespace

fs::path disk_cache::impl::make_temp_path(const std::string& hex, bool whole_file) {
  const fs::path final_path = path_of(hex, whole_file);
  ensure_dir(final_path.parent_path());
  std::uint64_t n;
  {
    std::lock_guard lock(mutex);
    n = ++temp_counter;
  }
  return final_path.parent_path() / fmt::format("{}.{}.{}.tmp", hex, ::getpid(), n);
}

block_data disk_cache::get_block(const block_key& key) {
  auto& s = *impl_;
  const key_hash hash = hash_key(block_hash_text(key));
  const std::string hex = to_hex(hash);
  {
    std::lock_guard lock(s.mutex);
    auto it = s.entries.find(hex);
    if (it == s.entries.end()) {
      s.count(counter::cache_misses_disk);
      return {};
    }
    s.touch(it->second);
  }
  const fs::path path = s.path_of(hex, false);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  block_data result;
  if (fd >= 0) {
    result = read_block_file(fd, hash, key.etag);
    ::close(fd);
  }
  std::lock_guard lock(s.mutex);
  if (!result) {
    log::debug("cache", "disk block {} is missing or invalid; removed", hex.substr(0, 12));
    s.remove_entry(hex, false);
    s.count(counter::cache_misses_disk);
    return {};
  }
  s.count(counter::cache_hits_disk);
  return result;
}

void disk_cache::put_block_async(const block_key& key, block_data data) {
  if (!data) return;
  auto& s = *impl_;
  {
    std::lock_guard lock(s.mutex);
    if (s.stopping) return;
    if (s.queued_bytes + data->size() > s.options.max_queue_bytes) {
      s.count(counter::disk_cache_writes_skipped);
      return;
    }
    s.queued_bytes += data->size();
    s.queue.push_back({key, std::move(data)});
  }
  s.queue_changed.notify_one();
}

void disk_cache::impl::writer_loop() {
  std::unique_lock lock(mutex);
  for (;;) {
    queue_changed.wait(lock, [&] { return stopping || !queue.empty(); });
    if (queue.empty()) return;  // stopping, and every queued block is written
    auto item = std::move(queue.front());
    queue.pop_front();
    ++running_writes;
    lock.unlock();
    const bool ok = write_block(item.key, *item.data);
    if (!ok) count(counter::disk_cache_writes_skipped);
    lock.lock();
    --running_writes;
    queued_bytes -= item.data->size();
    if (queue.empty() && running_writes == 0) queue_idle.notify_all();
  }
}

bool disk_cache::impl::write_block(const block_key& key, std::span<const std::byte> data) {
  const key_hash hash = hash_key(block_hash_text(key));
  const std::string hex = to_hex(hash);
  // Page-aligned blocks of 64 KiB or more (every block from the network: block_memory) get a
  // header padded to one page and are written and read back with O_DIRECT (write_direct,
  // read_direct); smaller or unaligned ones get the natural header and buffered I/O. Small files
  // were written buffered until stop 13, to keep them in the page cache for the next epoch, but
  // filling fresh page cache was 38 % of the CPU of a first pass over 2000 x 500 KiB files, and
  // a direct read of a block file costs less system time than a page-cache hit's copy.
  const bool direct = data.size() >= direct_threshold &&
                      reinterpret_cast<std::uintptr_t>(data.data()) % direct_alignment == 0;
  const auto header =
      encode_header({hash, key.etag, data.size(), crc32c(data), 0}, direct ? direct_alignment : 0);
  const std::uint64_t total = header.size() + data.size();
  {
    std::lock_guard guard(mutex);
    if (entries.count(hex) != 0) return true;
    if (!reserve(total)) return false;
  }
  const fs::path temp = make_temp_path(hex, false);
  bool written = false;
  if (direct && header.size() == direct_alignment) {
    switch (write_direct(temp, header, data)) {
      case direct_result::written:
        written = true;
        break;
      case direct_result::failed:
        break;
      case direct_result::unsupported:
        written = write_buffered(temp, header, data);
        break;
    }
  } else {
    written = write_buffered(temp, header, data);
  }
  written = written && ::rename(temp.c_str(), path_of(hex, false).c_str()) == 0;
  if (!written) ::unlink(temp.c_str());  // ENOSPC or another I/O error: the block just misses
  std::lock_guard guard(mutex);
  in_flight -= total;
  if (written) add_entry(hex, total, false, 0);
  return written;
}

bool disk_cache::put_block(const block_key& key, std::span<const std::byte> data) {
  const bool ok = impl_->write_block(key, data);
  if (!ok) impl_->count(counter::disk_cache_writes_skipped);
  return ok;
}

void disk_cache::flush() {
  std::unique_lock lock(impl_->mutex);
  impl_->queue_idle.wait(lock, [&] { return impl_->queue.empty() && impl_->running_writes == 0; });
}

std::shared_ptr<cached_file> disk_cache::open_file(const std::string& object_id,
                                                   const std::string& etag, bool verify) {
  auto& s = *impl_;
  const key_hash hash = hash_key(file_hash_text(object_id, etag));
  const std::string hex = to_hex(hash);
  {
    std::lock_guard lock(s.mutex);
    auto it = s.entries.find(hex);
    if (it == s.entries.end()) {
      s.count(counter::cache_misses_disk);
      return {};
    }
    s.touch(it->second);
    ++it->second.pins;  // pinned while we verify, so a prune cannot remove it under us
  }
  const int fd = ::open(s.path_of(hex, true).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  bool good = false;
  std::uint64_t length = 0;
  if (fd >= 0) {
    std::vector<std::byte> raw(whole_file_header_size);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && read_full(fd, raw, 0) == raw.size()) {
      const auto header = decode_header(raw);
      if (header && header->hash == hash && header->etag == etag &&
          header->header_size == whole_file_header_size &&
          static_cast<std::uint64_t>(st.st_size) == header->length + whole_file_header_size) {
        length = header->length;
        good = !verify || crc_of(fd, whole_file_header_size, length) == header->data_crc;
      }
    }
  }
  if (!good) {
    if (fd >= 0) ::close(fd);
    std::lock_guard lock(s.mutex);
    if (auto it = s.entries.find(hex); it != s.entries.end()) --it->second.pins;
    s.remove_entry(hex, false);
    s.count(counter::cache_misses_disk);
    return {};
  }
  s.count(counter::cache_hits_disk);
  return std::make_shared<pinned_file>(impl_, hex, fd, length);
}

std::unique_ptr<cached_file_writer> disk_cache::create_file(const std::string& object_id,
                                                            const std::string& etag,
                                                            std::uint64_t size) {
  auto& s = *impl_;
  const key_hash hash = hash_key(file_hash_text(object_id, etag));
  const std::string hex = to_hex(hash);
  {
    std::lock_guard lock(s.mutex);
    if (!s.reserve(size + whole_file_header_size)) return {};
  }
  const fs::path temp = s.make_temp_path(hex, true);
  const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    if (fd >= 0) {
      ::close(fd);
      ::unlink(temp.c_str());
    }
    std::lock_guard lock(s.mutex);
    s.in_flight -= size + whole_file_header_size;
    return {};
  }
  return std::make_unique<file_writer>(impl_, hex, hash, etag, size, temp, fd);
}

}  // namespace dataport
