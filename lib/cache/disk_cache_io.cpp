// File I/O of the disk tier's whole-file entries (verified reads, temp+rename writes) and the
// block writer threads (blocks themselves: disk_cache_slabs.cpp). Every open uses O_NOFOLLOW,
// every create O_EXCL with mode 0600.
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
#include "cache/detail/disk_io.hpp"
#include "dataport/block_memory.hpp"
#include "dataport/error.hpp"
#include "dataport/log.hpp"

namespace dataport {

namespace fs = std::filesystem;
using namespace cache_detail;

namespace {

std::string file_hash_text(const std::string& object_id, const std::string& etag) {
  return "file\n" + block_key{object_id, etag, 0}.to_string();
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
    if (!detail::pwrite_all(fd_, bytes, 0)) {
      throw_error(errc::io, fmt::format("cannot write the cache header: {}", std::strerror(errno)));
    }
    const fs::path final_path = state_->file_path_of(hex_);
    if (::rename(temp_.c_str(), final_path.c_str()) != 0) {
      throw_error(errc::io, fmt::format("cannot rename the cache file: {}", std::strerror(errno)));
    }
    const int fd = fd_;
    fd_ = -1;
    committed_ = true;
    {
      std::lock_guard lock(state_->mutex);
      state_->in_flight -= size_ + whole_file_header_size;
      state_->add_entry(hex_, size_ + whole_file_header_size, true, 1, {});
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

fs::path disk_cache::impl::make_temp_path(const std::string& hex) {
  const fs::path final_path = file_path_of(hex);
  ensure_real_folder(final_path.parent_path());
  std::uint64_t n;
  {
    std::lock_guard lock(mutex);
    n = ++temp_counter;
  }
  return final_path.parent_path() / fmt::format("{}.{}.{}.tmp", hex, ::getpid(), n);
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
    auto* entry = s.lookup(hex);
    if (!entry) return {};
    ++entry->pins;  // pinned while we verify, so a prune cannot remove it under us
  }
  const int fd = ::open(s.file_path_of(hex).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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
  const fs::path temp = s.make_temp_path(hex);
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
